// @stomp/stompjs over WebSocket against a Herald server with JWT
// authentication: a bad passcode, a token in the URL instead of a
// passcode, a forbidden subscription, and an expiring token. Env:
// STOMP_URL (ws://host:port/ws), HERALD_SECRET. Prints "ok <case>".
import { Client } from "@stomp/stompjs";
import { WebSocket } from "ws";
import { assert, chatter, within } from "./auth_tokens.mjs";

Object.assign(globalThis, { WebSocket });
const url = process.env.STOMP_URL;

// session activates a client and resolves with how it went: "connected"
// (and the client) or the ERROR frame's message; later ERROR frames and
// the WebSocket close go to the returned queues.
function session(brokerURL, headers) {
  const errors = [];
  let onError;
  const closed = new Promise((resolve) => {
    const client = new Client({
      brokerURL,
      connectHeaders: headers,
      reconnectDelay: 0,
      heartbeatIncoming: 0,
      heartbeatOutgoing: 0,
      onWebSocketClose: (ev) => resolve(ev.code),
    });
    const first = new Promise((res) => {
      client.onConnect = () => res("connected");
      onError = res;
    });
    client.onStompError = (f) => {
      errors.push(f.headers.message);
      onError(f.headers.message);
    };
    session.last = { client, first };
    client.activate();
  });
  const { client, first } = session.last;
  return { client, first: within("CONNECTED or ERROR", first), closed: within("WebSocket close", closed), errors };
}

const cases = {
  async badPasscode() {
    const s = session(url, { login: "alice", passcode: "garbage" });
    assert((await s.first) === "authentication failed", "ERROR authentication failed");
    await s.closed;
  },
  async tokenInURL() {
    const s = session(`${url}?access_token=${chatter()}`, {});
    assert((await s.first) === "connected", "CONNECTED with the handshake's token");
    await s.client.deactivate();
  },
  async forbiddenSubscribe() {
    const s = session(url, { login: "alice", passcode: chatter() });
    assert((await s.first) === "connected", "CONNECTED");
    const err = new Promise((resolve) => {
      s.client.onStompError = (f) => resolve(f.body);
    });
    s.client.subscribe("/topic/news/a", () => {});
    const body = await within("ERROR for a forbidden subscription", err);
    assert(body.includes("news/a"), `ERROR body names the destination: ${body}`);
  },
  async expiry() {
    const s = session(url, { login: "alice", passcode: chatter(2) });
    assert((await s.first) === "connected", "CONNECTED");
    const err = new Promise((resolve) => {
      s.client.onStompError = (f) => resolve(f.headers.message);
    });
    assert((await within("ERROR at expiry", err)) === "token expired", "ERROR token expired");
    assert((await s.closed) === 1008, "WebSocket close 1008");
  },
};

for (const [name, fn] of Object.entries(cases)) {
  try {
    await fn();
    console.log(`ok ${name}`);
  } catch (err) {
    console.log(`FAIL ${name}: ${err.stack}`);
    process.exitCode = 1;
  }
}
process.exit();
