package herald_test

import (
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/internal/wsframe"
)

func TestKeepAlivePingsThenIdleTimeout(t *testing.T) {
	_, base := start(t, herald.Options{PingInterval: time.Second, IdleTimeout: 2 * time.Second})
	c := rawDial(t, base, "herald.v1")
	c.SetReadDeadline(time.Now().Add(15 * time.Second))
	var ops []byte
	var code uint16
	buf := make([]byte, 1024)
	for code == 0 {
		n, err := c.br.Read(buf)
		if err != nil {
			t.Fatalf("connection ended without a close frame after %v: %v", ops, err)
		}
		c.cr.Feed(buf[:n], func(op byte, p []byte) error {
			ops = append(ops, op)
			if op == wsframe.OpClose {
				code, _ = wsframe.ParseClosePayload(p)
			}
			return nil
		})
	}
	if len(ops) < 2 || ops[0] != wsframe.OpPing {
		t.Fatalf("frames %v: want a ping before the close", ops)
	}
	if code != wsframe.CloseGoingAway {
		t.Fatalf("idle close code %d, want 1001", code)
	}
}

func TestPongKeepsConnectionAlive(t *testing.T) {
	srv, base := start(t, herald.Options{PingInterval: time.Second, IdleTimeout: 2 * time.Second})
	c := rawDial(t, base, "herald.v1")
	c.SetReadDeadline(time.Now().Add(15 * time.Second))
	pings := 0
	buf := make([]byte, 1024)
	// Answering three pings spans more than the idle timeout.
	for pings < 3 {
		n, err := c.br.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		c.cr.Feed(buf[:n], func(op byte, p []byte) error {
			switch op {
			case wsframe.OpPing:
				pings++
				c.frame(wsframe.OpPong, true, p)
			case wsframe.OpClose:
				t.Errorf("closed although the client answered pings")
			}
			return nil
		})
	}
	if srv.Connections() != 1 {
		t.Fatal("connection dropped")
	}
}
