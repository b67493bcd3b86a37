// @stomp/stompjs over WebSocket against a Herald with a data directory,
// for the kill -9 test (cmd/herald/durable_test.go). Env STOMP_URL.
// Modes:
//   produce  two producers SEND to /queue/dur with receipts, printing
//            {"receipted":id}; a client-individual consumer prints
//            {"got":id,"acked":bool} and acknowledges every other
//            message; runs until the server goes away
//   drain    a consumer takes everything back, printing
//            {"got":id,"redelivered":bool}, until the end marker it sends
import { Client } from "@stomp/stompjs";
import { WebSocket } from "ws";

Object.assign(globalThis, { WebSocket });

const url = process.env.STOMP_URL;
if (!url) throw new Error("STOMP_URL is not set");
const mode = process.argv[2];
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const TOTAL = Number(process.env.TOTAL ?? 400); // per producer

function connect(onClose) {
  return new Promise((resolve, reject) => {
    const client = new Client({
      brokerURL: url,
      reconnectDelay: 0,
      heartbeatIncoming: 0,
      heartbeatOutgoing: 0,
      onStompError: (f) => reject(new Error(`ERROR: ${f.headers.message}`)),
      onWebSocketClose: () => onClose?.(),
    });
    client.onConnect = () => resolve(client);
    client.activate();
    setTimeout(() => reject(new Error("no CONNECTED")), 10000).unref();
  });
}

if (mode === "produce") {
  const gone = () => {
    out({ closed: true });
    process.exit(0);
  };
  const consumer = await connect(gone);
  let k = 0;
  consumer.subscribe(
    "/queue/dur",
    (m) => {
      const ack = k++ % 2 === 0;
      if (ack) m.ack();
      out({ got: m.body, acked: ack });
    },
    { ack: "client-individual", "prefetch-count": "50" },
  );
  for (const p of ["a", "b"]) {
    const c = await connect(gone);
    let n = 0;
    const WINDOW = 16;
    let pending = 0;
    const pump = () => {
      while (pending < WINDOW && n < TOTAL) {
        const id = `${p}-${n++}`;
        const receipt = `r-${id}`;
        pending++;
        c.watchForReceipt(receipt, () => {
          pending--;
          out({ receipted: id });
          pump();
        });
        c.publish({ destination: "/queue/dur", body: id, headers: { receipt } });
      }
    };
    pump();
  }
} else if (mode === "drain") {
  const c = await connect();
  let done;
  const finished = new Promise((resolve) => (done = resolve));
  c.subscribe(
    "/queue/dur",
    (m) => {
      m.ack();
      if (m.body === "end") return done();
      out({ got: m.body, redelivered: m.headers.redelivered === "true" });
    },
    { ack: "client-individual" },
  );
  const p = await connect();
  p.publish({ destination: "/queue/dur", body: "end" });
  const timer = setTimeout(() => {
    out({ timeout: true });
    process.exit(1);
  }, 20000);
  await finished;
  clearTimeout(timer);
  await c.deactivate();
  await p.deactivate();
} else {
  throw new Error(`unknown mode ${mode}`);
}
