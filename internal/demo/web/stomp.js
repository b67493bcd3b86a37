// The LED page's STOMP pane, as reference 000 has it: stomp.js subscribes
// to /topic/wsone.notify (the canonical topic wsone/notify) over Herald's
// one WebSocket endpoint, offering the subprotocols v12.stomp, v11.stomp
// and v10.stomp. The client is @stomp/stompjs 7.5.0, served from
// vendor/stomp.umd.min.js (Apache-2.0: vendor/stompjs.LICENSE), which
// defines the global StompJs.
import { socketURL } from "./common.js";

export const stompTopic = "/topic/wsone.notify";

// startStomp connects, subscribes and keeps both up: stomp.js reconnects
// after 1 s, then twice as long after each failure (up to 30 s), like
// the page's other sockets. A receipt on the SUBSCRIBE tells when
// notifications will arrive.
export function startStomp({ log, onState, onMessage }) {
  const { Client, ReconnectionTimeMode } = globalThis.StompJs;
  let receipts = 0;
  const client = new Client({
    brokerURL: socketURL(),
    reconnectDelay: 1000,
    reconnectTimeMode: ReconnectionTimeMode.EXPONENTIAL,
    maxReconnectDelay: 30000,
    heartbeatIncoming: 10000,
    heartbeatOutgoing: 10000,
    debug: () => {},
    beforeConnect: () => {
      onState("connecting");
      log(`Connects to ${client.brokerURL}`);
    },
    onConnect: (frame) => {
      onState("open");
      log(`Connected to STOMP ${frame.headers.version} (${frame.headers.server}), subscribe to ${stompTopic}`);
      const receipt = `subscribed-${++receipts}`;
      client.watchForReceipt(receipt, () => {
        onState("subscribed");
        log(`Subscribed to ${stompTopic}`);
      });
      client.subscribe(stompTopic, (message) => onMessage(message.body), { receipt });
    },
    onStompError: (frame) => log(`ERROR: ${frame.headers.message}`),
    onWebSocketClose: (event) => {
      onState("closed");
      log(`WebSocket closed (code ${event.code}); reconnecting`);
    },
  });
  client.activate();
  return client;
}
