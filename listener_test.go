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
	if err := srv.ServeTCP(testutil.Listen(t), "stomp"); err == nil || errors.Is(err, nil) {
		t.Fatal("ServeTCP ran after Shutdown")
	}
}
