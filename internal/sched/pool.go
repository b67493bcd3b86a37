// Package sched runs work off the I/O goroutines: a fixed pool of workers
// and, on top of it, per-connection serial mailboxes that keep a
// connection's requests in order without a goroutine per connection.
package sched

import "sync"

// Runnable is work the pool runs. A Runnable is submitted at most once at
// a time by its owner (connections track whether they are scheduled), so
// the pool's queue is bounded by the number of live owners.
type Runnable interface{ Run() }

// Pool is a fixed set of worker goroutines sharing one FIFO run queue.
type Pool struct {
	mu     sync.Mutex
	cond   sync.Cond
	q      []Runnable // ring buffer
	head   int
	n      int
	closed bool
	wg     sync.WaitGroup
}

// NewPool starts workers goroutines (at least one).
func NewPool(workers int) *Pool {
	if workers < 1 {
		workers = 1
	}
	p := &Pool{q: make([]Runnable, 64)}
	p.cond.L = &p.mu
	p.wg.Add(workers)
	for range workers {
		go p.work()
	}
	return p
}

// Submit queues r. It reports false once the pool is closed.
func (p *Pool) Submit(r Runnable) bool {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return false
	}
	if p.n == len(p.q) {
		p.grow()
	}
	p.q[(p.head+p.n)%len(p.q)] = r
	p.n++
	p.mu.Unlock()
	p.cond.Signal()
	return true
}

func (p *Pool) grow() {
	q := make([]Runnable, 2*len(p.q))
	for i := range p.n {
		q[i] = p.q[(p.head+i)%len(p.q)]
	}
	p.q, p.head = q, 0
}

func (p *Pool) work() {
	defer p.wg.Done()
	for {
		p.mu.Lock()
		for p.n == 0 && !p.closed {
			p.cond.Wait()
		}
		if p.n == 0 {
			p.mu.Unlock()
			return
		}
		r := p.q[p.head]
		p.q[p.head] = nil
		p.head = (p.head + 1) % len(p.q)
		p.n--
		p.mu.Unlock()
		r.Run()
	}
}

// Close stops accepting work, lets the workers finish what is queued and
// waits for them.
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.cond.Broadcast()
	p.wg.Wait()
}
