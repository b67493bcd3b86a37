// MQTT.js 5.0 over WebSocket against a Herald server with
// MaxSubscriptions 2 and a message burst of 5 (limits_test.go): prints
// one JSON line with the SUBACK reason codes of a SUBSCRIBE to three
// filters, and the reason code of the DISCONNECT that ends a client
// publishing past its message rate. Env: HERALD_WS (ws://host:port/ws).
import mqtt from "mqtt";

const url = process.env.HERALD_WS;
const client = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 10000, keepalive: 0 });
const disconnect = new Promise((resolve) => {
  client.on("disconnect", (packet) => resolve(packet.reasonCode));
  client.on("close", () => resolve("closed without DISCONNECT"));
});
// MQTT.js rejects a SUBACK holding a failure code; the packet says which.
let granted;
try {
  granted = (await client.subscribeAsync(["a", "b", "c"], { qos: 0 })).map((g) => g.qos);
} catch (e) {
  granted = e.packet?.granted ?? String(e);
}
// CONNECT and SUBSCRIBE took two of the five: the third PUBLISH is the last allowed.
for (let i = 0; i < 10; i++) {
  client.publish("t", `m${i}`, { qos: 0 });
}
const timeout = new Promise((resolve) => setTimeout(() => resolve("no DISCONNECT within 10 s"), 10000).unref());
const reason = await Promise.race([disconnect, timeout]);
console.log(JSON.stringify({ granted, disconnect: reason }));
client.end(true);
