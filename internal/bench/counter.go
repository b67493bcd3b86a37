package bench

import (
	"math"
	"sync/atomic"
	"time"
)

// Counter is a shared event count that one goroutine can wait on without
// polling: the goroutines that Add compare the new total with the waiter's
// target and wake it when the target is reached. Readers Add once per
// socket read (a batch of messages), not once per message, so the shared
// cache line is touched rarely.
type Counter struct {
	n      atomic.Int64
	target atomic.Int64
	wake   chan struct{}
}

// NewCounter returns a zero counter.
func NewCounter() *Counter {
	c := &Counter{wake: make(chan struct{}, 1)}
	c.target.Store(math.MaxInt64)
	return c
}

// Add adds d and returns the new total.
func (c *Counter) Add(d int64) int64 {
	n := c.n.Add(d)
	if n >= c.target.Load() {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	return n
}

// Load returns the current total.
func (c *Counter) Load() int64 { return c.n.Load() }

// WaitAtLeast blocks until the total is at least t or the deadline passes,
// and reports whether t was reached. Only one goroutine may wait at a time.
func (c *Counter) WaitAtLeast(t int64, deadline time.Time) bool {
	if c.n.Load() >= t {
		return true
	}
	// Publish the target before re-reading the total: either this load
	// sees an Add, or that Add sees the target and wakes us.
	c.target.Store(t)
	defer c.target.Store(math.MaxInt64)
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for c.n.Load() < t {
		select {
		case <-c.wake:
		case <-timer.C:
			return c.n.Load() >= t
		}
	}
	return true
}

// Stats are the live counts every scenario keeps; the progress line and
// the reports read them.
type Stats struct {
	Open     atomic.Int64 // connections open now
	Sent     atomic.Int64 // messages (broadcasts, requests, publishes) sent
	Received *Counter     // messages counted by the scenario
	Errors   atomic.Int64 // failed dials, dropped connections, error responses
}

// NewStats returns zero stats.
func NewStats() *Stats { return &Stats{Received: NewCounter()} }

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
