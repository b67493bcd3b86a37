package ackgate

import (
	"errors"
	"slices"
	"sync"
	"testing"
)

// manualKV is a store whose barriers fire when the test says.
type manualKV struct {
	mu   sync.Mutex
	held []func(error)
}

func (m *manualKV) Put(string, []byte, []byte)                 {}
func (m *manualKV) Delete(string, []byte)                      {}
func (m *manualKV) Atomic() func()                             { return func() {} }
func (m *manualKV) Scan(string, func(k, v []byte) error) error { return nil }
func (m *manualKV) Barrier(done func(error)) {
	m.mu.Lock()
	m.held = append(m.held, done)
	m.mu.Unlock()
}
func (m *manualKV) fire(i int, err error) { m.held[i](err) }

func TestOrder(t *testing.T) {
	var g Gate
	var kv manualKV
	var mu sync.Mutex
	var out []string
	send := func(b []byte) bool { mu.Lock(); out = append(out, string(b)); mu.Unlock(); return true }
	g.Send([]byte("a"), send)
	g.SendDurable(&kv, []byte("b"), send, nil)
	g.Send([]byte("c"), send)
	g.SendDurable(&kv, []byte("d"), send, nil)
	g.Send([]byte("e"), send)
	kv.fire(1, nil) // d is durable before b: still waits for b
	if want := []string{"a"}; !slices.Equal(out, want) {
		t.Fatalf("got %v, want %v", out, want)
	}
	kv.fire(0, nil)
	if want := []string{"a", "b", "c", "d", "e"}; !slices.Equal(out, want) {
		t.Fatalf("got %v, want %v", out, want)
	}
	g.Send([]byte("f"), send) // nothing waits: at once
	if len(out) != 6 {
		t.Fatalf("got %v", out)
	}
}

func TestFailureStops(t *testing.T) {
	var g Gate
	var kv manualKV
	var out []string
	send := func(b []byte) bool { out = append(out, string(b)); return true }
	failed := make(chan error, 1)
	g.SendDurable(&kv, []byte("a"), send, func(err error) { failed <- err })
	g.Send([]byte("b"), send)
	closed := make(chan struct{})
	if !g.Defer(func() { close(closed) }) {
		t.Fatal("Defer with replies waiting returned false")
	}
	kv.fire(0, errors.New("disk"))
	if err := <-failed; err == nil {
		t.Fatal("no error")
	}
	if len(out) != 0 {
		t.Fatalf("sent %v after a store failure", out)
	}
	if g.Defer(func() {}) {
		t.Fatal("queue not cleared")
	}
}

func TestReserveKeepsItsPlace(t *testing.T) {
	var g Gate
	var kv manualKV
	var mu sync.Mutex
	var out []string
	send := func(b []byte) bool { mu.Lock(); out = append(out, string(b)); mu.Unlock(); return true }
	first := g.Reserve(send, nil)
	g.SendDurable(&kv, []byte("b"), send, nil)
	second := g.Reserve(send, nil)
	g.Send([]byte("d"), send)
	kv.fire(0, nil)
	second.Fill([]byte("c"), nil) // filled before the first: still waits for it
	if len(out) != 0 {
		t.Fatalf("sent %v before the first slot was filled", out)
	}
	first.Fill([]byte("a"), nil)
	if want := []string{"a", "b", "c", "d"}; !slices.Equal(out, want) {
		t.Fatalf("got %v, want %v", out, want)
	}
	g.Send([]byte("e"), send) // nothing waits: at once
	if want := []string{"a", "b", "c", "d", "e"}; !slices.Equal(out, want) {
		t.Fatalf("got %v, want %v", out, want)
	}
}

func TestReserveFailedStopsWhatFollows(t *testing.T) {
	var g Gate
	var out []string
	send := func(b []byte) bool { out = append(out, string(b)); return true }
	failed := make(chan error, 1)
	s := g.Reserve(send, func(err error) { failed <- err })
	g.Send([]byte("after"), send)
	boom := errors.New("boom")
	s.Fill([]byte("ack"), boom)
	if err := <-failed; !errors.Is(err, boom) {
		t.Fatalf("fail got %v", err)
	}
	if len(out) != 0 {
		t.Fatalf("sent %v after a failed slot", out)
	}
}
