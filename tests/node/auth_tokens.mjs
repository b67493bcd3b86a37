// HS256 tokens for the auth scripts, signed with the secret the Go test
// passes in HERALD_SECRET (kid "test", audience "herald-test").
import { createHmac } from "node:crypto";

const secret = process.env.HERALD_SECRET;
if (!secret) throw new Error("HERALD_SECRET is not set");

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");

// token signs claims for sub expiring in ttl seconds.
export function token(sub, ttl, extra = {}) {
  const head = b64({ alg: "HS256", typ: "JWT", kid: "test" });
  const body = b64({ sub, aud: "herald-test", exp: Math.floor(Date.now() / 1000) + ttl, ...extra });
  const sig = createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}

export const chatter = (ttl = 3600) => token("alice", ttl, { roles: ["chatter"] });

export function assert(cond, what) {
  if (!cond) throw new Error(`assertion failed: ${what}`);
}

export function within(what, promise, ms = 10000) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}
