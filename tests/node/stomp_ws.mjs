// @stomp/stompjs over WebSocket (ws as the WebSocket implementation)
// against a Herald server. The Go test (stomp_interop_test.go) starts the
// server, passes its URL in STOMP_URL, and asserts on the JSON this
// script prints: one member per scenario.
import { Client, Versions } from "@stomp/stompjs";
import { WebSocket } from "ws";

Object.assign(globalThis, { WebSocket });

const url = process.env.STOMP_URL;
if (!url) throw new Error("STOMP_URL is not set");
const WAIT = 15000; // ms, every wait below

function timeout(what, ms = WAIT) {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms).unref());
}

function within(what, promise, ms) {
  return Promise.race([promise, timeout(what, ms)]);
}

// connect activates a client and resolves once CONNECTED arrived.
function connect(opts = {}) {
  const debug = [];
  return within(
    "CONNECTED",
    new Promise((resolve, reject) => {
      const client = new Client({
        brokerURL: url,
        reconnectDelay: 0,
        heartbeatIncoming: 0,
        heartbeatOutgoing: 0,
        debug: (s) => debug.push(s),
        onStompError: (f) => reject(new Error(`ERROR: ${f.headers.message}`)),
        onWebSocketError: () => reject(new Error("WebSocket error")),
        ...opts,
      });
      client.debugLog = debug;
      client.onConnect = (frame) => resolve({ client, frame });
      client.activate();
    }),
  );
}

// A queue of received messages a scenario takes from in order.
function inbox() {
  const items = [];
  const waiters = [];
  return {
    push(m) {
      const w = waiters.shift();
      if (w) w(m);
      else items.push(m);
    },
    next(what = "a message") {
      if (items.length) return Promise.resolve(items.shift());
      return within(what, new Promise((resolve) => waiters.push(resolve)));
    },
    get length() {
      return items.length;
    },
  };
}

function receipt(client, id) {
  return within(`receipt ${id}`, new Promise((resolve) => client.watchForReceipt(id, () => resolve(true))));
}

async function subscribe(client, destination, headers = {}) {
  const box = inbox();
  const id = `r-${destination}-${Math.random()}`;
  const done = receipt(client, id);
  const sub = client.subscribe(destination, (m) => box.push(m), { ...headers, receipt: id });
  await done;
  return { box, sub };
}

const results = {};

async function pubsub() {
  const { client, frame } = await connect();
  const { box } = await subscribe(client, "/topic/js.pubsub");
  client.publish({ destination: "/topic/js.pubsub", body: "hello", headers: { "x-custom": "a:b\\z", "content-type": "text/plain" } });
  const m = await box.next();
  results.pubsub = {
    version: frame.headers.version,
    server: frame.headers.server,
    body: m.body,
    destination: m.headers.destination,
    custom: m.headers["x-custom"],
    contentType: m.headers["content-type"],
  };
  // A message from the Go test's server-side publisher, on request.
  client.publish({ destination: "/rpc/go-publish", body: JSON.stringify({ topic: "js/pubsub", text: "from Go" }) });
  const g = await box.next("the Go publication");
  results.pubsub.fromGo = g.body;
  await client.deactivate();
}

async function versions() {
  results.versions = {};
  for (const v of ["1.0", "1.1", "1.2"]) {
    const { client, frame } = await connect({ stompVersions: new Versions([v]) });
    const { box } = await subscribe(client, `/topic/js.v${v.replace(".", "")}`, { ack: "client" });
    client.publish({ destination: `/topic/js.v${v.replace(".", "")}`, body: `in ${v}` });
    const m = await box.next();
    const id = `ack-${v}`;
    const acked = receipt(client, id);
    m.ack({ receipt: id });
    await acked;
    results.versions[v] = { connected: frame.headers.version, body: m.body, acked: true };
    await client.deactivate();
  }
}

async function ackIndividual() {
  const { client } = await connect();
  const { box } = await subscribe(client, "/queue/js.individual", { ack: "client-individual" });
  for (const b of ["one", "two", "three"]) client.publish({ destination: "/queue/js.individual", body: b });
  const got = [];
  const ms = [await box.next(), await box.next(), await box.next()];
  for (const m of ms) got.push({ body: m.body, redelivered: m.headers.redelivered === "true" });
  ms[0].ack();
  ms[2].ack();
  ms[1].nack();
  const again = await box.next("the NACKed message");
  got.push({ body: again.body, redelivered: again.headers.redelivered === "true" });
  const id = "last-ack";
  const done = receipt(client, id);
  again.ack({ receipt: id });
  await done;
  results.ackIndividual = got;
  await client.deactivate();
}

async function ackClient() {
  let { client } = await connect();
  let { box } = await subscribe(client, "/queue/js.client", { ack: "client" });
  for (const b of ["a", "b", "c"]) client.publish({ destination: "/queue/js.client", body: b });
  const ms = [await box.next(), await box.next(), await box.next()];
  const id = "cumulative";
  const done = receipt(client, id);
  ms[2].ack({ receipt: id }); // covers a and b too
  await done;
  await client.deactivate();
  // A new consumer finds the queue empty: the marker comes first.
  ({ client } = await connect());
  ({ box } = await subscribe(client, "/queue/js.client", { ack: "auto" }));
  client.publish({ destination: "/queue/js.client", body: "marker" });
  const first = await box.next();
  results.ackClient = { received: ms.map((m) => m.body), afterwards: first.body };
  await client.deactivate();
}

async function transactions() {
  const { client } = await connect();
  const { box } = await subscribe(client, "/topic/js.tx");
  const t1 = client.begin();
  client.publish({ destination: "/topic/js.tx", body: "t1-a", headers: { transaction: t1.id } });
  client.publish({ destination: "/topic/js.tx", body: "t1-b", headers: { transaction: t1.id } });
  const t2 = client.begin();
  client.publish({ destination: "/topic/js.tx", body: "t2", headers: { transaction: t2.id } });
  client.publish({ destination: "/topic/js.tx", body: "outside" });
  t2.abort();
  t1.commit();
  const order = [];
  for (let i = 0; i < 3; i++) order.push((await box.next()).body);
  // Nothing of t2: a marker is next.
  client.publish({ destination: "/topic/js.tx", body: "marker" });
  order.push((await box.next()).body);
  results.transactions = order;
  await client.deactivate();
}

async function receipts() {
  const { client } = await connect();
  const id = "send-receipt";
  const done = receipt(client, id);
  client.publish({ destination: "/topic/js.receipts", body: "x", headers: { receipt: id } });
  results.receipts = await done;
  // DISCONNECT with a receipt: deactivate waits for it.
  await within("deactivate", client.deactivate());
  results.disconnected = !client.connected;
}

async function heartbeats() {
  // 2 s beats: the server allows 1.5x before it gives up on the client,
  // which leaves room for a CI machine busy with other tests.
  const { client, frame } = await connect({ heartbeatIncoming: 2000, heartbeatOutgoing: 2000 });
  const count = (s) => client.debugLog.filter((l) => l === s).length;
  const start = Date.now();
  while (count("<<< PONG") < 2 || count(">>> PING") < 2) {
    if (Date.now() - start > WAIT) throw new Error("heart-beats did not flow");
    await new Promise((r) => setTimeout(r, 100));
  }
  results.heartbeats = {
    header: frame.headers["heart-beat"],
    received: count("<<< PONG"),
    sent: count(">>> PING"),
    connected: client.connected,
  };
  await client.deactivate();
}

async function rpc() {
  const { client } = await connect();
  const { box } = await subscribe(client, "/temp-queue/replies");
  client.publish({ destination: "/rpc/echo", body: JSON.stringify({ n: 1 }), headers: { "reply-to": "/temp-queue/replies", "correlation-id": "c-1" } });
  client.publish({ destination: "/rpc/nope", body: "", headers: { "reply-to": "/temp-queue/replies", "correlation-id": "c-2" } });
  const a = await box.next();
  const b = await box.next();
  results.rpc = [
    { correlation: a.headers["correlation-id"], body: a.body, type: a.headers["content-type"] },
    { correlation: b.headers["correlation-id"], body: b.body, error: b.headers.error, code: b.headers["error-code"] },
  ];
  await client.deactivate();
}

async function binary() {
  const { client } = await connect();
  const { box } = await subscribe(client, "/topic/js.binary");
  client.publish({ destination: "/topic/js.binary", binaryBody: new Uint8Array([0, 1, 2, 255, 0]), headers: { "content-type": "application/octet-stream" } });
  const m = await box.next();
  results.binary = { bytes: Array.from(m.binaryBody), type: m.headers["content-type"] };
  await client.deactivate();
}

for (const scenario of [pubsub, versions, ackIndividual, ackClient, transactions, receipts, heartbeats, rpc, binary]) {
  try {
    await scenario();
  } catch (e) {
    results[scenario.name] = { error: String(e) };
  }
}
console.log(JSON.stringify(results));
process.exit(0);
