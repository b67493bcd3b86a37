// MQTT.js against a Herald with a data directory, for the kill -9 test
// (cmd/herald/durable_test.go). Env HERALD_MQTT (mqtt://host:port). Modes:
//   subscribe  a persistent session subscribes to dur/q1 (QoS 1) and
//              dur/q2 (QoS 2), then goes offline
//   publish    publishes QoS 1 and 2 messages, printing {"ack":i,"qos":q}
//              for each acknowledged one (PUBACK, PUBCOMP), until the
//              server goes away
//   receive    the persistent session comes back; prints every message
//              it gets ({"i","qos","dup"}) until the end markers arrive
import mqtt from "mqtt";

const url = process.env.HERALD_MQTT;
if (!url) throw new Error("HERALD_MQTT is not set");
const mode = process.argv[2];
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const base = { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 10000 };
const SUB = { clientId: "durable-sub", clean: false, properties: { sessionExpiryInterval: 3600 } };
const TOTAL = Number(process.env.TOTAL ?? 1200);
const WINDOW = 32;

if (mode === "subscribe") {
  const c = await mqtt.connectAsync(url, { ...base, ...SUB });
  await c.subscribeAsync({ "dur/q1": { qos: 1 }, "dur/q2": { qos: 2 } });
  await c.endAsync();
  out({ subscribed: true });
} else if (mode === "publish") {
  const c = await mqtt.connectAsync(url, { ...base, clientId: "durable-pub", clean: true });
  c.on("close", () => {
    out({ closed: true });
    process.exit(0);
  });
  c.on("error", () => {});
  let n = 0;
  let pending = 0;
  const pump = () => {
    while (pending < WINDOW && n < TOTAL) {
      const i = n++;
      const qos = i % 2 ? 2 : 1;
      pending++;
      c.publish(`dur/q${qos}`, String(i), { qos }, (err) => {
        pending--;
        if (!err) out({ ack: i, qos });
        pump();
      });
    }
  };
  pump();
} else if (mode === "receive") {
  const c = mqtt.connect(url, { ...base, ...SUB });
  const ends = new Set();
  let done;
  const finished = new Promise((resolve) => (done = resolve));
  c.on("message", (topic, payload, packet) => {
    const s = payload.toString();
    if (s === "end") {
      ends.add(topic);
      if (ends.size === 2) done();
      return;
    }
    out({ i: Number(s), qos: packet.qos, dup: packet.dup });
  });
  c.on("error", (err) => {
    throw err;
  });
  const [ack] = await Promise.race([
    new Promise((resolve) => c.once("connect", (a) => resolve([a]))),
    new Promise((_, reject) => setTimeout(() => reject(new Error("no CONNACK")), 10000).unref()),
  ]);
  out({ sessionPresent: ack.sessionPresent });
  // End markers, published after the session is back: they queue behind
  // everything restored.
  const p = await mqtt.connectAsync(url, { ...base, clientId: "durable-end", clean: true });
  await p.publishAsync("dur/q1", "end", { qos: 1 });
  await p.publishAsync("dur/q2", "end", { qos: 2 });
  await p.endAsync();
  const timer = setTimeout(() => {
    out({ timeout: [...ends] });
    process.exit(1);
  }, 20000);
  await finished;
  clearTimeout(timer);
  await c.endAsync();
} else {
  throw new Error(`unknown mode ${mode}`);
}
