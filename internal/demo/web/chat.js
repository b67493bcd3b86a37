// The chat room of reference 001: join with a name, then every line is
// sent as "name:message" over the "chat" subprotocol and the server
// broadcasts it to every member, the sender included.
import { socketURL, timestamp } from "./common.js";

const $ = (id) => document.getElementById(id);

let socket = null;
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
  if (socket?.readyState === WebSocket.OPEN) socket.send(`${me}:${text}`);
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
  const ws = new WebSocket(socketURL(), "chat");
  socket = ws;
  ws.addEventListener("open", () => {
    $("who").textContent = `as ${me}`;
    setStatus(`Connected as ${me}.`);
    showJoined(true);
    send("has joined!");
  });
  ws.addEventListener("message", (event) => show(event.data));
  ws.addEventListener("close", (event) => {
    if (socket === ws) socket = null;
    const why = event.reason ? `: ${event.reason}` : "";
    setStatus(event.wasClean && event.code === 1000 ? "You left the room." : `Disconnected (code ${event.code}${why}).`);
    showJoined(false);
  });
}

$("join").addEventListener("submit", (event) => {
  event.preventDefault();
  const name = $("username").value.trim();
  if (name !== "" && socket === null) join(name);
});

$("joined").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("phrase");
  const text = input.value.trim();
  if (text === "") return;
  send(text);
  input.value = "";
});

$("leaveB").addEventListener("click", () => {
  send("has left.");
  socket?.close(1000, "left the room");
});
