// Type declarations for herald.js, Herald's client.

export const VERSION: string;

/** Where a client stands in one topic's stream. */
export interface Position {
  epoch: string;
  seq: number;
}

/** A published message as the client sees it (the JSON-RPC "message" params). */
export interface Message<T = unknown> {
  topic: string;
  seq: number;
  epoch: string;
  /** A JSON value, a string for text, or base64 text with encoding "base64". */
  data: T;
  encoding?: "base64";
  headers?: Record<string, string>;
}

/** Messages history could no longer give (the "missed" notification). */
export interface Missed {
  /** The topic; for a stream whose resume point was unusable, possibly the filter. */
  topic: string;
  epoch?: string;
  from?: number;
  to?: number;
  /** The client's epoch is gone (a restart): anything after its old position is lost. */
  reset?: boolean;
}

export type TransportName = "websocket" | "sse" | "longpoll";
export type State = "connecting" | "open" | "reconnecting" | "closed";

/** A resume token, an {epoch, seq} for an exact topic, or {topic: {epoch, seq}}. */
export type Since = string | Position | Record<string, Position> | Map<string, Position>;

export interface Options {
  /** Transports to try, in order. Default ["websocket", "sse", "longpoll"]; ["longpoll"] forces one. */
  transports?: TransportName[];
  /** Endpoint paths relative to the URL. Defaults: /ws, /stream, /poll. */
  paths?: Partial<Record<TransportName, string>>;
  /** How long a transport may take to open before the next is tried (ms). Default 4000. */
  openTimeout?: number;
  /** Default request timeout (ms). Default 30000. */
  requestTimeout?: number;
  /** Reconnection delays: initial × factor^n, capped at max, half of each random. */
  backoff?: { initial?: number; max?: number; factor?: number };
  /** Send cookies to a server of another origin (it must allow the origin). */
  withCredentials?: boolean;
  /** Bearer token (or a function giving the current one) sent as access_token when a connection or session opens. */
  token?: string | (() => string);
  /** Positions to resume from on every subscription they match. */
  since?: Since;
  /** Stream acknowledgements: after this many messages or this long (ms). */
  ackEvery?: number;
  ackDelay?: number;
  /** Implementations outside browsers (e.g. the npm "ws" and "eventsource" packages). */
  WebSocket?: unknown;
  EventSource?: unknown;
  fetch?: typeof fetch;
}

export interface RequestOptions {
  /** Milliseconds; 0 waits forever. */
  timeout?: number;
}

export interface SubscribeOptions extends RequestOptions {
  /** Start from here instead of now (later reconnects resume from the last message seen). */
  since?: Since;
  onMissed?: (missed: Missed) => void;
}

export interface Subscription {
  readonly topic: string;
  /** The last position seen on this topic (exact topics). */
  readonly position: Position | null;
  unsubscribe(): Promise<boolean>;
}

export interface EventDetails {
  state: { state: State; transport: TransportName | null };
  open: { transport: TransportName };
  close: { transport: TransportName; reason: string };
  missed: Missed;
  message: Message;
  notification: { method: string; params?: unknown };
  log: string;
}

export class HeraldError extends Error {
  /** A JSON-RPC error code (see ErrorCodes for the client's own). */
  code: number;
  data?: unknown;
}

export const ErrorCodes: {
  readonly TIMEOUT: -32008;
  readonly DISCONNECTED: -32098;
  readonly CLOSED: -32099;
};

export class Client extends EventTarget {
  readonly state: State;
  readonly transport: TransportName | null;
  /** Last position per topic. */
  readonly positions: Map<string, Position>;

  request<T = unknown>(method: string, params?: unknown, options?: RequestOptions): Promise<T>;
  /** Replace the connection's credentials without reconnecting (server method "refresh"). */
  refresh(token: string): Promise<{ subject: string; expires?: number; revoked?: string[] }>;
  notify(method: string, params?: unknown): void;
  publish(topic: string, data: unknown, options?: RequestOptions & { headers?: Record<string, string> }): Promise<Position>;
  /**
   * Calls handler for every message of topic (a filter: + one level, # the rest) and resumes
   * from the last message seen after any reconnect. Settles when the server confirms; on a
   * timeout it rejects but the subscription stays and resumes once connected.
   */
  subscribe<T = unknown>(topic: string, handler: (data: T, message: Message<T>) => void, options?: SubscribeOptions): Promise<Subscription>;
  unsubscribe(topic: string, handler?: (data: any, message: Message) => void): Promise<boolean>;
  /** The resume token of every position held: the same string SSE uses as its event id. */
  token(): string;
  on<K extends keyof EventDetails>(type: K, listener: (detail: EventDetails[K], event: CustomEvent<EventDetails[K]>) => void): () => void;
  close(): void;
}

/** url may list the nodes of a cluster: the client moves to the next when its node goes away. */
export function connect(url: string | URL | Array<string | URL>, options?: Options): Client;
export function encodeToken(positions: Record<string, Position> | Map<string, Position>): string;
export function decodeToken(token: string): Map<string, Position>;
/** Whether a topic name matches a filter (+ one level, # the rest). */
export function matches(filter: string, name: string): boolean;
