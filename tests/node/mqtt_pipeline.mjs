// One MQTT.js connection to a cluster node publishing N messages without
// waiting for each acknowledgement, and an MQTT.js subscriber on another
// node (cmd/herald/cluster_pipeline_test.go, ADR 0018).
//
// The publisher sends N QoS 1 messages spread over two topics, all at
// once, and records the order in which their PUBACKs arrive (MQTT.js
// calls a publish's callback when its PUBACK comes) with their reason
// codes; then N QoS 0 messages to a third topic, followed by a QoS 1
// "end" on it. The subscriber (QoS 1) collects everything.
//
// Prints "ready" once subscribed, then one JSON line: acks (message
// numbers in PUBACK order), codes (reason codes seen), errors, and got
// (topic -> payloads in arrival order).
//
// Env: PUB_ADDR, SUB_ADDR (host:port), N, PROTO (4 or 5; default 5).
import mqtt from "mqtt";

const N = Number(process.env.N || 500);
const proto = Number(process.env.PROTO || 5);
const url = (a) => "mqtt://" + a;
const topics = ["pipe/a", "pipe/b"];
const q0 = "pipe/zero";
const got = {};
const total = N + N + 1; // QoS 1 spread over topics, QoS 0, end
let received = 0;
let finish;
const done = new Promise((r) => (finish = r));
const timer = setTimeout(() => {
  console.log(JSON.stringify({ timeout: true, got }));
  process.exit(1);
}, 40000);

const sub = mqtt.connect(url(process.env.SUB_ADDR), { protocolVersion: proto, clientId: "pipe-sub", clean: true, reconnectPeriod: 0 });
sub.on("message", (topic, payload) => {
  (got[topic] ||= []).push(payload.toString());
  if (++received === total) finish();
});
await new Promise((res, rej) => {
  sub.on("connect", res);
  sub.on("error", rej);
});
await sub.subscribeAsync("pipe/#", { qos: 1 });
console.log("ready");

const pub = mqtt.connect(url(process.env.PUB_ADDR), { protocolVersion: proto, clientId: "pipe-pub", clean: true, reconnectPeriod: 0 });
await new Promise((res, rej) => {
  pub.on("connect", res);
  pub.on("error", rej);
});
const acks = [];
const codes = {};
const errors = [];
const acked = [];
for (let i = 0; i < N; i++) {
  acked.push(
    new Promise((res) =>
      pub.publish(topics[i % topics.length], String(i), { qos: 1 }, (err, packet) => {
        acks.push(i);
        if (err) errors.push(String(err));
        const rc = packet?.reasonCode ?? 0;
        codes[rc] = (codes[rc] || 0) + 1;
        res();
      }),
    ),
  );
}
await Promise.all(acked);
for (let i = 0; i < N; i++) pub.publish(q0, String(i), { qos: 0 });
await pub.publishAsync(q0, "end", { qos: 1 });
await done;
clearTimeout(timer);
console.log(JSON.stringify({ acks, codes, errors, got }));
await pub.endAsync();
await sub.endAsync();
