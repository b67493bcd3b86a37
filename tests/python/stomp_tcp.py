"""Debian's stomp.py (python3-stomp, version 8) over TCP against a Herald
server. The Go test (stomp_interop_test.go) starts the server, passes its
address in STOMP_ADDR, and asserts on the JSON this script prints: one
member per scenario."""

import json
import os
import queue
import threading
import time

import stomp

host, port = os.environ["STOMP_ADDR"].rsplit(":", 1)
HOSTS = [(host, int(port))]
WAIT = 10  # seconds, every wait below


class Listener(stomp.ConnectionListener):
    def __init__(self):
        self.messages = queue.Queue()
        self.receipts = queue.Queue()
        self.errors = queue.Queue()
        self.beats = 0
        self.connected = None
        self.disconnected = threading.Event()

    def on_connected(self, frame):
        self.connected = frame

    def on_message(self, frame):
        self.messages.put(frame)

    def on_receipt(self, frame):
        self.receipts.put(frame.headers["receipt-id"])

    def on_error(self, frame):
        self.errors.put(frame)

    def on_heartbeat(self):
        self.beats += 1

    def on_disconnected(self):
        self.disconnected.set()

    def message(self):
        return self.messages.get(timeout=WAIT)

    def receipt(self, rid):
        got = self.receipts.get(timeout=WAIT)
        if got != rid:
            raise AssertionError("receipt %r, want %r" % (got, rid))


def connect(version, heartbeats=(0, 0)):
    cls = {"1.0": stomp.Connection10, "1.1": stomp.Connection11, "1.2": stomp.Connection12}[version]
    kwargs = {} if version == "1.0" else {"heartbeats": heartbeats}
    conn = cls(HOSTS, reconnect_attempts_max=1, **kwargs)
    listener = Listener()
    conn.set_listener("test", listener)
    conn.connect(wait=True)
    return conn, listener


def ack_id(version, frame):
    return frame.headers["ack"] if version == "1.2" else frame.headers["message-id"]


results = {}


def pubsub():
    for v in ("1.0", "1.1", "1.2"):
        conn, l = connect(v)
        dest = "/topic/py.v" + v.replace(".", "")
        conn.subscribe(dest, id="s" + v, ack="auto", receipt="sub")
        l.receipt("sub")
        conn.send(dest, "hello " + v, headers={"x-custom": "x y"})
        m = l.message()
        results["pubsub " + v] = {
            "version": l.connected.headers.get("version"),
            "body": m.body,
            "destination": m.headers["destination"],
            "custom": m.headers.get("x-custom"),
        }
        conn.disconnect(receipt="bye")


def queue_semantics():
    producer, pl = connect("1.2")
    for i in range(3):
        producer.send("/queue/py.jobs", "j%d" % i)
    producer.send("/topic/py.none", "", receipt="queued")
    pl.receipt("queued")
    producer.disconnect(receipt="bye")

    a, al = connect("1.2")
    a.subscribe("/queue/py.jobs", id="a", ack="client-individual")
    first = [al.message() for _ in range(3)]
    a.ack(first[0].headers["ack"], receipt="acked")
    al.receipt("acked")
    a.disconnect(receipt="bye")  # leaves j1 and j2 unacknowledged

    b, bl = connect("1.1")
    b.subscribe("/queue/py.jobs", id="b", ack="client-individual")
    got = []
    one, two = bl.message(), bl.message()
    got += [[one.body, one.headers.get("redelivered")], [two.body, two.headers.get("redelivered")]]
    b.ack(one.headers["message-id"], "b")
    b.nack(two.headers["message-id"], "b")
    again = bl.message()
    got.append([again.body, again.headers.get("redelivered")])
    b.ack(again.headers["message-id"], "b", receipt="done")
    bl.receipt("done")
    b.disconnect(receipt="bye")
    results["queue"] = {"first": [m.body for m in first], "b": got}


def transactions():
    conn, l = connect("1.1")
    conn.subscribe("/topic/py.tx", id="t", receipt="sub")
    l.receipt("sub")
    tx = conn.begin()
    conn.send("/topic/py.tx", "in-tx", transaction=tx)
    conn.send("/topic/py.tx", "outside")
    conn.commit(tx)
    results["transactions"] = [l.message().body, l.message().body]
    conn.disconnect(receipt="bye")


def rpc():
    conn, l = connect("1.2")
    conn.subscribe("/temp-queue/py", id="replies", receipt="sub")
    l.receipt("sub")
    conn.send("/rpc/echo", "ping", headers={"reply-to": "/temp-queue/py", "correlation-id": "py-1"})
    m = l.message()
    results["rpc"] = {"correlation": m.headers.get("correlation-id"), "body": m.body}
    conn.disconnect(receipt="bye")


def heartbeats():
    conn, l = connect("1.2", heartbeats=(1000, 1000))
    deadline = time.monotonic() + WAIT
    while l.beats < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    results["heartbeats"] = {
        "header": l.connected.headers.get("heart-beat"),
        "beats": l.beats >= 2,
        "connected": conn.is_connected(),
    }
    conn.disconnect(receipt="bye")


def error():
    conn, l = connect("1.2")
    conn.send_frame("FLY", {})
    e = l.errors.get(timeout=WAIT)
    results["error"] = {"message": e.headers.get("message"), "disconnected": l.disconnected.wait(WAIT)}


for scenario in (pubsub, queue_semantics, transactions, rpc, heartbeats, error):
    try:
        scenario()
    except Exception as e:  # report, and go on with the next
        results[scenario.__name__] = {"error": "%s: %s" % (type(e).__name__, e)}

print(json.dumps(results))
