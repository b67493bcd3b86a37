// @stomp/stompjs clients of a three-node cluster, for the kill -9 test
// (cmd/herald/cluster_stompjs_test.go). A consumer with a failover list
// (beforeConnect takes the next node's URL) subscribes to a queue with
// ack: client-individual and acknowledges each message only when the
// next one arrives, so it always holds one unacknowledged, plus what the
// node has sent ahead; a producer on the last node SENDs TOTAL messages,
// one every 20 ms, each awaited by its RECEIPT.
//
// Prints "ready" once both are connected and subscribed, "got <body>"
// for each MESSAGE, then, once every receipted message has arrived and
// the one held on a lost connection has come back, one JSON line: the
// sent bodies, the deliveries (body, redelivered), the bodies still owed
// (none) and the URLs the consumer connected to.
//
// Env: STOMP_URLS (comma-separated ws:// URLs; the first is the node that
// dies, the last the producer's), TOTAL (default 150).
import { Client } from "@stomp/stompjs";
import { WebSocket } from "ws";

Object.assign(globalThis, { WebSocket });

const urls = process.env.STOMP_URLS.split(",");
const TOTAL = Number(process.env.TOTAL ?? 150);
const DEST = "/queue/stompjs-failover";
const report = { sent: [], got: [], connects: [] };
const got = new Set();
const owed = new Set(); // held unacknowledged on a lost connection: must come back
let finish;
const finished = new Promise((r) => (finish = r));
const check = () => {
  if (report.sent.length === TOTAL && report.sent.every((b) => got.has(b)) && owed.size === 0) finish();
};

let turn = 0;
let held = null; // the message not yet acknowledged
const consumer = new Client({
  brokerURL: urls[0],
  reconnectDelay: 100,
  heartbeatIncoming: 0,
  heartbeatOutgoing: 0,
  connectionTimeout: 2000,
  beforeConnect: (c) => {
    c.brokerURL = urls[turn++ % urls.length]; // the failover list, in turn
  },
});
let subscribed;
const isSubscribed = new Promise((r) => (subscribed = r));
consumer.onConnect = () => {
  report.connects.push(consumer.brokerURL);
  if (held) owed.add(held.body); // what the lost connection held comes back, redelivered
  held = null;
  consumer.subscribe(
    DEST,
    (m) => {
      held?.ack();
      held = m;
      report.got.push({ body: m.body, redelivered: m.headers.redelivered === "true" });
      got.add(m.body);
      if (m.headers.redelivered === "true") owed.delete(m.body);
      console.log(`got ${m.body}`);
      check();
    },
    { ack: "client-individual", "prefetch-count": "5", receipt: "sub" },
  );
  consumer.watchForReceipt("sub", () => subscribed());
};
consumer.activate();

const producer = new Client({ brokerURL: urls[urls.length - 1], reconnectDelay: 0, heartbeatIncoming: 0, heartbeatOutgoing: 0 });
const producerUp = new Promise((r) => (producer.onConnect = r));
producer.activate();
await Promise.all([isSubscribed, producerUp]);
console.log("ready");

const timer = setTimeout(() => {
  console.log(JSON.stringify({ timeout: true, owed: [...owed], ...report }));
  process.exit(1);
}, 60000);
for (let n = 0; n < TOTAL; n++) {
  const body = `s-${n}`;
  const receipt = `r-${n}`;
  producer.watchForReceipt(receipt, () => {
    report.sent.push(body);
    check();
  });
  producer.publish({ destination: DEST, body, headers: { receipt } });
  await new Promise((r) => setTimeout(r, 20));
}
await finished;
clearTimeout(timer);
held?.ack();
console.log(JSON.stringify(report));
await Promise.all([consumer.deactivate(), producer.deactivate()]);
