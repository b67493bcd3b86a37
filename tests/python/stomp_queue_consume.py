"""Debian's stomp.py consumes a STOMP queue and prints each MESSAGE as a
JSON line (body, redelivered), for the cluster queue tests.
Env: STOMP_ADDR (host:port), STOMP_DEST, ACK (auto, client,
client-individual; default client-individual), PREFETCH (prefetch-count,
optional), MODE:
  hold        never acknowledge (the node or the client goes away)
  ack         acknowledge each message
  nack-first  NACK a message delivered for the first time, ACK one
              redelivered
  tx-commit   ACK each message inside a transaction, then COMMIT it
  tx-abort    ACK each message inside a transaction, then ABORT it
COUNT, if set: after that many messages, print "done" and DISCONNECT
(acknowledging nothing more). Prints "ready" once the subscription is
confirmed by a receipt."""

import json
import os
import queue
import sys

import stomp

host, port = os.environ["STOMP_ADDR"].rsplit(":", 1)
dest = os.environ["STOMP_DEST"]
ack = os.environ.get("ACK", "client-individual")
mode = os.environ.get("MODE", "ack")
count = int(os.environ.get("COUNT", "0"))


class Listener(stomp.ConnectionListener):
    def __init__(self):
        self.messages = queue.Queue()
        self.receipts = queue.Queue()

    def on_message(self, frame):
        self.messages.put(frame)

    def on_receipt(self, frame):
        self.receipts.put(frame.headers["receipt-id"])

    def on_error(self, frame):
        print("error " + frame.headers.get("message", ""), file=sys.stderr, flush=True)


conn = stomp.Connection12([(host, int(port))], reconnect_attempts_max=1, heartbeats=(0, 0))
listener = Listener()
conn.set_listener("q", listener)
conn.connect(wait=True)
headers = {"receipt": "sub-1"}
if os.environ.get("PREFETCH"):
    headers["prefetch-count"] = os.environ["PREFETCH"]
conn.subscribe(destination=dest, id="1", ack=ack, headers=headers)
if listener.receipts.get(timeout=20) != "sub-1":
    sys.exit("wrong receipt")
print("ready", flush=True)
n = 0
while True:
    f = listener.messages.get()
    redelivered = f.headers.get("redelivered") == "true"
    print(json.dumps({"body": f.body, "redelivered": redelivered}), flush=True)
    if ack != "auto":
        if mode == "ack" or (mode == "nack-first" and redelivered):
            conn.ack(f.headers["ack"])
        elif mode == "nack-first":
            conn.nack(f.headers["ack"])
        elif mode in ("tx-commit", "tx-abort"):
            tx = "tx-%d" % n
            conn.begin(transaction=tx)
            conn.ack(f.headers["ack"], transaction=tx)
            if mode == "tx-commit":
                conn.commit(transaction=tx)
            else:
                conn.abort(transaction=tx)
    n += 1
    if count and n >= count:
        print("done", flush=True)
        conn.disconnect(receipt="bye")
        break
