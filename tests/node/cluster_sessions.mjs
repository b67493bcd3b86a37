// A herald.js long-polling or HTTP-streaming client whose every request
// goes to the next node in turn, as a round-robin load balancer without
// stickiness would send it: the session lives on one node and the others
// forward its requests (and relay its stream). It subscribes, prints
// "ready", collects what the Go test (cmd/herald/cluster_sessions_test.go)
// publishes until "end", then prints a JSON report: the data received,
// the requests per node, the node that created the session and the nodes
// that served the stream's GETs.
//
// Env: HERALD_URLS (comma-separated http:// base URLs), HERALD_JS,
// HERALD_TRANSPORT ("longpoll", the default, or "sse").
import { pathToFileURL } from "node:url";
import { EventSource as BaseEventSource } from "eventsource";

const { connect } = await import(pathToFileURL(process.env.HERALD_JS).href);
const urls = process.env.HERALD_URLS.split(",").map((u) => new URL(u));
const perNode = urls.map(() => 0);
const transport = process.env.HERALD_TRANSPORT || "longpoll";
let turn = 0;
let createdOn = -1;
const streamNodes = [];
// roundRobin sends each request to the next node.
const roundRobin = (input, init) => {
  const u = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
  const i = turn++ % urls.length;
  perNode[i]++;
  if (createdOn < 0) createdOn = i; // the first request creates the session
  if ((init?.method ?? "GET") === "GET" && u.pathname.endsWith("/stream")) streamNodes.push(i);
  u.protocol = urls[i].protocol;
  u.host = urls[i].host;
  return fetch(u, init);
};
// The stream's GETs go round robin too.
class EventSource extends BaseEventSource {
  constructor(url, init) {
    super(url, { ...init, fetch: roundRobin });
  }
}

const got = [];
const missed = [];
let finish;
const done = new Promise((r) => (finish = r));
const client = connect(urls[0].href, { transports: [transport], fetch: roundRobin, EventSource });
client.on("missed", (m) => missed.push(m));
await client.subscribe(process.env.HERALD_TOPIC || "lp/t", (data) => {
  got.push(data);
  if (data === "end") finish();
});
console.log("ready");
const timer = setTimeout(() => {
  console.log(JSON.stringify({ timeout: true, got, missed, perNode, createdOn, streamNodes }));
  process.exit(1);
}, 30000);
await done;
clearTimeout(timer);
console.log(JSON.stringify({ got, missed, perNode, createdOn, streamNodes, transport: client.transport }));
client.close();
