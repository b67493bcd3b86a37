package ackgate

import "sync"

// Window bounds what one connection has in flight to a cluster's stream
// (publishes pipelined, ADR 0018): Begin waits while it is full, so a
// fast publisher gets backpressure rather than unbounded memory. The
// zero value has no room: use NewWindow.
type Window struct {
	slots chan struct{} // one token per publish in flight
	mu    sync.Mutex
	n     int
	idle  []func() // run once nothing is in flight
}

// NewWindow returns a window of n places.
func NewWindow(n int) *Window { return &Window{slots: make(chan struct{}, n)} }

// Begin takes a place, waiting while the window is full.
func (w *Window) Begin() {
	w.slots <- struct{}{}
	w.mu.Lock()
	w.n++
	w.mu.Unlock()
}

// End gives a place back. The last one out starts what waited for the
// window to empty (WhenIdle), each on its own goroutine: End runs where
// the stream's answer arrives, which must not block.
func (w *Window) End() {
	<-w.slots
	w.mu.Lock()
	w.n--
	var run []func()
	if w.n == 0 {
		run, w.idle = w.idle, nil
	}
	w.mu.Unlock()
	for _, f := range run {
		go f()
	}
}

// WhenIdle runs f now if nothing is in flight (or w is nil), else once
// the last publish in flight has ended.
func (w *Window) WhenIdle(f func()) {
	if w == nil {
		f()
		return
	}
	w.mu.Lock()
	if w.n > 0 {
		w.idle = append(w.idle, f)
		w.mu.Unlock()
		return
	}
	w.mu.Unlock()
	f()
}
