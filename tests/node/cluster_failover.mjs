// Clients of a three-node cluster that lose their node (kill -9 or a
// graceful shutdown) and must carry on from the survivors: herald.js given
// every node's URL, and MQTT.js given a failover list (servers). The Go
// test (cmd/herald/cluster_failover_test.go) publishes "p-<n>" on a node
// that stays up, kills the node the clients are on, and ends with "end".
//
// Prints "ready" once both are subscribed, "herald <data>" and "mqtt
// <data>" for each message, then one JSON line when both have seen "end": what each received, herald.js's missed reports and the
// URLs each was connected to.
//
// Env: HERALD_URLS (comma-separated http:// URLs, the first one is the
// node that dies), MQTT_ADDRS (host:port list, same order), HERALD_JS.
import { pathToFileURL } from "node:url";
import WebSocket from "ws";
import mqtt from "mqtt";

const { connect } = await import(pathToFileURL(process.env.HERALD_JS).href);
const urls = process.env.HERALD_URLS.split(",");
const servers = process.env.MQTT_ADDRS.split(",").map((a) => {
  const [host, port] = a.split(":");
  return { host, port: Number(port) };
});
const TOPIC = "fo/t";
const report = { herald: [], heraldMissed: [], heraldOpens: [], mqtt: [], mqttConnects: [] };

const h = connect(urls, { transports: ["websocket"], WebSocket, backoff: { initial: 50, max: 300 } });
h.on("open", () => report.heraldOpens.push(h.url.host));
h.on("missed", (m) => report.heraldMissed.push(m));
let heraldEnd, mqttEnd;
const heraldDone = new Promise((r) => (heraldEnd = r));
const mqttDone = new Promise((r) => (mqttEnd = r));
await h.subscribe(TOPIC, (data) => {
  report.herald.push(data);
  console.log(`herald ${data}`);
  if (data === "end") heraldEnd();
});

const m = mqtt.connect({ servers, protocolVersion: 4, clientId: "failover", clean: true, reconnectPeriod: 100, connectTimeout: 2000 });
m.on("connect", () => {
  report.mqttConnects.push(`${m.options.host}:${m.options.port}`);
  m.subscribe(TOPIC, { qos: 1 }, (err) => {
    if (err) throw err;
    if (report.mqttConnects.length === 1) console.log("ready");
  });
});
m.on("message", (_t, payload) => {
  const s = payload.toString();
  report.mqtt.push(s);
  console.log(`mqtt ${s}`);
  if (s === "end") mqttEnd();
});
m.on("error", () => {}); // connection refused while a node is down: it retries

const timer = setTimeout(() => {
  console.log(JSON.stringify({ timeout: true, ...report }));
  process.exit(1);
}, 60000);
await Promise.all([heraldDone, mqttDone]);
clearTimeout(timer);
console.log(JSON.stringify(report));
h.close();
m.end(true);
