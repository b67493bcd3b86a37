"""paho-mqtt (Debian's python3-paho-mqtt 1.6) against Herald over WebSocket.

For MQTT 3.1.1 and 5.0: subscribe at QoS 2, publish at QoS 0, 1 and 2 from a
second client, and check each message arrives at its QoS; 5.0 also checks
that user properties and the content type travel. Env: HERALD_HOST,
HERALD_PORT (the HTTP port; the endpoint is /ws). Prints "ok <case>".
"""
import os
import sys
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

HOST = os.environ["HERALD_HOST"]
PORT = int(os.environ["HERALD_PORT"])
TIMEOUT = 10


def client(name, protocol):
    c = mqtt.Client(client_id=name, protocol=protocol, transport="websockets",
                    **({} if protocol == mqtt.MQTTv5 else {"clean_session": True}))
    c.ws_set_options(path="/ws")
    connected = threading.Event()
    subscribed = threading.Event()

    def on_connect(c, userdata, flags, rc, properties=None):
        if rc == 0:
            connected.set()

    c.on_connect = on_connect
    c.on_subscribe = lambda *a: subscribed.set()
    c.connect(HOST, PORT, keepalive=30)
    c.loop_start()
    if not connected.wait(TIMEOUT):
        sys.exit(f"{name}: no CONNACK")
    return c, subscribed


def run(protocol, label):
    got = {}
    done = threading.Event()
    sub, subscribed = client(f"paho-sub-{label}", protocol)

    def on_message(c, userdata, msg):
        props = getattr(msg, "properties", None)
        got[msg.topic] = (msg.payload.decode(), msg.qos,
                          getattr(props, "UserProperty", None), getattr(props, "ContentType", None))
        if len(got) == 3:
            done.set()

    sub.on_message = on_message
    sub.subscribe(f"paho/{label}/#", qos=2)
    if not subscribed.wait(TIMEOUT):
        sys.exit(f"{label}: no SUBACK")
    pub, _ = client(f"paho-pub-{label}", protocol)
    for qos in (0, 1, 2):
        props = None
        if protocol == mqtt.MQTTv5:
            props = Properties(PacketTypes.PUBLISH)
            props.UserProperty = [("source", "paho")]
            props.ContentType = "text/plain"
        pub.publish(f"paho/{label}/{qos}", f"hello {qos}", qos=qos, properties=props).wait_for_publish(TIMEOUT)
    if not done.wait(TIMEOUT):
        sys.exit(f"{label}: got {got}")
    for qos in (0, 1, 2):
        payload, q, user, ctype = got[f"paho/{label}/{qos}"]
        if payload != f"hello {qos}" or q != qos:
            sys.exit(f"{label}: QoS {qos} message arrived as {payload!r} at QoS {q}")
        if protocol == mqtt.MQTTv5 and (user != [("source", "paho")] or ctype != "text/plain"):
            sys.exit(f"{label}: properties {user} {ctype}")
    for c in (pub, sub):
        c.disconnect()
        c.loop_stop()
    print(f"ok {label}")


run(mqtt.MQTTv311, "v311")
run(mqtt.MQTTv5, "v5")
