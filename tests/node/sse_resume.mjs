// A real EventSource client (npm "eventsource", the WHATWG algorithm
// outside a browser) against Herald's /events: the browser's automatic
// reconnect, with Last-Event-ID, resumes with no gap and no duplicate; a
// gap older than history arrives as an "event: missed" before the replay.
//
// Env: HERALD_URL (through a proxy the test can cut), CONTROL_URL (the
// test's control server: /publish, /cut, /block, /unblock, /stats).
import { EventSource } from "eventsource";
import assert from "node:assert/strict";

const base = process.env.HERALD_URL;
const control = process.env.CONTROL_URL;
const ctl = async (path) => {
  const r = await fetch(control + path, { method: "POST" });
  assert.equal(r.status, 200, `${path}: ${r.status}`);
  return r.json();
};
const deadline = Date.now() + 60000;
async function until(what, cond) {
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const messages = []; // {topic, seq, data, id}
const missed = [];
let ready = 0;
let opens = 0;
const es = new EventSource(`${base}/events?topic=r/1&topic=r/%2B`);
es.onopen = () => opens++;
es.onmessage = (e) => {
  const m = JSON.parse(e.data);
  messages.push({ topic: m.topic, seq: m.seq, data: m.data, id: e.lastEventId });
};
es.addEventListener("ready", () => ready++);
es.addEventListener("missed", (e) => missed.push(JSON.parse(e.data)));

// Every topic's messages must arrive once each, in order, from 1 to n.
function checkContiguous(topic, n) {
  const seqs = messages.filter((m) => m.topic === topic).map((m) => m.seq);
  assert.deepEqual(seqs, Array.from({ length: n }, (_, i) => i + 1), `${topic}: ${seqs}`);
}

await until("ready", () => ready === 1);
await ctl("/publish?topic=r/1&n=3");
await ctl("/publish?topic=r/2&n=2");
await until("5 messages", () => messages.length === 5);
const idBefore = messages.at(-1).id;
assert.ok(idBefore.length > 0, "events carry an id");

// The network fails mid-stream; messages keep coming meanwhile.
await ctl("/cut");
await ctl("/publish?topic=r/1&n=3");
await ctl("/publish?topic=r/2&n=1");
await until("the resumed stream", () => messages.length === 9 && ready === 2);
checkContiguous("r/1", 6);
checkContiguous("r/2", 3);
assert.equal(missed.length, 0, `nothing should be missed: ${JSON.stringify(missed)}`);
const stats = await ctl("/stats");
assert.deepEqual(stats.lastEventIDs, [idBefore], "the reconnect sent the last id as Last-Event-ID");

// Away for longer than history holds (the server keeps 3 per topic).
await ctl("/block");
await ctl("/publish?topic=r/1&n=6"); // seqs 7..12; history keeps 10..12
await ctl("/unblock");
await until("the replay after the gap", () => messages.filter((m) => m.topic === "r/1").length === 9);
assert.equal(missed.length, 1, JSON.stringify(missed));
assert.deepEqual({ topic: missed[0].topic, from: missed[0].from, to: missed[0].to }, { topic: "r/1", from: 7, to: 9 });
assert.deepEqual(
  messages.filter((m) => m.topic === "r/1").map((m) => m.seq),
  [1, 2, 3, 4, 5, 6, 10, 11, 12],
);
es.close();
console.log(JSON.stringify({ ok: true, opens, messages: messages.length, missed }));
