package sched

import "sync"

// batch bounds how many functions one turn of a Serial runs before it
// yields its worker, so one busy connection cannot starve the others.
const batch = 32

// Serial is a bounded mailbox whose functions run one at a time, in order,
// on the pool's workers. It holds no goroutine and, when empty, no buffer.
type Serial struct {
	pool    *Pool
	mu      sync.Mutex
	fns     []func()
	limit   int32 // an idle connection holds one Serial: 48 bytes
	running bool
	held    bool // Hold: functions wait for Release
	closed  bool
}

// NewSerial returns a mailbox that holds at most limit pending functions.
func (p *Pool) NewSerial(limit int) *Serial {
	if limit < 1 {
		limit = 1
	}
	return &Serial{pool: p, limit: int32(min(limit, 1<<30))}
}

// Push queues fn. It reports false when the mailbox is full or closed; the
// caller decides what overload means for its protocol.
func (s *Serial) Push(fn func()) bool {
	s.mu.Lock()
	if s.closed || len(s.fns) >= int(s.limit) {
		s.mu.Unlock()
		return false
	}
	s.fns = append(s.fns, fn)
	start := !s.running
	s.running = true
	s.mu.Unlock()
	if start && !s.pool.Submit(s) {
		s.mu.Lock()
		s.running = false
		s.fns = nil
		s.mu.Unlock()
		return false
	}
	return true
}

// Hold keeps the functions pushed from now on from running until
// Release, so that an owner still being set up (a session whose protocol
// is being opened) can push work that must see it complete. It does
// nothing on a mailbox that is already running.
func (s *Serial) Hold() {
	s.mu.Lock()
	if !s.running {
		s.running, s.held = true, true
	}
	s.mu.Unlock()
}

// Release ends a Hold: what was pushed meanwhile starts running.
func (s *Serial) Release() {
	s.mu.Lock()
	if !s.held {
		s.mu.Unlock()
		return
	}
	s.held = false
	if len(s.fns) == 0 {
		s.running = false
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	if !s.pool.Submit(s) {
		s.mu.Lock()
		s.running = false
		s.fns = nil
		s.mu.Unlock()
	}
}

// State reports, for diagnostics, the number of functions waiting and
// whether the mailbox is running (scheduled, or held) and closed.
func (s *Serial) State() (pending int, running, held, closed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.fns), s.running, s.held, s.closed
}

// Len reports the number of functions waiting.
func (s *Serial) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.fns)
}

// Drain refuses further pushes but lets the pending functions run, then
// runs last (beyond the limit: it is the owner's final step). When the
// pool is already closed, last runs on the caller.
func (s *Serial) Drain(last func()) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		last()
		return
	}
	s.closed = true
	s.fns = append(s.fns, last)
	start := !s.running
	s.running = true
	s.mu.Unlock()
	if start && !s.pool.Submit(s) {
		s.mu.Lock()
		fns := s.fns
		s.fns, s.running = nil, false
		s.mu.Unlock()
		for _, fn := range fns {
			fn()
		}
	}
}

// Close drops what is pending and refuses further pushes. A function that
// is running finishes.
func (s *Serial) Close() {
	s.mu.Lock()
	s.closed = true
	s.fns = nil
	s.mu.Unlock()
}

// Run implements Runnable.
func (s *Serial) Run() {
	for range batch {
		s.mu.Lock()
		if len(s.fns) == 0 {
			s.running = false
			s.fns = nil // an idle mailbox keeps no buffer
			s.mu.Unlock()
			return
		}
		fn := s.fns[0]
		s.fns[0] = nil
		s.fns = s.fns[1:]
		s.mu.Unlock()
		fn()
	}
	if !s.pool.Submit(s) {
		s.mu.Lock()
		s.running = false
		s.mu.Unlock()
	}
}
