"""Debian's stomp.py sends COUNT messages "<PREFIX><n>" to STOMP_DEST over
TCP (STOMP_ADDR), one every INTERVAL seconds, each with a receipt that it
awaits before the next; it prints "sent <body>" once the receipt came
(the server holds the message). For the cluster queue tests."""

import os
import queue
import sys
import time

import stomp

host, port = os.environ["STOMP_ADDR"].rsplit(":", 1)
dest = os.environ["STOMP_DEST"]
count = int(os.environ.get("COUNT", "1"))
interval = float(os.environ.get("INTERVAL", "0"))
prefix = os.environ.get("PREFIX", "m-")


class Listener(stomp.ConnectionListener):
    def __init__(self):
        self.receipts = queue.Queue()

    def on_receipt(self, frame):
        self.receipts.put(frame.headers["receipt-id"])

    def on_error(self, frame):
        print("error " + frame.headers.get("message", ""), file=sys.stderr, flush=True)
        os._exit(2)


conn = stomp.Connection12([(host, int(port))], reconnect_attempts_max=1, heartbeats=(0, 0))
listener = Listener()
conn.set_listener("s", listener)
conn.connect(wait=True)
next_at = time.monotonic()
for i in range(count):
    body = prefix + str(i)
    conn.send(destination=dest, body=body, headers={"receipt": body})
    if listener.receipts.get(timeout=30) != body:
        sys.exit("wrong receipt")
    print("sent " + body, flush=True)
    next_at += interval
    time.sleep(max(0.0, next_at - time.monotonic()))
conn.disconnect(receipt="bye")
print("finished", flush=True)
