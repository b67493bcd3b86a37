// The LED page's MQTT pane, as in reference 000: an MQTT client in the
// browser (MQTT.js, vendor/mqtt.min.js, MIT) speaks MQTT 3.1.1 over
// Herald's WebSocket endpoint (subprotocol "mqtt") and subscribes to the
// topic every LED result is published to. MQTT.js reconnects by itself.
import { socketURL, timestamp } from "./common.js";

const TOPIC = "wsone/notify";
const MAX_LINES = 500;

const $ = (id) => document.getElementById(id);

function append(pane, text) {
  const el = $(pane);
  const lines = el.value === "" ? [] : el.value.split("\n");
  lines.unshift(`${timestamp()}: ${text}`);
  el.value = lines.slice(0, MAX_LINES).join("\n");
}

const log = (text) => append("debug", `MQTT-LOG: ${text}`);

const stateText = { connecting: "connecting…", open: "connected", subscribed: "subscribed", closed: "disconnected" };
function showState(state) {
  const el = $("mqttState");
  if (!el) return;
  el.dataset.state = state;
  el.querySelector(".state").textContent = stateText[state] ?? state;
}

const url = socketURL();
log(`Connects to ${url}`);
showState("connecting");
// A clean session: a page that comes back needs only what is published
// from then on (the herald.v1 pane shows how to resume from a position).
// Native timers: the default ones run in a worker made from a blob: URL,
// which the page's Content-Security-Policy (own origin only) refuses.
const client = window.mqtt.connect(url, { protocolVersion: 4, clean: true, keepalive: 30, reconnectPeriod: 2000, timerVariant: "native" });

client.on("connect", (connack) => {
  log(`Connected${connack.sessionPresent ? " (session resumed)" : ""}`);
  showState("open");
  client.subscribe(TOPIC, { qos: 1 }, (err, granted) => {
    if (err || !granted?.length || granted[0].qos > 2) {
      append("debug", `MQTT-ERROR: Subscribe to ${TOPIC} refused`);
      return;
    }
    log(`Subscribed to ${TOPIC} (QoS ${granted[0].qos})`);
    showState("subscribed");
  });
});

client.on("message", (topic, payload) => {
  if (topic !== TOPIC) return;
  append("mqttNotification", new TextDecoder().decode(payload));
});

client.on("close", () => {
  showState("closed");
  log("Disconnected; reconnecting");
});

client.on("error", (err) => append("debug", `MQTT-ERROR: ${err.message}`));
