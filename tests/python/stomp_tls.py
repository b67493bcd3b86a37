"""Debian's stomp.py (python3-stomp) over TLS against a Herald server. The
Go test (cmd/herald/serve_tls_test.go) passes the address in STOMP_ADDR,
the CA to trust in STOMP_CA and, optionally, a client certificate in
STOMP_CERT and STOMP_KEY; it asserts on the one JSON line printed: the
reply of the LED demo's "on" request, or the error."""

import json
import os
import queue

import stomp

host, port = os.environ["STOMP_ADDR"].rsplit(":", 1)
HOSTS = [(host, int(port))]


class Listener(stomp.ConnectionListener):
    def __init__(self):
        self.messages = queue.Queue()

    def on_message(self, frame):
        self.messages.put(frame)


try:
    conn = stomp.Connection12(HOSTS, reconnect_attempts_max=1, heartbeats=(0, 0))
    conn.set_ssl(
        for_hosts=HOSTS,
        ca_certs=os.environ["STOMP_CA"],
        cert_file=os.environ.get("STOMP_CERT") or None,
        key_file=os.environ.get("STOMP_KEY") or None,
    )
    listener = Listener()
    conn.set_listener("test", listener)
    conn.connect(wait=True)
    conn.subscribe("/temp-queue/led", id="r")
    conn.send("/rpc/on", "", headers={"reply-to": "/temp-queue/led", "correlation-id": "1"})
    m = listener.messages.get(timeout=10)
    print(json.dumps({"reply": m.body}))
    conn.disconnect()
except Exception as e:
    print(json.dumps({"error": "%s: %s" % (type(e).__name__, e)}))
