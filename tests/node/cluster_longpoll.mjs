// A herald.js long-polling client whose every request goes to the next
// node in turn, as a round-robin load balancer without stickiness would
// send it: the session lives on one node and the others forward its
// requests. It subscribes, prints "ready", collects what the Go test
// (cmd/herald/cluster_longpoll_test.go) publishes until "end", then
// prints a JSON report: the data received and the requests per node.
//
// Env: HERALD_URLS (comma-separated http:// base URLs), HERALD_JS.
import { pathToFileURL } from "node:url";

const { connect } = await import(pathToFileURL(process.env.HERALD_JS).href);
const urls = process.env.HERALD_URLS.split(",").map((u) => new URL(u));
const perNode = urls.map(() => 0);
let turn = 0;
// roundRobin sends each request to the next node.
const roundRobin = (input, init) => {
  const u = new URL(typeof input === "string" ? input : input.url);
  const i = turn++ % urls.length;
  perNode[i]++;
  u.protocol = urls[i].protocol;
  u.host = urls[i].host;
  return fetch(u, init);
};

const got = [];
const missed = [];
let finish;
const done = new Promise((r) => (finish = r));
const client = connect(urls[0].href, { transports: ["longpoll"], fetch: roundRobin });
client.on("missed", (m) => missed.push(m));
await client.subscribe("lp/t", (data) => {
  got.push(data);
  if (data === "end") finish();
});
console.log("ready");
const timer = setTimeout(() => {
  console.log(JSON.stringify({ timeout: true, got, missed, perNode }));
  process.exit(1);
}, 30000);
await done;
clearTimeout(timer);
console.log(JSON.stringify({ got, missed, perNode, transport: client.transport }));
client.close();
