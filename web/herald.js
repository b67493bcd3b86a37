// herald.js: the browser (and Node) client of Herald's native protocol.
// A dependency-free ES module; types in herald.d.ts.
//
//   import { connect } from "/herald.js";
//   const client = connect(location.origin);
//   const sub = await client.subscribe("orders/42", (data, msg) => { ... });
//   const total = await client.request("cart.total", { currency: "EUR" }, { timeout: 5000 });
//
// One client, three transports, tried in order until one opens:
// WebSocket (subprotocol herald.v1), then HTTP streaming (an EventSource on
// /stream with POST for what the client sends), then long polling (/poll).
// A transport that does not open within `openTimeout` (a WebSocket behind
// a proxy that swallows it) counts as failed. `transports` forces a subset.
//
// Every message carries its topic's position (epoch, seq). The client keeps
// the last one per topic and, after any reconnect, on any transport,
// resubscribes from there: history fills the gap, and a "missed" event says
// what it could not fill. `token()` gives the positions as one resume
// token, the same string SSE uses as its event id.

export const VERSION = "1.0.0";

const DEFAULTS = {
  transports: ["websocket", "sse", "longpoll"],
  paths: { websocket: "/ws", sse: "/stream", longpoll: "/poll" },
  openTimeout: 4000,
  requestTimeout: 30000,
  backoff: { initial: 500, max: 15000, factor: 2 },
  withCredentials: false,
  ackEvery: 32, // stream: acknowledge after this many messages...
  ackDelay: 2000, // ...or this long after the first unacknowledged one
};

/** An error answered by the server (JSON-RPC error) or raised by the client. */
export class HeraldError extends Error {
  constructor(code, message, data) {
    super(message);
    this.name = "HeraldError";
    this.code = code;
    if (data !== undefined) this.data = data;
  }
}

// Client-side error codes, in the server's implementation-defined range.
export const ErrorCodes = Object.freeze({
  TIMEOUT: -32008, // also the server's handler timeout
  DISCONNECTED: -32098, // the connection or session ended before the answer
  CLOSED: -32099, // the client was closed
});

/**
 * connect opens a client to the Herald server at url (http(s)://host[:port][/base]).
 * url may be a list of the nodes of a cluster: the client uses the first
 * that answers and moves on to the next when its node goes away.
 */
export function connect(url, options = {}) {
  return new Client(url, options);
}

// ---------------------------------------------------------------------------
// Resume tokens (internal/position in the server): base64url of
//   0x01, uvarint count, count × {uvarint shared, str rest, str epoch, uvarint seq}
// with topics in increasing UTF-8 byte order, names sharing a prefix with
// the previous one storing only the rest.

const utf8 = new TextEncoder();
const fromUTF8 = new TextDecoder("utf-8", { fatal: true });

function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function putUvarint(out, n) {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a sequence number: ${n}`);
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
}

function putBytes(out, bytes) {
  putUvarint(out, bytes.length);
  for (const b of bytes) out.push(b);
}

function toBase64URL(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64URL(s) {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) throw new HeraldError(-32602, "malformed resume token");
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function entriesOf(positions) {
  if (positions instanceof Map) return [...positions.entries()];
  return Object.entries(positions ?? {});
}

/** encodeToken turns {topic: {epoch, seq}} (or a Map) into a resume token. */
export function encodeToken(positions) {
  const list = entriesOf(positions).map(([topic, p]) => ({ name: utf8.encode(topic), epoch: utf8.encode(p.epoch ?? ""), seq: p.seq ?? 0 }));
  list.sort((a, b) => compareBytes(a.name, b.name));
  const out = [1];
  putUvarint(out, list.length);
  let prev = new Uint8Array(0);
  for (const e of list) {
    let shared = 0;
    while (shared < prev.length && shared < e.name.length && prev[shared] === e.name[shared]) shared++;
    putUvarint(out, shared);
    putBytes(out, e.name.subarray(shared));
    putBytes(out, e.epoch);
    putUvarint(out, e.seq);
    prev = e.name;
  }
  return toBase64URL(out);
}

/** decodeToken turns a resume token into a Map of topic → {epoch, seq}. */
export function decodeToken(token) {
  const b = fromBase64URL(token);
  let i = 0;
  const bad = () => new HeraldError(-32602, "malformed resume token");
  const uvarint = () => {
    let n = 0;
    let mul = 1;
    for (let k = 0; k < 10; k++) {
      if (i >= b.length) throw bad();
      const c = b[i++];
      n += (c & 0x7f) * mul;
      if (c < 0x80) return n;
      mul *= 0x80;
    }
    throw bad();
  };
  const bytes = () => {
    const n = uvarint();
    if (i + n > b.length) throw bad();
    return b.subarray(i, (i += n));
  };
  if (b[i++] !== 1) throw bad();
  const count = uvarint();
  const out = new Map();
  let prev = new Uint8Array(0);
  for (let k = 0; k < count; k++) {
    const shared = uvarint();
    if (shared > prev.length) throw bad();
    const rest = bytes();
    const name = new Uint8Array(shared + rest.length);
    name.set(prev.subarray(0, shared));
    name.set(rest, shared);
    const epoch = fromUTF8.decode(bytes());
    out.set(fromUTF8.decode(name), { epoch, seq: uvarint() });
    prev = name;
  }
  if (i !== b.length) throw bad();
  return out;
}

/** matches reports whether topic name matches filter (MQTT wildcards + and #). */
export function matches(filter, name) {
  if (filter === name) return true;
  const f = filter.split("/");
  const n = name.split("/");
  if ((f[0] === "+" || f[0] === "#") && name.startsWith("$")) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "#") return true;
    if (i >= n.length) return false;
    if (f[i] !== "+" && f[i] !== n[i]) return false;
  }
  return f.length === n.length;
}

const isWildcard = (filter) => filter.split("/").some((l) => l === "+" || l === "#");

// ---------------------------------------------------------------------------

const sleep = (ms, signal) =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });

/** A Herald client. Create it with connect(). */
export class Client extends EventTarget {
  constructor(url, options = {}) {
    super();
    // Options given as undefined mean "the default".
    options = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.options = {
      ...DEFAULTS,
      ...options,
      paths: { ...DEFAULTS.paths, ...options.paths },
      backoff: { ...DEFAULTS.backoff, ...options.backoff },
    };
    const base = typeof location !== "undefined" ? location.href : undefined;
    // Several URLs: the nodes of a cluster, tried in turn (#run).
    this.urls = (Array.isArray(url) ? url : [url]).map((u) => new URL(u, base));
    if (this.urls.length === 0) throw new HeraldError(-32600, "no URL to connect to");
    this.urlIndex = 0;
    this.url = this.urls[0];
    this.WebSocket = options.WebSocket ?? globalThis.WebSocket;
    this.EventSource = options.EventSource ?? globalThis.EventSource;
    this.fetch = options.fetch ?? globalThis.fetch?.bind(globalThis);
    this.order = this.options.transports.filter((t) => {
      if (t === "websocket") return !!this.WebSocket;
      if (t === "sse") return !!this.EventSource && !!this.fetch;
      if (t === "longpoll") return !!this.fetch;
      return false;
    });
    if (this.order.length === 0) throw new HeraldError(-32600, `no usable transport among ${this.options.transports.join(", ")}`);
    this.state = "connecting";
    this.transport = null; // name of the transport in use
    this.positions = new Map(); // topic → {epoch, seq}
    this.subs = new Map(); // filter → {handlers: Set, onMissed: Set, waiters: [], confirmed}
    this.pending = new Map(); // request id → {resolve, reject, timer}
    this.outbox = []; // messages waiting for a transport
    this.nextID = 1;
    this.cur = 0; // index in order of the transport to try first
    this.openedAt = 0;
    this.shortLived = 0; // connections in a row that died soon after opening
    this.t = null; // the open transport
    this.stop = new AbortController();
    if (options.since) this.#mergePositions(options.since);
    // Start once the caller has had the chance to add listeners.
    queueMicrotask(() => this.#run(false));
  }

  /** on(type, fn) listens to "state", "open", "close", "missed", "message" or "log"; it returns a function that stops listening. */
  on(type, fn) {
    const l = (e) => fn(e.detail, e);
    this.addEventListener(type, l);
    return () => this.removeEventListener(type, l);
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  #log(text) {
    this.#emit("log", text);
  }

  #setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.#emit("state", { state, transport: this.transport });
  }

  // --- connection management ------------------------------------------------

  async #run(reconnecting) {
    let round = 0;
    const signal = this.stop.signal;
    if (reconnecting) await sleep(this.#delay(round++), signal);
    while (!signal.aborted) {
      for (let i = 0; i < this.order.length && !signal.aborted; i++) {
        const k = (this.cur + i) % this.order.length;
        const name = this.order[k];
        this.#setState(reconnecting ? "reconnecting" : "connecting");
        this.#log(`connecting over ${name}`);
        const t = this.#make(name);
        try {
          await t.open(this.options.openTimeout);
        } catch (err) {
          t.close();
          this.#log(`${name} did not open: ${err.message}`);
          continue;
        }
        if (signal.aborted) {
          t.close();
          return;
        }
        this.cur = k;
        this.#attach(t, name);
        return;
      }
      // No transport opened on this node: try the next one (a cluster's
      // other nodes), waiting only once every node has failed.
      if (this.urls.length > 1) {
        this.urlIndex = (this.urlIndex + 1) % this.urls.length;
        this.url = this.urls[this.urlIndex];
        this.#log(`moving to ${this.url.href}`);
        if (this.urlIndex !== 0) continue;
      }
      if (!signal.aborted) await sleep(this.#delay(round++), signal);
    }
  }

  // #delay: exponential backoff with jitter (half fixed, half random), so
  // that clients of a restarted server do not all come back at once.
  #delay(round) {
    const { initial, max, factor } = this.options.backoff;
    const d = Math.min(max, initial * factor ** round);
    return d / 2 + Math.random() * (d / 2);
  }

  #make(name) {
    const hooks = {
      receive: (msg) => this.#receive(msg),
      closed: (t, reason) => this.#closed(t, reason),
      state: (t, state) => t === this.t && this.#setState(state),
      log: (text) => this.#log(text),
    };
    if (name === "websocket") return new WebSocketTransport(this, hooks);
    if (name === "sse") return new StreamTransport(this, hooks);
    return new PollTransport(this, hooks);
  }

  #attach(t, name) {
    this.t = t;
    this.openedAt = Date.now();
    this.transport = name;
    this.#log(`connected over ${name}`);
    this.#setState("open");
    this.#emit("open", { transport: name });
    for (const [filter, sub] of this.subs) this.#sendSubscribe(filter, sub);
    const queued = this.outbox.splice(0);
    for (const msg of queued) t.send(msg);
  }

  #closed(t, reason) {
    if (t !== this.t) return;
    this.t = null;
    this.#log(`${this.transport} closed: ${reason}`);
    this.#emit("close", { transport: this.transport, reason });
    // What was sent on it will not be answered: the connection or
    // session is gone. (Within a session, a POST that failed on the way
    // is retried, so nothing is lost until the session itself is.)
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new HeraldError(ErrorCodes.DISCONNECTED, `connection lost (${reason}) before the answer`));
    }
    this.pending.clear();
    for (const sub of this.subs.values()) sub.confirmed = false;
    if (this.stop.signal.aborted) return;
    // A transport that keeps dying right after it opened (a proxy that
    // accepts a WebSocket, then kills it) counts as one that does not open.
    if (Date.now() - this.openedAt < this.options.openTimeout) {
      if (++this.shortLived >= 2) {
        this.shortLived = 0;
        this.cur = (this.cur + 1) % this.order.length;
        this.#log(`${this.transport} keeps failing; trying ${this.order[this.cur]} first`);
      }
    } else {
      this.shortLived = 0;
    }
    this.#setState("reconnecting");
    this.#run(true);
  }

  /** close ends the client; pending requests are rejected. */
  close() {
    if (this.stop.signal.aborted) return;
    this.stop.abort();
    this.t?.close();
    this.t = null;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new HeraldError(ErrorCodes.CLOSED, "client closed"));
    }
    this.pending.clear();
    this.#setState("closed");
  }

  // --- requests ----------------------------------------------------------------

  #send(msg) {
    if (this.t) this.t.send(msg);
    else this.outbox.push(msg);
  }

  /** request calls a server method; the promise settles with its result or a HeraldError. */
  request(method, params, { timeout = this.options.requestTimeout } = {}) {
    if (this.stop.signal.aborted) return Promise.reject(new HeraldError(ErrorCodes.CLOSED, "client closed"));
    const id = this.nextID++;
    const msg = { jsonrpc: "2.0", id, method };
    if (params !== undefined) msg.params = params;
    return new Promise((resolve, reject) => {
      const timer =
        timeout > 0 &&
        setTimeout(() => {
          this.pending.delete(id);
          reject(new HeraldError(ErrorCodes.TIMEOUT, `${method}: no answer within ${timeout} ms`));
        }, timeout);
      this.pending.set(id, { resolve, reject, timer });
      this.#send(msg);
    });
  }

  /** notify sends a JSON-RPC notification: no answer, no promise. */
  notify(method, params) {
    const msg = { jsonrpc: "2.0", method };
    if (params !== undefined) msg.params = params;
    this.#send(msg);
  }

  /** publish sends data (a string, or any JSON value) to topic; it resolves with the message's {epoch, seq}. */
  publish(topic, data, { headers, timeout } = {}) {
    const params = { topic, data };
    if (headers) params.headers = headers;
    return this.request("publish", params, { timeout });
  }

  // --- subscriptions -------------------------------------------------------------

  /**
   * subscribe calls handler(data, message) for every message of topic (a
   * filter; + and # are wildcards). After a reconnect it resumes from the
   * last position seen. since (a resume token, {epoch, seq} or {topic:
   * {epoch, seq}}) starts from an earlier point. onMissed(info) hears of
   * messages history could no longer give. The promise settles when the
   * server confirms (or refuses); if that takes longer than the timeout,
   * for instance while the client cannot connect, it rejects but the
   * subscription stays and resumes once connected (unsubscribe to drop it).
   */
  subscribe(topic, handler, { since, onMissed, timeout } = {}) {
    if (since !== undefined) this.#mergePositions(since, topic);
    let sub = this.subs.get(topic);
    const fresh = !sub;
    if (fresh) {
      sub = { handlers: new Set(), onMissed: new Set(), waiters: [], confirmed: false, result: null };
      this.subs.set(topic, sub);
    }
    sub.handlers.add(handler);
    if (onMissed) sub.onMissed.add(onMissed);
    const client = this;
    const subscription = {
      topic,
      unsubscribe: () => this.unsubscribe(topic, handler),
      get position() {
        return client.positions.get(topic) ?? null;
      },
    };
    if (sub.confirmed && since === undefined) return Promise.resolve(subscription);
    const done = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new HeraldError(ErrorCodes.TIMEOUT, `subscribe ${topic}: no answer`)), timeout ?? this.options.requestTimeout);
      sub.waiters.push({
        resolve: () => (clearTimeout(timer), resolve(subscription)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
    });
    if (this.t && (fresh || since !== undefined)) this.#sendSubscribe(topic, sub);
    return done;
  }

  /** unsubscribe removes handler (all handlers if omitted) from topic; the server subscription goes with the last one. */
  async unsubscribe(topic, handler) {
    const sub = this.subs.get(topic);
    if (!sub) return false;
    if (handler) sub.handlers.delete(handler);
    if (handler && sub.handlers.size > 0) return true;
    this.subs.delete(topic);
    if (!this.t) return true;
    return this.request("unsubscribe", { topic });
  }

  #sendSubscribe(topic, sub) {
    const params = { topic };
    const since = this.#sinceFor(topic);
    if (since) params.since = since;
    this.request("subscribe", params).then(
      (result) => {
        if (this.subs.get(topic) !== sub) return;
        sub.confirmed = true;
        if (result?.position && !this.positions.has(topic)) this.positions.set(topic, result.position);
        for (const w of sub.waiters.splice(0)) w.resolve();
      },
      (err) => {
        if (err.code === ErrorCodes.DISCONNECTED) return; // sent again on the next connection
        this.subs.delete(topic);
        for (const w of sub.waiters.splice(0)) w.reject(err);
      },
    );
  }

  // #sinceFor: the positions this client holds under filter, as a resume token.
  #sinceFor(filter) {
    const mine = new Map();
    for (const [topic, p] of this.positions) if (matches(filter, topic)) mine.set(topic, p);
    return mine.size > 0 ? encodeToken(mine) : undefined;
  }

  #mergePositions(since, topic) {
    if (typeof since === "string") since = decodeToken(since);
    else if (since && typeof since.seq === "number" && topic && !isWildcard(topic)) since = { [topic]: since };
    for (const [t, p] of entriesOf(since)) this.positions.set(t, { epoch: p.epoch ?? "", seq: p.seq ?? 0 });
  }

  /** token returns the resume token of every position this client holds. */
  token() {
    return encodeToken(this.positions);
  }

  // --- what the server sends -------------------------------------------------------

  #receive(msg) {
    if (Array.isArray(msg)) {
      for (const m of msg) this.#receive(m);
      return;
    }
    if (!msg || typeof msg !== "object") return;
    if (msg.method === "message") return this.#message(msg.params ?? {});
    if (msg.method === "missed") return this.#missed(msg.params ?? {});
    if (msg.method) return this.#emit("notification", msg);
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
    if (msg.error) p.reject(new HeraldError(msg.error.code, msg.error.message, msg.error.data));
    else p.resolve(msg.result);
  }

  #message(m) {
    const known = this.positions.get(m.topic);
    if (known && known.epoch === m.epoch && m.seq <= known.seq) return; // seen already
    this.positions.set(m.topic, { epoch: m.epoch, seq: m.seq });
    const data = m.encoding === "base64" ? Uint8Array.from(atob(m.data), (c) => c.charCodeAt(0)) : m.data;
    for (const [filter, sub] of this.subs) {
      if (!matches(filter, m.topic)) continue;
      for (const h of sub.handlers) {
        try {
          h(data, m);
        } catch (err) {
          queueMicrotask(() => {
            throw err;
          });
        }
      }
    }
    this.#emit("message", m);
  }

  #missed(g) {
    if (g.epoch !== undefined) this.positions.set(g.topic, { epoch: g.epoch, seq: g.to ?? 0 });
    for (const [filter, sub] of this.subs) {
      if (filter !== g.topic && !matches(filter, g.topic)) continue;
      for (const h of sub.onMissed) h(g);
    }
    this.#emit("missed", g);
  }

  // --- URLs ---------------------------------------------------------------------

  endpoint(name, query = "") {
    const u = new URL(this.options.paths[name], this.url);
    if (name === "websocket") u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    if (query) u.search = (u.search ? u.search + "&" : "?") + query;
    // The token authenticates what opens a connection or session (later
    // requests name the session): browsers cannot set headers on a
    // WebSocket, so it goes in the URL.
    const token = typeof this.options.token === "function" ? this.options.token() : this.options.token;
    if (token && !query.startsWith("session=")) u.searchParams.set("access_token", token);
    return u.href;
  }

  /** refresh replaces the connection's credentials in band; later reconnects use the new token too. */
  async refresh(token) {
    const result = await this.request("refresh", { token });
    if (typeof this.options.token !== "function") this.options.token = token;
    return result;
  }
}

// ---------------------------------------------------------------------------
// Transports. Each has open(timeout) → Promise, send(msg), close(); it
// calls hooks.receive(msg) for what arrives and hooks.closed(t, reason)
// once, when it can no longer be used.

class WebSocketTransport {
  constructor(client, hooks) {
    this.c = client;
    this.hooks = hooks;
  }

  open(timeout) {
    return new Promise((resolve, reject) => {
      let opened = false;
      const ws = new this.c.WebSocket(this.c.endpoint("websocket"), "herald.v1");
      this.ws = ws;
      const timer = setTimeout(() => {
        reject(new Error(`no WebSocket within ${timeout} ms`));
        ws.close();
      }, timeout);
      ws.onopen = () => {
        clearTimeout(timer);
        if (ws.protocol !== "herald.v1") {
          reject(new Error("the server did not accept herald.v1"));
          ws.close();
          return;
        }
        opened = true;
        resolve();
      };
      ws.onmessage = (e) => {
        let msg;
        try {
          msg = JSON.parse(e.data);
        } catch {
          this.hooks.log(`not JSON: ${String(e.data).slice(0, 80)}`);
          return;
        }
        this.hooks.receive(msg);
      };
      ws.onclose = (e) => {
        clearTimeout(timer);
        if (!opened) reject(new Error(`closed before opening (code ${e.code})`));
        else this.#end(`code ${e.code}${e.reason ? ": " + e.reason : ""}`);
      };
      ws.onerror = () => {}; // onclose follows with the code
    });
  }

  #end(reason) {
    if (this.done) return;
    this.done = true;
    this.hooks.closed(this, reason);
  }

  send(msg) {
    if (this.ws?.readyState === 1) this.ws.send(JSON.stringify(msg));
  }

  close() {
    this.done = true;
    this.ws?.close(1000);
  }
}

// HTTPSession is what streaming and long polling share: the session, the
// POSTs (one at a time, numbered so the server drops a retried one) and
// the acknowledgements.
class HTTPSession {
  constructor(client, hooks, name) {
    this.c = client;
    this.hooks = hooks;
    this.name = name;
    this.id = null;
    this.seen = 0; // highest message number received
    this.acked = 0; // highest number the server knows we have
    this.postSeq = 0;
    this.outbox = [];
    this.posting = false;
    this.stop = new AbortController();
  }

  get credentials() {
    return this.c.options.withCredentials ? "include" : "same-origin";
  }

  url(query) {
    return this.c.endpoint(this.name, `session=${encodeURIComponent(this.id)}${query ? "&" + query : ""}`);
  }

  async create(timeout) {
    const ctl = AbortSignal.any ? AbortSignal.any([this.stop.signal, AbortSignal.timeout(timeout)]) : this.stop.signal;
    const resp = await this.c.fetch(this.c.endpoint(this.name), { method: "POST", credentials: this.credentials, signal: ctl });
    const body = await resp.json().catch(() => ({}));
    if (resp.status !== 201) throw new Error(`${resp.status} ${body.error?.message ?? ""}`);
    this.id = body.session;
    this.pollTimeout = body.pollTimeout ?? 25000;
  }

  // accept filters messages by number: at-least-once becomes exactly once.
  accept(n) {
    if (n <= this.seen) return false;
    this.seen = n;
    return true;
  }

  send(msg) {
    this.outbox.push(JSON.stringify(msg));
    this.#pump();
  }

  async #pump() {
    if (this.posting || this.outbox.length === 0 || this.stop.signal.aborted) return;
    this.posting = true;
    const body = this.outbox.splice(0).join("\n");
    const seq = ++this.postSeq;
    for (let attempt = 0; !this.stop.signal.aborted; attempt++) {
      let status = 0;
      try {
        const ack = this.seen;
        const resp = await this.c.fetch(this.url(`seq=${seq}&ack=${ack}`), {
          method: "POST",
          body,
          // text/plain keeps a cross-origin POST a "simple request" (no preflight).
          headers: { "Content-Type": "text/plain;charset=UTF-8" },
          credentials: this.credentials,
          signal: this.stop.signal,
        });
        status = resp.status;
        await resp.arrayBuffer().catch(() => {});
        if (resp.ok) {
          this.acked = Math.max(this.acked, ack);
          break;
        }
      } catch {
        if (this.stop.signal.aborted) return;
      }
      if (status === 404 || status === 410) return this.fail(`session gone (${status})`);
      if (status === 413 || status === 400) {
        this.hooks.log(`POST refused with ${status}; its messages are dropped`);
        break;
      }
      // Network error or 5xx: the same body under the same number, so the
      // server runs it once however many attempts reach it.
      await sleep(Math.min(8000, 250 * 2 ** attempt), this.stop.signal);
    }
    this.posting = false;
    this.#pump();
  }

  // ackSoon acknowledges what arrived on a stream (long polling
  // acknowledges with each poll), so the server can free its log.
  ackSoon() {
    const { ackEvery, ackDelay } = this.c.options;
    if (this.seen - this.acked >= ackEvery) return this.#ack();
    if (!this.ackTimer) this.ackTimer = setTimeout(() => this.#ack(), ackDelay);
  }

  #ack() {
    clearTimeout(this.ackTimer);
    this.ackTimer = null;
    const ack = this.seen;
    if (ack <= this.acked || this.stop.signal.aborted) return;
    this.acked = ack;
    this.c
      .fetch(this.url(`ack=${ack}`), { method: "POST", credentials: this.credentials, signal: this.stop.signal })
      .then((r) => r.arrayBuffer())
      .catch(() => {});
  }

  fail(reason) {
    if (this.done) return;
    this.done = true;
    this.stop.abort();
    clearTimeout(this.ackTimer);
    this.hooks.closed(this.owner, reason);
  }

  close() {
    if (this.stop.signal.aborted) return;
    this.done = true;
    this.stop.abort();
    clearTimeout(this.ackTimer);
    if (this.id) {
      // Tell the server at once rather than let the session expire.
      this.c.fetch(this.url(""), { method: "DELETE", credentials: this.credentials, keepalive: true }).catch(() => {});
    }
  }
}

class StreamTransport {
  constructor(client, hooks) {
    this.c = client;
    this.hooks = hooks;
    this.s = new HTTPSession(client, hooks, "sse");
    this.s.owner = this;
  }

  async open(timeout) {
    await this.s.create(timeout);
    await new Promise((resolve, reject) => {
      let opened = false;
      const es = new this.c.EventSource(this.s.url(""), { withCredentials: this.c.options.withCredentials });
      this.es = es;
      const timer = setTimeout(() => {
        es.close();
        reject(new Error(`no stream within ${timeout} ms`));
      }, timeout);
      es.onopen = () => {
        clearTimeout(timer);
        if (!opened) {
          opened = true;
          resolve();
        } else this.hooks.state(this, "open"); // EventSource reconnected by itself: same session
      };
      es.onmessage = (e) => {
        if (!this.s.accept(Number(e.lastEventId))) return;
        let msg;
        try {
          msg = JSON.parse(e.data);
        } catch {
          return;
        }
        this.hooks.receive(msg);
        this.s.ackSoon();
      };
      es.addEventListener("close", (e) => {
        let why = "session ended";
        try {
          const c = JSON.parse(e.data);
          why = `session ended (${c.code}${c.reason ? ": " + c.reason : ""})`;
        } catch {}
        es.close();
        this.s.fail(why);
      });
      es.onerror = () => {
        if (!opened) {
          clearTimeout(timer);
          es.close();
          reject(new Error("the stream failed to open"));
          return;
        }
        if (es.readyState === 2) {
          // Refused (the session is unknown after a restart, or ended).
          this.s.fail("stream refused");
        } else {
          this.hooks.state(this, "reconnecting"); // EventSource retries with Last-Event-ID
        }
      };
    });
  }

  send(msg) {
    this.s.send(msg);
  }

  close() {
    this.es?.close();
    this.s.close();
  }
}

class PollTransport {
  constructor(client, hooks) {
    this.c = client;
    this.hooks = hooks;
    this.s = new HTTPSession(client, hooks, "longpoll");
    this.s.owner = this;
  }

  async open(timeout) {
    await this.s.create(timeout);
    this.#loop();
  }

  async #loop() {
    const s = this.s;
    let failures = 0;
    while (!s.stop.signal.aborted) {
      let resp;
      try {
        // The server holds a poll up to pollTimeout; give up on one that
        // outlives it by far (a dead connection) and poll again.
        const signal = AbortSignal.any ? AbortSignal.any([s.stop.signal, AbortSignal.timeout(s.pollTimeout + 15000)]) : s.stop.signal;
        resp = await this.c.fetch(s.url(`ack=${s.seen}`), { credentials: s.credentials, signal });
      } catch {
        if (s.stop.signal.aborted) return;
        failures++;
        this.hooks.state(this, "reconnecting");
        await sleep(Math.min(this.c.options.backoff.max, this.c.options.backoff.initial * 2 ** Math.min(failures, 8)) * (0.5 + Math.random() / 2), s.stop.signal);
        continue;
      }
      if (resp.status === 404 || resp.status === 410) {
        await resp.arrayBuffer().catch(() => {});
        return s.fail(`session gone (${resp.status})`);
      }
      let body;
      try {
        body = await resp.json();
      } catch {
        body = null;
      }
      if (!resp.ok || !body) {
        failures++;
        await sleep(Math.min(this.c.options.backoff.max, 500 * 2 ** Math.min(failures, 8)), s.stop.signal);
        continue;
      }
      if (failures > 0) this.hooks.state(this, "open");
      failures = 0;
      const msgs = body.messages ?? [];
      for (let i = 0; i < msgs.length; i++) if (s.accept(body.seq + i)) this.hooks.receive(msgs[i]);
      s.acked = s.seen;
      if (body.closed) {
        return s.fail(`session ended (${body.closed.code}${body.closed.reason ? ": " + body.closed.reason : ""})`);
      }
    }
  }

  send(msg) {
    this.s.send(msg);
  }

  close() {
    this.s.close();
  }
}
