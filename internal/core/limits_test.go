package core

import (
	"context"
	"errors"
	"testing"
)

func newLimitedCore(t *testing.T, l Limits) *Core {
	c := New(Config{Limits: l})
	t.Cleanup(func() { c.Shutdown(context.Background()) })
	return c
}

func TestClientKey(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.2:5000":   "127.0.0.2",
		"[::1]:443":        "::1",
		"10.0.0.1":         "10.0.0.1", // no port: as is
		"unix-socket-peer": "unix-socket-peer",
	} {
		if got := ClientKey(in); got != want {
			t.Errorf("ClientKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAdmitPerIPAndTotal(t *testing.T) {
	c := newLimitedCore(t, Limits{MaxConns: 3, MaxConnsPerIP: 2})
	a1, err1 := c.Admit("127.0.0.2:1")
	_, err2 := c.Admit("127.0.0.2:2")
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if _, err := c.Admit("127.0.0.2:3"); !errors.Is(err, ErrTooManyConnections) || err.Error() != "too many connections from 127.0.0.2 (limit 2)" {
		t.Fatalf("third from one address: %v", err)
	}
	b1, err := c.Admit("127.0.0.3:1")
	if err != nil {
		t.Fatal("another address has its own places:", err)
	}
	if _, err := c.Admit("127.0.0.4:1"); !errors.Is(err, ErrTooManyConnections) || err.Error() != "server at its connection limit (3)" {
		t.Fatalf("fourth in all: %v", err)
	}
	a1.Release()
	a1.Release() // twice: no effect
	if _, err := c.Admit("127.0.0.4:1"); err != nil {
		t.Fatalf("after a release: %v", err)
	}
	if _, err := c.Admit("127.0.0.2:4"); err == nil {
		t.Fatal("a double release freed two places")
	}
	b1.Release()
	if c.lim.perIP.Count("127.0.0.3") != 0 || c.lim.perIP.Count("127.0.0.2") != 1 || c.lim.total.Load() != 2 {
		t.Fatalf("accounting: %d %d %d", c.lim.perIP.Count("127.0.0.3"), c.lim.perIP.Count("127.0.0.2"), c.lim.total.Load())
	}
}

func TestAdmitHandshakeRateSpendsNoTokenOnRefusal(t *testing.T) {
	c := newLimitedCore(t, Limits{MaxConnsPerIP: 1, HandshakeRate: 0.001, HandshakeBurst: 2})
	t1, err := c.Admit("127.0.0.2:1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Admit("127.0.0.2:2"); !errors.Is(err, ErrTooManyConnections) {
		t.Fatalf("second from one address: %v", err)
	}
	// The refusal above took no token: one is left.
	if _, err := c.Admit("127.0.0.3:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Admit("127.0.0.4:1"); !errors.Is(err, ErrHandshakeRate) {
		t.Fatalf("past the burst: %v", err)
	}
	t1.Release()
	if c.lim.total.Load() != 1 {
		t.Fatalf("total %d after refusals and a release", c.lim.total.Load())
	}
}

func TestNoLimitsByDefault(t *testing.T) {
	c := newLimitedCore(t, Limits{})
	for range 1000 {
		if _, err := c.Admit("127.0.0.2:1"); err != nil {
			t.Fatal(err)
		}
	}
	if c.MaxSubscriptions() != DefaultMaxSubscriptions {
		t.Fatalf("MaxSubscriptions default %d", c.MaxSubscriptions())
	}
	if newLimitedCore(t, Limits{MaxSubscriptions: -1}).MaxSubscriptions() != 0 {
		t.Fatal("negative MaxSubscriptions must mean no limit")
	}
}

func TestAdmitHandshakeRatePerIP(t *testing.T) {
	// With a connection limit, so that admissions are counted.
	c := newLimitedCore(t, Limits{MaxConns: 100, HandshakeRatePerIP: 0.001, HandshakeBurstPerIP: 1})
	if _, err := c.Admit("127.0.0.2:1"); err != nil {
		t.Fatal(err)
	}
	_, err := c.Admit("127.0.0.2:2")
	if !errors.Is(err, ErrHandshakeRate) || err.Error() != "too many new connections from 127.0.0.2, retry later" {
		t.Fatalf("second from one address: %v", err)
	}
	if _, err := c.Admit("127.0.0.3:1"); err != nil {
		t.Fatalf("another address: %v", err)
	}
	if c.lim.total.Load() != 2 {
		t.Fatalf("a refusal kept its place: total %d", c.lim.total.Load())
	}
}
