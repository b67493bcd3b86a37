"""Debian's stomp.py: one connection to a cluster node (PUB_ADDR) sends N
messages to /topic/pipe.s, each with a receipt, without waiting for any;
a subscriber on another node (SUB_ADDR) collects them. Prints one JSON
line: the receipt ids in arrival order, any ERROR frames, and the bodies
the subscriber received in order (cmd/herald/cluster_pipeline_test.go,
ADR 0018). Env: PUB_ADDR, SUB_ADDR (host:port), N."""

import json
import os
import queue
import sys

import stomp

n = int(os.environ.get("N", "300"))
dest = "/topic/pipe.s"


def addr(env):
    host, port = os.environ[env].rsplit(":", 1)
    return [(host, int(port))]


class Listener(stomp.ConnectionListener):
    def __init__(self):
        self.messages = queue.Queue()
        self.receipts = queue.Queue()
        self.errors = []

    def on_message(self, frame):
        self.messages.put(frame.body)

    def on_receipt(self, frame):
        self.receipts.put(frame.headers["receipt-id"])

    def on_error(self, frame):
        self.errors.append(frame.headers.get("message", ""))
        self.receipts.put("ERROR")


sub, sl = stomp.Connection12(addr("SUB_ADDR"), reconnect_attempts_max=1), Listener()
sub.set_listener("l", sl)
sub.connect(wait=True)
sub.subscribe(destination=dest, id="1", ack="auto", headers={"receipt": "sub"})
if sl.receipts.get(timeout=10) != "sub":
    sys.exit("no SUBSCRIBE receipt")

pub, pl = stomp.Connection12(addr("PUB_ADDR"), reconnect_attempts_max=1), Listener()
pub.set_listener("l", pl)
pub.connect(wait=True)
for i in range(n):
    pub.send(destination=dest, body=str(i), headers={"receipt": "r%d" % i})
receipts = [pl.receipts.get(timeout=30) for _ in range(n)]
got = [sl.messages.get(timeout=30) for _ in range(n)]
print(json.dumps({"receipts": receipts, "errors": pl.errors, "got": got}), flush=True)
pub.disconnect()
sub.disconnect()
