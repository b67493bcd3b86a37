package herald_test

import (
	"errors"
	"testing"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/internal/testutil"
)

func TestServeTCPUnknownProtocol(t *testing.T) {
	srv, _ := start(t, herald.Options{})
	if err := srv.ServeTCP(testutil.Listen(t), "carrier-pigeon"); err == nil {
		t.Fatal("ServeTCP accepted an unknown protocol")
	}
}

func TestServeTCPAfterShutdown(t *testing.T) {
	srv := herald.New(herald.Options{})
	srv.Shutdown(ctxT(t))
	ln := testutil.Listen(t)
	if err := srv.ServeTCP(ln, "chat-over-tcp-is-not-a-thing"); err == nil {
		t.Fatal("ServeTCP accepted an unknown protocol")
	}
	ln = testutil.Listen(t)
	if err := srv.ServeTCP(ln, "stomp"); !errors.Is(err, herald.ErrServerClosed) {
		t.Fatalf("ServeTCP after Shutdown = %v, want ErrServerClosed", err)
	}
	if _, err := ln.Accept(); err == nil {
		t.Fatal("listener left open")
	}
}
