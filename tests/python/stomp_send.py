"""Debian's stomp.py sends one message per argument to STOMP_DEST over
TCP (STOMP_ADDR), then disconnects with a receipt, so that the server has
them all when the script exits."""

import os
import sys

import stomp

host, port = os.environ["STOMP_ADDR"].rsplit(":", 1)
conn = stomp.Connection12([(host, int(port))], reconnect_attempts_max=1)
conn.connect(wait=True)
for body in sys.argv[1:]:
    conn.send(destination=os.environ["STOMP_DEST"], body=body)
conn.disconnect(receipt="bye")
