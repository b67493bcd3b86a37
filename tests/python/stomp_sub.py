"""Debian's stomp.py subscribes over TCP and prints each message it
receives as a JSON line, for Go tests that publish by other means (the
HTTP publish API). Env: STOMP_ADDR (host:port), STOMP_DEST, COUNT.
Prints "ready" once the subscription is confirmed by a receipt."""

import json
import os
import queue
import sys

import stomp

host, port = os.environ["STOMP_ADDR"].rsplit(":", 1)
dest = os.environ["STOMP_DEST"]
count = int(os.environ.get("COUNT", "1"))


class Listener(stomp.ConnectionListener):
    def __init__(self):
        self.messages = queue.Queue()
        self.receipts = queue.Queue()

    def on_message(self, frame):
        self.messages.put(frame)

    def on_receipt(self, frame):
        self.receipts.put(frame.headers["receipt-id"])


conn = stomp.Connection12([(host, int(port))], reconnect_attempts_max=1)
listener = Listener()
conn.set_listener("sub", listener)
conn.connect(wait=True)
conn.subscribe(destination=dest, id="1", ack="auto", headers={"receipt": "sub-1"})
if listener.receipts.get(timeout=10) != "sub-1":
    sys.exit("wrong receipt")
print("ready", flush=True)
for _ in range(count):
    f = listener.messages.get(timeout=20)
    print(json.dumps({"destination": f.headers.get("destination"), "content-type": f.headers.get("content-type"), "body": f.body}), flush=True)
conn.disconnect()
