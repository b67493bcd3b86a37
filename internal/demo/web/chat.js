// The chat room of reference 001: join with a name, then every line goes
// to the room as "name:message" and everyone in it, the sender included,
// sees it. The room is the topic "chat": herald.js publishes and
// subscribes there, over a WebSocket or, where WebSockets are blocked,
// HTTP streaming or long polling (?transport= forces one), and clients
// of the "chat" WebSocket subprotocol share the same room.
import { timestamp } from "./common.js";
import { connect } from "./herald.js";
import { wsPath, streamPath, pollPath } from "./config.js";

const ROOM = "chat";
const $ = (id) => document.getElementById(id);

let client = null;
let me = "";

function setStatus(text) {
  $("chatStatus").textContent = text;
}

function showJoined(joined) {
  $("join").hidden = joined;
  $("joined").hidden = !joined;
  $(joined ? "phrase" : "username").focus();
}

function send(text) {
  return client?.publish(ROOM, `${me}:${text}`).catch((err) => setStatus(`Not sent: ${err.message}`));
}

// show renders one "from:text" message. Everything goes in with
// textContent, never parsed as HTML: messages come from other people, and
// markup in them must stay text.
function show(data) {
  const log = $("chat");
  log.querySelector(".empty")?.remove();
  const colon = data.indexOf(":");
  const from = colon < 0 ? "" : data.slice(0, colon);
  const text = data.slice(colon + 1);

  const line = document.createElement("p");
  line.className = "line";
  if (from === me) line.classList.add("mine");
  const fromEl = document.createElement("span");
  fromEl.className = "from";
  fromEl.textContent = from === "" ? "" : `${from}: `;
  const textEl = document.createElement("span");
  textEl.className = "text";
  textEl.textContent = text;
  const time = document.createElement("time");
  time.textContent = timestamp().slice(0, 8);
  line.append(fromEl, textEl, time);

  // Follow new messages only when the reader is already at the bottom,
  // so scrolling back to read is not interrupted.
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 48;
  log.append(line);
  if (atBottom) log.scrollTop = log.scrollHeight;
}

function join(name) {
  // ":" separates the name from the message, as in the reference.
  me = name.replaceAll(":", "_");
  setStatus("Joining…");
  const forced = new URLSearchParams(location.search).get("transport");
  const c = connect(location.href, {
    paths: { websocket: wsPath, sse: streamPath, longpoll: pollPath },
    transports: forced ? [forced] : undefined,
  });
  client = c;
  c.on("state", ({ state, transport }) => {
    if (client !== c) return;
    if (state === "open") setStatus(`Connected as ${me} (${transport}).`);
    if (state === "reconnecting") setStatus("Connection lost; reconnecting…");
  });
  c.subscribe(ROOM, (data) => show(typeof data === "string" ? data : JSON.stringify(data))).then(
    () => {
      $("who").textContent = `as ${me}`;
      showJoined(true);
      send("has joined!");
    },
    (err) => {
      setStatus(`Could not join: ${err.message}`);
      c.close();
      if (client === c) client = null;
    },
  );
}

$("join").addEventListener("submit", (event) => {
  event.preventDefault();
  const name = $("username").value.trim();
  if (name !== "" && client === null) join(name);
});

$("joined").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("phrase");
  const text = input.value.trim();
  if (text === "") return;
  send(text);
  input.value = "";
});

$("leaveB").addEventListener("click", async () => {
  const c = client;
  if (!c) return;
  await send("has left.");
  c.close();
  client = null;
  setStatus("You left the room.");
  showJoined(false);
});
