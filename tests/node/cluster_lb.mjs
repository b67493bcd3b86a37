// Clients through a load balancer in front of a Herald cluster: herald.js
// over each transport (WebSocket, HTTP streaming, long polling) and a
// plain EventSource on /events, each subscribed to its own topic. The Go
// test (cmd/herald/cluster_nginx_test.go) publishes on a node behind the
// balancer once every client printed "ready"; each client must then
// receive COUNT messages, in order, once.
//
// Env: HERALD_URL (the balancer), HERALD_JS (the module), COUNT.
import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import WebSocket from "ws";
import { EventSource } from "eventsource";

const { connect } = await import(pathToFileURL(process.env.HERALD_JS).href);
const base = process.env.HERALD_URL;
const count = Number(process.env.COUNT);
const deadline = Date.now() + 30000;
async function until(what, cond) {
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const got = {};
const clients = [];
for (const transport of ["websocket", "sse", "longpoll"]) {
  const client = connect(base, { transports: [transport], WebSocket, EventSource });
  got[transport] = [];
  await client.subscribe(`lb/${transport}`, (data) => got[transport].push(data));
  assert.equal(client.transport, transport);
  clients.push(client);
}
got.events = [];
const es = new EventSource(`${base}/events?topic=lb/events`);
await new Promise((resolve, reject) => {
  es.onopen = resolve;
  es.onerror = (e) => reject(new Error(`EventSource: ${e.message ?? e.type}`));
});
es.onmessage = (e) => got.events.push(JSON.parse(e.data).data);
console.log("ready");

for (const k of Object.keys(got)) await until(`${k}: ${count} messages`, () => got[k].length >= count);
// One more round trip per herald.js client: a duplicate would be here by now.
await Promise.all(clients.map((c) => c.request("subscribe", { topic: "lb/none" }).catch(() => {})));
console.log(JSON.stringify(got));
for (const c of clients) c.close();
es.close();
