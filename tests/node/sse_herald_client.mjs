// herald.js outside a browser, over each transport forced in turn
// (WebSocket via npm "ws", HTTP streaming via npm "eventsource", long
// polling via fetch): requests with correlation ids, subscriptions, and a
// resume with no gap after the network is cut mid-stream.
//
// Env: HERALD_URL (through a proxy), CONTROL_URL, HERALD_JS (the module).
import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import WebSocket from "ws";
import { EventSource } from "eventsource";

const { connect, encodeToken, decodeToken, matches, HeraldError } = await import(pathToFileURL(process.env.HERALD_JS).href);
const base = process.env.HERALD_URL;
const control = process.env.CONTROL_URL;
const ctl = async (path) => {
  const r = await fetch(control + path, { method: "POST" });
  assert.equal(r.status, 200, `${path}: ${r.status}`);
  return r.json();
};
const deadline = Date.now() + 80000;
async function until(what, cond) {
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// The token format is the server's (internal/position TestKnownToken).
assert.equal(encodeToken({ "a/c": { epoch: "E", seq: 300 }, "a/b": { epoch: "E", seq: 3 } }), "AQIAA2EvYgFFAwIBYwFFrAI");
const uni = new Map([["café/ü", { epoch: "é", seq: 2 ** 40 }], ["cafe", { epoch: "x", seq: 1 }], ["caf", { epoch: "", seq: 0 }]]);
assert.deepEqual(decodeToken(encodeToken(uni)), uni);
assert.throws(() => decodeToken("AQ!"), HeraldError);
assert.ok(matches("a/+/c", "a/b/c") && matches("a/#", "a") && !matches("#", "$SYS/x") && !matches("a/+", "a/b/c"));

const report = {};
for (const transport of ["websocket", "sse", "longpoll"]) {
  const states = [];
  const client = connect(base, {
    transports: [transport],
    WebSocket,
    EventSource,
    backoff: { initial: 100, max: 1000 },
    ackEvery: 4,
    ackDelay: 200,
  });
  client.on("state", (s) => states.push(s.state));
  const topic = `client/${transport}`;
  const got = [];
  await client.subscribe(topic, (data, m) => got.push([m.seq, data]));
  assert.equal(client.transport, transport);

  // Requests: concurrent, answered by id.
  const answers = await Promise.all([1, 2, 3].map((n) => client.request("echo", { n })));
  assert.deepEqual(answers.map((a) => [a.params.n, a.transport]), [1, 2, 3].map((n) => [n, transport === "websocket" ? "websocket" : transport === "sse" ? "stream" : "longpoll"]));
  await assert.rejects(client.request("nope"), (e) => e instanceof HeraldError && e.code === -32601);
  const pos = await client.publish(topic, { from: "client" });
  assert.equal(pos.seq, 1);

  await ctl(`/publish?topic=${encodeURIComponent(topic)}&n=4`);
  await until(`${transport}: 5 messages`, () => got.length === 5);

  // The network fails; the server goes on publishing.
  await ctl("/cut");
  await ctl(`/publish?topic=${encodeURIComponent(topic)}&n=5`);
  await until(`${transport}: resumed`, () => got.length === 10 && client.state === "open");
  assert.deepEqual(got.map(([seq]) => seq), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], `${transport}: ${JSON.stringify(got)}`);
  assert.deepEqual(got[0][1], { from: "client" });

  // Requests work again after the reconnect.
  assert.equal((await client.request("echo", { n: 9 })).params.n, 9);
  assert.ok(client.token().length > 0);
  report[transport] = { states };
  client.close();
}
// Automatic fallback: a WebSocket that never opens (a proxy swallowing
// the handshake) gives way to HTTP streaming after openTimeout; a stream
// endpoint that refuses gives way to long polling.
for (const [paths, want] of [
  [{ websocket: "/hang" }, "sse"],
  [{ websocket: "/hang", sse: "/missing" }, "longpoll"],
]) {
  const logs = [];
  const client = connect(base, { paths, openTimeout: 300, WebSocket, EventSource });
  client.on("log", (l) => logs.push(l));
  const got = [];
  await client.subscribe("fallback", (d) => got.push(d));
  assert.equal(client.transport, want, logs.join("; "));
  await ctl("/publish?topic=fallback&n=1");
  await until(`a message over ${want}`, () => got.length === 1);
  assert.ok(logs.some((l) => l.startsWith("websocket did not open")), logs.join("; "));
  report[`fallback to ${want}`] = logs;
  client.close();
}
// A WebSocket that opens, then dies at once, twice in a row: the client
// moves on to streaming rather than retry it forever.
{
  const logs = [];
  const client = connect(base, { paths: { websocket: "/flaky" }, WebSocket, EventSource, backoff: { initial: 50, max: 200 } });
  client.on("log", (l) => logs.push(l));
  await until("the fallback from a flaky WebSocket", () => client.transport === "sse" && client.state === "open");
  assert.ok(logs.some((l) => l.includes("keeps failing")), logs.join("; "));
  report["flaky websocket"] = logs;
  client.close();
}
console.log(JSON.stringify({ ok: true, report }));
