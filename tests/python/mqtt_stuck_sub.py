"""A stuck MQTT member: paho-mqtt (Debian's python3-paho-mqtt 1.6) over TCP.

Subscribes to FILTER at QoS 1 (MQTT 3.1.1, clean session), prints "ready"
on SUBACK, then prints the payload of the first message and never returns
from its handler: paho acknowledges a QoS 1 message after the handler, so
this client holds that message and every later one unacknowledged, as a
consumer stuck in its work would. Env: MQTT_HOST, MQTT_PORT, FILTER,
CLIENT_ID.
"""
import os
import sys
import threading

import paho.mqtt.client as mqtt

c = mqtt.Client(client_id=os.environ["CLIENT_ID"], protocol=mqtt.MQTTv311, clean_session=True)
c.on_subscribe = lambda *a: print("ready", flush=True)


def on_message(client, userdata, msg):
    print(msg.payload.decode(), flush=True)
    threading.Event().wait()  # stuck: no PUBACK, ever


c.on_message = on_message


def on_connect(client, userdata, flags, rc):
    if rc != 0:
        sys.exit(f"CONNACK {rc}")
    client.subscribe(os.environ["FILTER"], qos=1)


c.on_connect = on_connect
c.connect(os.environ["MQTT_HOST"], int(os.environ["MQTT_PORT"]), keepalive=120)
c.loop_forever()
