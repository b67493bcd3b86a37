package sched

import "testing"

// TestHoldDelaysUntilRelease: what is pushed while held runs after
// Release and sees what the owner wrote in between (the race detector
// checks the ordering).
func TestHoldDelaysUntilRelease(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	s := p.NewSerial(8)
	s.Hold()
	var owner string
	got := make(chan string, 1)
	if !s.Push(func() { got <- owner }) {
		t.Fatal("push refused while held")
	}
	owner = "ready" // no lock: Release must order this before the function
	select {
	case v := <-got:
		t.Fatalf("ran while held (saw %q)", v)
	default:
	}
	s.Release()
	if v := <-got; v != "ready" {
		t.Fatalf("function saw %q", v)
	}
	s.Release() // no hold: nothing happens
	done := make(chan struct{})
	s.Push(func() { close(done) })
	<-done
}

func TestHoldWithNothingPushed(t *testing.T) {
	p := NewPool(1)
	defer p.Close()
	s := p.NewSerial(8)
	s.Hold()
	s.Release()
	done := make(chan struct{})
	if !s.Push(func() { close(done) }) {
		t.Fatal("push refused after an empty hold")
	}
	<-done
}
