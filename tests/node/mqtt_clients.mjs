// MQTT.js against Herald: QoS 0/1/2, retained messages, wills, persistent
// sessions and shared subscriptions, for MQTT 3.1.1 and 5.0 over each
// transport given. Env: HERALD_WS (ws://host:port/ws) and HERALD_MQTT
// (mqtt://host:port). Prints "ok <case>" per passing case; any failure
// exits non-zero.
import { once } from "node:events";
import mqtt from "mqtt";

const transports = [
  ["ws", process.env.HERALD_WS],
  ["tcp", process.env.HERALD_MQTT],
].filter(([, url]) => url);
if (transports.length === 0) throw new Error("set HERALD_WS and/or HERALD_MQTT");

const TIMEOUT = 10000;
let seq = 0;

async function connect(url, version, opts = {}) {
  return mqtt.connectAsync(url, {
    protocolVersion: version,
    reconnectPeriod: 0,
    connectTimeout: TIMEOUT,
    clientId: opts.clientId ?? `js-${process.pid}-${seq++}`,
    clean: opts.clean ?? true,
    ...opts,
  });
}

// collect resolves with the first n messages matching topic prefix.
function collect(client, n, prefix) {
  return new Promise((resolve, reject) => {
    const got = [];
    const timer = setTimeout(() => reject(new Error(`timed out with ${got.length}/${n} messages on ${prefix}: ${JSON.stringify(got)}`)), TIMEOUT);
    client.on("message", (topic, payload, packet) => {
      if (!topic.startsWith(prefix)) return;
      got.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain, properties: packet.properties });
      if (got.length === n) {
        clearTimeout(timer);
        resolve(got);
      }
    });
  });
}

function assert(cond, what) {
  if (!cond) throw new Error(`assertion failed: ${what}`);
}

const cases = {
  async qos(url, v, name) {
    const topic = `qos/${name}`;
    const sub = await connect(url, v);
    await sub.subscribeAsync(`${topic}/#`, { qos: 2 });
    const got = collect(sub, 3, topic);
    const pub = await connect(url, v);
    for (const qos of [0, 1, 2]) await pub.publishAsync(`${topic}/${qos}`, `m${qos}`, { qos });
    const msgs = (await got).sort((a, b) => a.topic.localeCompare(b.topic));
    for (const qos of [0, 1, 2]) {
      assert(msgs[qos].payload === `m${qos}` && msgs[qos].qos === qos, `QoS ${qos} delivered at QoS ${qos}: ${JSON.stringify(msgs[qos])}`);
    }
    await pub.endAsync();
    await sub.endAsync();
  },

  async retained(url, v, name) {
    const topic = `retained/${name}`;
    const pub = await connect(url, v);
    await pub.publishAsync(topic, "kept", { qos: 1, retain: true });
    const sub = await connect(url, v);
    const got = collect(sub, 1, topic);
    await sub.subscribeAsync(topic, { qos: 1 });
    const [m] = await got;
    assert(m.payload === "kept" && m.retain, `retained message on subscribe: ${JSON.stringify(m)}`);
    await pub.publishAsync(topic, "", { qos: 1, retain: true }); // clear
    const late = await connect(url, v);
    const lateGot = collect(late, 1, topic);
    await late.subscribeAsync(topic, { qos: 1 });
    await pub.publishAsync(topic, "live", { qos: 1 });
    const [first] = await lateGot;
    assert(first.payload === "live" && !first.retain, `nothing retained after clearing: ${JSON.stringify(first)}`);
    await Promise.all([pub.endAsync(), sub.endAsync(), late.endAsync()]);
  },

  async will(url, v, name) {
    const topic = `will/${name}`;
    const watcher = await connect(url, v);
    await watcher.subscribeAsync(topic, { qos: 1 });
    const got = collect(watcher, 1, topic);
    const polite = await connect(url, v, { will: { topic, payload: "polite", qos: 1 } });
    await polite.endAsync(); // DISCONNECT: no will
    const rude = await connect(url, v, { will: { topic, payload: "gone", qos: 1 } });
    rude.stream.destroy(); // vanish without DISCONNECT
    const [m] = await got;
    assert(m.payload === "gone", `the will of the vanished client only: ${JSON.stringify(m)}`);
    await watcher.endAsync();
  },

  async persistent(url, v, name) {
    const topic = `persist/${name}`;
    const clientId = `persist-${name}-${process.pid}`;
    const opts = { clientId, clean: false, properties: v === 5 ? { sessionExpiryInterval: 300 } : undefined };
    const first = await connect(url, v, opts);
    await first.subscribeAsync(topic, { qos: 2 });
    await first.endAsync();
    const pub = await connect(url, v);
    for (let i = 0; i < 10; i++) await pub.publishAsync(topic, `m${i}`, { qos: i % 2 ? 2 : 1 });
    await pub.endAsync();
    // The queued messages may come in the same read as CONNACK: listen
    // before connecting.
    const again = mqtt.connect(url, { protocolVersion: v, reconnectPeriod: 0, ...opts });
    const pending = collect(again, 10, topic);
    const [connack] = await once(again, "connect");
    assert(connack.sessionPresent, "session present on reconnect");
    const msgs = await pending;
    const payloads = msgs.map((m) => m.payload).sort();
    assert(JSON.stringify(payloads) === JSON.stringify([...Array(10).keys()].map((i) => `m${i}`).sort()), `all ten queued messages once: ${payloads}`);
    await again.endAsync();
  },

  async shared(url, v, name) {
    const topic = `shared/${name}`;
    const members = [await connect(url, v), await connect(url, v)];
    const counts = [0, 0];
    const seen = new Set();
    const done = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`shared: ${seen.size}/10`)), TIMEOUT);
      members.forEach((m, i) =>
        m.on("message", (_t, payload) => {
          assert(!seen.has(payload.toString()), `delivered twice: ${payload}`);
          seen.add(payload.toString());
          counts[i]++;
          if (seen.size === 10) {
            clearTimeout(timer);
            resolve();
          }
        }),
      );
    });
    for (const m of members) await m.subscribeAsync(`$share/workers/${topic}`, { qos: 1 });
    const pub = await connect(url, v);
    for (let i = 0; i < 10; i++) await pub.publishAsync(topic, `job${i}`, { qos: 1 });
    await done;
    assert(counts[0] === 5 && counts[1] === 5, `round robin: ${counts}`);
    await Promise.all([pub.endAsync(), ...members.map((m) => m.endAsync())]);
  },
};

for (const [tname, url] of transports) {
  for (const v of [4, 5]) {
    for (const [cname, fn] of Object.entries(cases)) {
      const name = `${tname}-v${v}-${cname}`;
      await fn(url, v, name);
      console.log(`ok ${name}`);
    }
  }
}
process.exit(0);
