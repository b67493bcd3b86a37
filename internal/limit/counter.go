package limit

import "sync"

// Counter counts holders per key (connections per client address) with a
// ceiling per key. Keys at zero are forgotten, so it holds memory only
// for keys in use. A nil *Counter allows everything.
type Counter struct {
	mu  sync.Mutex
	max int
	n   map[string]int
}

// NewCounter returns a counter allowing max holders per key, or nil (no
// limit) when max is not positive.
func NewCounter(max int) *Counter {
	if max <= 0 {
		return nil
	}
	return &Counter{max: max, n: make(map[string]int)}
}

// Acquire adds a holder of key unless key already has max.
func (c *Counter) Acquire(key string) bool {
	if c == nil {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[key] >= c.max {
		return false
	}
	c.n[key]++
	return true
}

// Release removes a holder of key that Acquire added.
func (c *Counter) Release(key string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch n := c.n[key]; {
	case n > 1:
		c.n[key] = n - 1
	case n == 1:
		delete(c.n, key)
	}
}

// Count is the number of holders of key.
func (c *Counter) Count(key string) int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

// Keys is the number of keys with holders.
func (c *Counter) Keys() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.n)
}
