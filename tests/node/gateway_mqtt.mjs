// MQTT.js over WebSocket through Herald's TCP gateway to a real broker
// (Debian's mosquitto), as Kaazing users reached their brokers: Herald
// only splices bytes. Env: GATEWAY_URL (ws://host:port/path). Two clients
// (MQTT 3.1.1 and 5.0) exchange QoS 0 and 1 messages, one of 256 KiB that
// spans many TCP segments and WebSocket frames. Prints one JSON line.
import mqtt from "mqtt";

const url = process.env.GATEWAY_URL;
if (!url) throw new Error("set GATEWAY_URL");
const TIMEOUT = 15000;

function connect(version, id) {
  return mqtt.connectAsync(url, {
    protocolVersion: version,
    clientId: `${id}-${process.pid}`,
    reconnectPeriod: 0,
    connectTimeout: TIMEOUT,
  });
}

function collect(client, n) {
  return new Promise((resolve, reject) => {
    const got = [];
    const timer = setTimeout(() => reject(new Error(`timed out with ${got.length}/${n} messages`)), TIMEOUT);
    client.on("message", (topic, payload, packet) => {
      got.push({ topic, payload, qos: packet.qos });
      if (got.length === n) {
        clearTimeout(timer);
        resolve(got);
      }
    });
  });
}

const big = Buffer.alloc(256 * 1024);
for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;

const sub = await connect(5, "sub");
const pub = await connect(4, "pub");
await sub.subscribeAsync("gw/#", { qos: 1 });
const arriving = collect(sub, 3);
await pub.publishAsync("gw/small", "hello through the gateway", { qos: 0 });
await pub.publishAsync("gw/qos1", "at least once", { qos: 1 });
await pub.publishAsync("gw/big", big, { qos: 1 });
const got = await arriving;
await pub.endAsync();
await sub.endAsync();

const byTopic = Object.fromEntries(got.map((m) => [m.topic, m]));
const ok =
  byTopic["gw/small"]?.payload.toString() === "hello through the gateway" &&
  byTopic["gw/qos1"]?.payload.toString() === "at least once" &&
  byTopic["gw/qos1"]?.qos === 1 &&
  byTopic["gw/big"]?.payload.equals(big);
console.log(JSON.stringify({ ok, topics: got.map((m) => m.topic).sort(), bigBytes: byTopic["gw/big"]?.payload.length }));
if (!ok) process.exit(1);
