// herald.js over long polling against a server that is killed (kill -9)
// and started again on the same data directory and address: the client
// keeps its session (no "session gone"), and every message published
// before and after the crash arrives once, in order.
//
// Env: HERALD_URL, HERALD_JS (the module). Prints one JSON object a line:
// {"subscribed":true}, {"data","seq"} per message, {"log"} and {"state"};
// exits after the message "end".
import { pathToFileURL } from "node:url";

const { connect } = await import(pathToFileURL(process.env.HERALD_JS).href);
const out = (v) => process.stdout.write(JSON.stringify(v) + "\n");
const client = connect(process.env.HERALD_URL, { transports: ["longpoll"], backoff: { initial: 100, max: 500 } });
client.on("state", (s) => out({ state: s.state }));
client.on("log", (l) => out({ log: String(l?.message ?? l) }));
let done;
const finished = new Promise((r) => (done = r));
await client.subscribe("d/js", (data, m) => {
  out({ data, seq: m.seq });
  if (data === "end") done();
});
out({ subscribed: true });
await finished;
client.close();
