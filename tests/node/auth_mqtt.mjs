// MQTT.js against a Herald server with JWT authentication: CONNACK codes
// for missing, bad and refused credentials (5.0 and 3.1.1), SUBACK and
// PUBACK refusals, MQTT 5 re-authentication (AUTH 0x19) and the
// DISCONNECT an expired connection gets. Env: HERALD_WS, HERALD_MQTT,
// HERALD_SECRET. Prints "ok <case>" per passing case.
import { once } from "node:events";
import mqtt from "mqtt";
import { assert, chatter, token, within } from "./auth_tokens.mjs";

const transports = [
  ["ws", process.env.HERALD_WS],
  ["tcp", process.env.HERALD_MQTT],
].filter(([, url]) => url);
let seq = 0;

function connect(url, version, opts = {}) {
  return mqtt.connectAsync(url, {
    protocolVersion: version,
    reconnectPeriod: 0,
    connectTimeout: 10000,
    clientId: `auth-${process.pid}-${seq++}`,
    ...opts,
  });
}

// refusedWith connects and returns the CONNACK's refusal code.
async function refusedWith(url, version, opts) {
  try {
    const c = await connect(url, version, opts);
    c.end(true);
  } catch (err) {
    return err.code;
  }
  throw new Error("connection accepted");
}

// subackCodes subscribes and returns the SUBACK's codes, refusals
// included (MQTT.js rejects when any is a refusal).
async function subackCodes(c, filters) {
  try {
    return (await c.subscribeAsync(filters, { qos: 1 })).map((g) => g.qos);
  } catch (err) {
    if (!err.packet?.granted) throw err;
    return err.packet.granted;
  }
}

// firstMessage resolves with the first message the client receives.
function firstMessage(c) {
  return within("a message", new Promise((resolve) => c.once("message", (topic, payload) => resolve({ topic, payload: payload.toString() }))));
}

const observerToken = () => token("olga", 3600, { herald: { sub: ["news/#", "chat/#"] } });

const cases = {
  async v5Refusals(url) {
    assert((await refusedWith(url, 5, {})) === 0x86, "no credentials: 0x86");
    assert((await refusedWith(url, 5, { username: "u", password: "garbage" })) === 0x86, "bad token: 0x86");
    assert((await refusedWith(url, 5, { username: "u", password: chatter(-60) })) === 0x86, "expired token: 0x86");
    assert((await refusedWith(url, 5, { username: "banned", password: chatter() })) === 0x87, "banned: 0x87");
  },
  async v311Refusals(url) {
    assert((await refusedWith(url, 4, {})) === 4, "no credentials: 4");
    assert((await refusedWith(url, 4, { username: "u", password: "garbage" })) === 4, "bad token: 4");
    assert((await refusedWith(url, 4, { username: "banned", password: chatter() })) === 5, "banned: 5");
  },
  async v5Permissions(url) {
    const c = await connect(url, 5, { username: "alice", password: chatter() });
    const granted = await subackCodes(c, ["chat/#", "news/#", "#"]);
    assert(granted[0] === 1, `chat/# granted: ${JSON.stringify(granted)}`);
    assert(granted[1] === 0x87 && granted[2] === 0x87, `news/# and # refused with 0x87: ${JSON.stringify(granted)}`);
    let refused;
    try {
      await c.publishAsync("news/x", "no", { qos: 1 });
    } catch (err) {
      refused = err.code;
    }
    assert(refused === 0x87, `PUBACK 0x87 for a forbidden topic, got ${refused}`);
    const got = firstMessage(c);
    await c.publishAsync("chat/a", "yes", { qos: 1 });
    const m = await got;
    assert(m.topic === "chat/a", `own message on chat/a: ${JSON.stringify(m)}`);
    await c.endAsync();
  },
  async v311Permissions(url) {
    const obs = await connect(url, 4, { username: "olga", password: observerToken() });
    await obs.subscribeAsync(["news/#", "chat/#"], { qos: 1 });
    const c = await connect(url, 4, { username: "alice", password: chatter() });
    const granted = await subackCodes(c, ["chat/#", "news/#"]);
    assert(granted[0] === 1 && granted[1] === 0x80, `SUBACK 0x80: ${JSON.stringify(granted)}`);
    const got = firstMessage(obs);
    await c.publishAsync("news/x", "dropped", { qos: 1 }); // 3.1.1: acknowledged, not published
    await c.publishAsync("chat/x", "kept", { qos: 1 });
    const m = await got;
    assert(m.topic === "chat/x", `the forbidden publication was delivered: ${JSON.stringify(m)}`);
    await c.endAsync();
    await obs.endAsync();
  },
  // Two clients with the same short-lived token: one re-authenticates
  // with AUTH 0x19 and stays; the other gets DISCONNECT 0xA0.
  async v5Reauth(url) {
    const short = chatter(3);
    const a = await connect(url, 5, { properties: { authenticationMethod: "token", authenticationData: Buffer.from(short) } });
    const b = await connect(url, 5, { username: "alice", password: short });
    const authed = new Promise((resolve) => {
      a.handleAuth = (packet, cb) => {
        resolve(packet.reasonCode);
        cb();
      };
    });
    const gone = once(b, "disconnect");
    a._sendPacket({ cmd: "auth", reasonCode: 0x19, properties: { authenticationMethod: "token", authenticationData: Buffer.from(chatter()) } });
    assert((await within("AUTH answer", authed)) === 0, "AUTH 0x00 after re-authentication");
    const [packet] = await within("DISCONNECT of the expired client", gone);
    assert(packet.reasonCode === 0xa0, `DISCONNECT reason ${packet.reasonCode}, want 0xA0`);
    assert(packet.properties?.reasonString === "token expired", `reason string ${packet.properties?.reasonString}`);
    await a.subscribeAsync("chat/alive", { qos: 1 });
    const got = firstMessage(a);
    await a.publishAsync("chat/alive", "still here", { qos: 1 });
    assert((await got).payload === "still here", "the re-authenticated client works");
    await a.endAsync();
    b.end(true);
  },
  async v5ReauthRefused(url) {
    const a = await connect(url, 5, { properties: { authenticationMethod: "token", authenticationData: Buffer.from(chatter()) } });
    const gone = once(a, "disconnect");
    a._sendPacket({ cmd: "auth", reasonCode: 0x19, properties: { authenticationMethod: "token", authenticationData: Buffer.from("garbage") } });
    const [packet] = await within("DISCONNECT after a refused re-authentication", gone);
    assert(packet.reasonCode === 0x87, `DISCONNECT reason ${packet.reasonCode}, want 0x87`);
    a.end(true);
  },
  async v311Expiry(url) {
    const c = await connect(url, 4, { username: "alice", password: chatter(2) });
    await within("close of the expired 3.1.1 client", once(c, "close"));
    c.end(true);
  },
};

for (const [tname, url] of transports) {
  for (const [name, fn] of Object.entries(cases)) {
    try {
      await fn(url);
      console.log(`ok ${tname} ${name}`);
    } catch (err) {
      console.log(`FAIL ${tname} ${name}: ${err.stack}`);
      process.exitCode = 1;
    }
  }
}
process.exit();
