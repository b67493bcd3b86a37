package bench

import (
	"context"
	"net"
	"net/netip"
	"time"
)

// dialStream opens connection id of a byte-stream protocol client (STOMP,
// MQTT): TCP from one of sources, then, over WebSocket, the handshake
// offering subprotocol. The deadline of timeout stays set for the
// protocol's own handshake; rest is what the server sent past the
// WebSocket handshake.
func dialStream(ctx context.Context, sources []netip.Addr, id int, target Target, ws bool, subprotocol string, readBuffer int, timeout time.Duration) (nc net.Conn, buf, rest []byte, err error) {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	if nc, err = dialFrom(ctx, sources, id, target.Addr, timeout); err != nil {
		return nil, nil, nil, err
	}
	buf = make([]byte, max(readBuffer, 1024))
	nc.SetDeadline(time.Now().Add(timeout))
	if ws {
		if rest, err = handshake(nc, target, subprotocol, buf); err != nil {
			nc.Close()
			return nil, nil, nil, err
		}
	}
	return nc, buf, rest, nil
}
