// The LED page of reference 000. Commands go to the server as requests
// and the replies come back; every result is also published to a topic
// this page subscribes to, so each open page sees what every client does.
import { timestamp } from "./common.js";
import { connect } from "./herald.js";
import { wsPath, streamPath, pollPath } from "./config.js";
import { startStomp } from "./stomp.js";

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
const stateText = { connecting: "connecting…", open: "connected", subscribed: "subscribed", reconnecting: "reconnecting…", closed: "disconnected" };
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

// The Herald client (herald.js) carries both the requests and the
// notifications of TOPIC, over a WebSocket or, where WebSockets are
// blocked, HTTP streaming or long polling: it tries them in that order.
// ?transport=websocket|sse|longpoll forces one. After any reconnect it
// resumes the subscription from the last message it saw, so nothing is
// lost while the server's history holds it, and says so when it does not.
const heraldLog = logAs("HERALD-LOG");
const forced = new URLSearchParams(location.search).get("transport");
const client = connect(location.href, {
  paths: { websocket: wsPath, sse: streamPath, longpoll: pollPath },
  transports: forced ? [forced] : undefined,
});
let subscribed = false;
client.on("state", ({ state, transport }) => {
  showState("heraldState", state === "open" && subscribed ? "subscribed" : state);
  $("heraldTransport").textContent = transport ?? "…";
});
client.on("open", ({ transport }) => heraldLog(`Connected over ${transport}`));
client.on("close", ({ transport, reason }) => heraldLog(`${transport} closed (${reason}); reconnecting`));
client.on("missed", (g) => {
  const range = g.to === undefined ? "some messages" : g.to >= g.from ? `messages ${g.from}–${g.to}` : "the messages";
  const why = g.reset ? " (the server restarted or forgot the topic)" : "";
  heraldLog(`Missed ${range} of ${g.topic}: no longer in the server's history${why}`);
});

client.subscribe(TOPIC, (data) => {
  const text = typeof data === "string" ? data : JSON.stringify(data);
  append("heraldNotification", text);
  showLED(text);
}).then(
  () => {
    subscribed = true;
    heraldLog(`Subscribed to ${TOPIC}`);
    showState("heraldState", "subscribed");
  },
  (err) => logAs("HERALD-ERROR")(`Subscribe failed: ${err.message} (code ${err.code})`),
);

// Requests: the command goes to the JSON-RPC method "led", which answers
// any text as reference 000 does (unknown commands included); the reply
// comes back on the same connection, matched by its id.
$("request").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("message");
  const command = input.value.trim();
  if (command === "") return;
  input.select(); // the next command replaces this one
  heraldLog(`Request: ${command}`);
  try {
    const reply = await client.request("led", [command], { timeout: 10000 });
    append("responseText", reply);
    showLED(reply);
  } catch (err) {
    append("responseText", `ERROR: ${err.message}`);
  }
});

// The STOMP socket: stomp.js subscribed to the same topic as STOMP sees
// it, /topic/wsone.notify.
startStomp({
  log: logAs("STOMP-LOG"),
  onState: (state) => showState("stompState", state),
  onMessage: (text) => {
    append("stompNotification", text);
    showLED(text);
  },
});
