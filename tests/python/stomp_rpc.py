"""Debian's stomp.py makes one request over STOMP (SEND to /rpc/<method>
with reply-to) and prints the reply as a JSON line. Env: STOMP_ADDR
(host:port), METHOD, BODY (JSON params)."""

import json
import os
import queue

import stomp

host, port = os.environ["STOMP_ADDR"].rsplit(":", 1)


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
conn.set_listener("rpc", listener)
conn.connect(wait=True)
conn.subscribe(destination="/temp-queue/replies", id="1", ack="auto", headers={"receipt": "sub"})
listener.receipts.get(timeout=10)
conn.send(destination="/rpc/" + os.environ["METHOD"], body=os.environ["BODY"],
          content_type="application/json",
          headers={"reply-to": "/temp-queue/replies", "correlation-id": "c-1"})
f = listener.messages.get(timeout=20)
print(json.dumps({"correlation": f.headers.get("correlation-id"), "error": f.headers.get("error"),
                  "code": f.headers.get("error-code"), "body": f.body}), flush=True)
conn.disconnect()
