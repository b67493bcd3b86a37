// herald.js with a token, over each transport forced in turn: the token
// opens the connection, refresh() keeps it past the token's expiry, and
// an unrefreshed client is closed with "token expired" and reconnects by
// itself with the token its token() function gives then.
// Env: HERALD_URL, HERALD_JS, HERALD_SECRET. Prints "ok <transport>".
import { pathToFileURL } from "node:url";
import WebSocket from "ws";
import { EventSource } from "eventsource";
import { assert, chatter, within } from "./auth_tokens.mjs";

const { connect } = await import(pathToFileURL(process.env.HERALD_JS).href);
const base = process.env.HERALD_URL;

function event(client, type, pred = () => true) {
  return within(
    `${type} event`,
    new Promise((resolve) => {
      const off = client.on(type, (d) => {
        if (!pred(d)) return;
        off();
        resolve(d);
      });
    }),
    15000,
  );
}

for (const transport of ["websocket", "sse", "longpoll"]) {
  try {
    const opts = { transports: [transport], WebSocket, EventSource, backoff: { initial: 50, max: 200 } };
    const short = chatter(3);
    const kept = connect(base, { ...opts, token: short });
    let current = short;
    const lost = connect(base, { ...opts, token: () => current });
    const closes = [];
    kept.on("close", (d) => closes.push(d.reason));
    await Promise.all([event(kept, "open"), event(lost, "open")]);

    const r = await kept.refresh(chatter(3600));
    assert(r.subject === "alice" && r.expires > Date.now() / 1000 + 1800, `refresh result ${JSON.stringify(r)}`);

    const closed = event(lost, "close");
    current = chatter(3600); // what the reconnect will use
    const why = await closed;
    assert(/token expired/.test(why.reason), `close reason ${why.reason}`);
    await event(lost, "open");
    assert((await lost.request("echo", ["again"]))[0] === "again", "the reconnected client answers");

    assert(closes.length === 0, `the refreshed client was closed: ${closes}`);
    assert((await kept.request("echo", ["still"]))[0] === "still", "the refreshed client answers");
    kept.close();
    lost.close();
    console.log(`ok ${transport}`);
  } catch (err) {
    console.log(`FAIL ${transport}: ${err.stack}`);
    process.exitCode = 1;
  }
}
process.exit();
