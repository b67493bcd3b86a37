// An MQTT.js client with a persistent session (clean start 0), for the
// cluster session tests (cmd/herald/cluster_session_test.go): it connects
// to the first of MQTT_ADDRS, moving on along the list when its node is
// lost, and never subscribes again by itself (resubscribe off), so what
// it receives after a move is what its session brought along.
//
// Prints "connect <host:port> <session present 0|1>" on each CONNACK,
// "subscribed" once SUBSCRIBE (if set) is acknowledged, and
// "msg <dup 0|1> <topic> <payload>" for each message. A "quit" line on
// stdin disconnects normally (DISCONNECT) and exits.
//
// With PUBLISH set (a topic), it is instead a QoS 1 publisher: "p-<n>"
// every PUBLISH_EVERY ms, each after the previous one's PUBACK, printing
// "pub <n>" on each PUBACK ("retry <n>" when refused: it publishes
// the same again; "resend <n>" when the connection drops with n in
// flight); "quit" stops it after printing
// "published <count>".
//
// Env: MQTT_ADDRS (host:port list), CLIENT_ID, SUBSCRIBE (a topic filter,
// subscribed at QoS 1 on the first connection; empty: none),
// MQTT_VERSION (4 or 5; 5 asks for a session expiry of 300 s), PUBLISH,
// PUBLISH_EVERY.
import readline from "node:readline";
import mqtt from "mqtt";

const servers = process.env.MQTT_ADDRS.split(",").map((a) => {
  const [host, port] = a.split(":");
  return { host, port: Number(port) };
});
const version = Number(process.env.MQTT_VERSION || 4);
const opts = {
  servers,
  protocolVersion: version,
  clientId: process.env.CLIENT_ID,
  clean: false,
  resubscribe: false,
  reconnectPeriod: 100,
  reconnectOnConnackError: true, // Server unavailable: try again
  connectTimeout: 20000,
  keepalive: 5,
};
if (version === 5) opts.properties = { sessionExpiryInterval: 300 };
const m = mqtt.connect(opts);
let first = true;
m.on("connect", (ack) => {
  console.log(`connect ${m.options.host}:${m.options.port} ${ack.sessionPresent ? 1 : 0}`);
  if (first && process.env.SUBSCRIBE) {
    m.subscribe(process.env.SUBSCRIBE, { qos: 1 }, (err) => {
      if (err) throw err;
      console.log("subscribed");
    });
  }
  first = false;
});
m.on("message", (topic, payload, packet) => {
  console.log(`msg ${packet.dup ? 1 : 0} ${topic} ${payload.toString()}`);
});
m.on("error", () => {}); // a node that is down: it tries the next

let stopping = false;
let count = 0;
if (process.env.PUBLISH) {
  const every = Number(process.env.PUBLISH_EVERY || 20);
  m.once("connect", async () => {
    while (!stopping) {
      try {
        await m.publishAsync(process.env.PUBLISH, `p-${count}`, { qos: 1 });
      } catch (err) {
        // Refused (5.0 reason code: the cluster's stream had no leader
        // for too long): published again, so it may arrive twice.
        console.log(`retry ${count} ${err.message}`);
        continue;
      }
      console.log(`pub ${count}`);
      count++;
      await new Promise((r) => setTimeout(r, every));
    }
    console.log(`published ${count}`);
    m.end(false, () => process.exit(0));
  });
}

// The publish in flight when the connection drops is sent again on the
// next one (it may then be published twice).
m.on("close", () => {
  if (process.env.PUBLISH) console.log(`resend ${count}`);
});

readline.createInterface({ input: process.stdin }).on("line", (l) => {
  if (l.trim() !== "quit") return;
  if (process.env.PUBLISH) stopping = true;
  else m.end(false, () => process.exit(0));
});
