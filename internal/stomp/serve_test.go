package stomp_test

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/queue"
	"github.com/heraldhq/herald/internal/stomp"
)

// serveSTOMP serves a STOMP adapter over qs on c, over TCP on 127.0.0.1,
// until the test ends; then c shuts down and after, if any, runs (a
// router or store to close). It returns one raw connection to it and a
// reader of its next frame (the leading heart-beat newlines dropped).
func serveSTOMP(t *testing.T, c *core.Core, qs *queue.Queues, after func()) (conn net.Conn, next func(wait time.Duration) (string, error)) {
	t.Helper()
	a := stomp.New(stomp.Config{Queues: qs})
	c.Register(a)
	c.RegisterRaw("stomp", a)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.ServeConn(conn, a, "stomp")
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-served
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c.Shutdown(ctx)
		if after != nil {
			after()
		}
	})
	conn, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	rd := bufio.NewReader(conn)
	return conn, func(wait time.Duration) (string, error) {
		conn.SetReadDeadline(time.Now().Add(wait))
		f, err := rd.ReadString(0)
		return strings.TrimLeft(f, "\n"), err
	}
}
