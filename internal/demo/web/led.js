// The LED page of reference 000. Requests go out as plain text over a
// WebSocket with no subprotocol; results come back on it. A second socket
// speaks herald.v1 (JSON-RPC 2.0) and subscribes to the topic every result
// is published to, so each open page sees what every client does.
import { keepOpen, timestamp } from "./common.js";

const TOPIC = "wsone/notify";
const MAX_LINES = 500; // per pane, so a page left open does not grow forever

const $ = (id) => document.getElementById(id);

// append puts text on top of a pane: the newest line first, as the
// reference does.
function append(pane, text) {
  const el = $(pane);
  const lines = el.value === "" ? [] : el.value.split("\n");
  lines.unshift(`${timestamp()}: ${text}`);
  el.value = lines.slice(0, MAX_LINES).join("\n");
}

const logAs = (name) => (text) => append("debug", `${name}: ${text}`);

// showState reflects a socket's state in its status line (text, not only
// colour).
const stateText = { connecting: "connecting…", open: "connected", subscribed: "subscribed", closed: "disconnected" };
function showState(id, state) {
  const el = $(id);
  el.dataset.state = state;
  el.querySelector(".state").textContent = stateText[state] ?? state;
}

// showLED lights the LED from any reply or notification that states it.
function showLED(text) {
  const m = /LED is (?:now )?(on|off)\b/.exec(text);
  if (!m) return;
  $("led").dataset.state = m[1];
  $("ledLabel").textContent = `The LED is ${m[1]}`;
}

// The request socket: plain text in, plain text out.
const wsLog = logAs("WS-LOG");
const requestSocket = keepOpen({
  log: wsLog,
  onState: (state) => showState("requestState", state),
  onMessage: (data) => {
    append("responseText", data);
    showLED(data);
  },
});

$("request").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("message");
  const text = input.value.trim();
  if (text === "") return;
  const ws = requestSocket();
  if (ws.readyState !== WebSocket.OPEN) {
    logAs("WS-ERROR")("The socket is not open; the request was not sent");
    return;
  }
  wsLog(`Send Web Socket Request: ${text}`);
  ws.send(text);
  input.select(); // the next command replaces this one
});

// The notification socket: herald.v1, subscribed to TOPIC. It remembers
// the position of the last message, so that after a reconnect the server
// replays what this page missed, or says plainly that it cannot.
const heraldLog = logAs("HERALD-LOG");
let position = null;
let nextID = 1;
let subscribeID = 0;

keepOpen({
  protocols: ["herald.v1"],
  log: heraldLog,
  onState: (state) => showState("notifyState", state),
  onOpen: (ws) => {
    subscribeID = nextID++;
    const params = { topic: TOPIC };
    if (position) params.since = position;
    ws.send(JSON.stringify({ jsonrpc: "2.0", id: subscribeID, method: "subscribe", params }));
    heraldLog(`Subscribing to ${TOPIC}${position ? ` after seq ${position.seq}` : ""}`);
  },
  onMessage: (data) => {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      logAs("HERALD-ERROR")(`Not JSON: ${data}`);
      return;
    }
    if (msg.id !== undefined && msg.id === subscribeID) {
      if (msg.error) {
        logAs("HERALD-ERROR")(`Subscribe failed: ${msg.error.message} (code ${msg.error.code})`);
        return;
      }
      position ??= msg.result?.position ?? null;
      heraldLog(`Subscribed to ${TOPIC}${position ? ` at seq ${position.seq}` : ""}`);
      showState("notifyState", "subscribed");
      return;
    }
    const p = msg.params ?? {};
    switch (msg.method) {
      case "message": {
        if (p.topic !== TOPIC) return;
        position = { epoch: p.epoch, seq: p.seq };
        const text = typeof p.data === "string" ? p.data : JSON.stringify(p.data);
        append("heraldNotification", text);
        showLED(text);
        return;
      }
      case "missed":
        heraldLog(`Missed messages ${p.from}–${p.to} of ${p.topic}: no longer in the server's history`);
        return;
    }
  },
});
