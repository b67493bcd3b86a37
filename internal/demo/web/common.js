// Helpers shared by the demo pages.
import { wsPath } from "./config.js";

// socketURL is the Herald WebSocket endpoint on the host that served the
// page: wss: when the page came over https:, so that it works behind a
// TLS-terminating proxy too.
export function socketURL() {
  const url = new URL(wsPath, location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}

// timestamp formats d as HH:MM:SS.mmm, as the reference's log panes do.
export function timestamp(d = new Date()) {
  const pad = (n, width = 2) => String(n).padStart(width, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

// keepOpen opens a WebSocket and reopens it whenever it closes, waiting
// 1 s, then twice as long after each failure (up to 30 s), so a restarted
// server is not stampeded by every open page at once. It returns a
// function that gives the current socket.
export function keepOpen({ protocols, log, onOpen, onMessage, onState }) {
  let delay = 1000;
  let socket;
  const open = () => {
    const url = socketURL();
    log(`Connects to WebSocket: ${url}`);
    onState("connecting");
    socket = protocols ? new WebSocket(url, protocols) : new WebSocket(url);
    const ws = socket;
    ws.addEventListener("open", () => {
      delay = 1000;
      log(`Connected to WebSocket${ws.protocol ? ` (subprotocol ${ws.protocol})` : ""}`);
      onState("open");
      onOpen?.(ws);
    });
    ws.addEventListener("message", (event) => onMessage(event.data, ws));
    ws.addEventListener("close", (event) => {
      const why = event.reason ? `: ${event.reason}` : "";
      log(`WebSocket closed (code ${event.code}${why}); reconnecting in ${delay / 1000} s`);
      onState("closed");
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 30000);
    });
  };
  open();
  return () => socket;
}
