package sched

import "sync"

// batch bounds how many functions one turn of a Serial runs before it
// yields its worker, so one busy connection cannot starve the others.
const batch = 32

// Serial is a bounded mailbox whose functions run one at a time, in order,
// on the pool's workers. It holds no goroutine and, when empty, no buffer.
type Serial struct {
	pool    *Pool
	limit   int
	mu      sync.Mutex
	fns     []func()
	running bool
	closed  bool
}

// NewSerial returns a mailbox that holds at most limit pending functions.
func (p *Pool) NewSerial(limit int) *Serial {
	if limit < 1 {
		limit = 1
	}
	return &Serial{pool: p, limit: limit}
}

// Push queues fn. It reports false when the mailbox is full or closed; the
// caller decides what overload means for its protocol.
func (s *Serial) Push(fn func()) bool {
	s.mu.Lock()
	if s.closed || len(s.fns) >= s.limit {
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

// Len reports the number of functions waiting.
func (s *Serial) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.fns)
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
