package limit

import (
	"sync"
	"time"
)

// Bucket is a token bucket: it holds up to burst tokens and gains rate
// tokens per second; each allowed event takes one. It is safe for
// concurrent use. A nil *Bucket allows everything.
type Bucket struct {
	mu     sync.Mutex
	rate   float64 // tokens per nanosecond
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

// NewBucket returns a full bucket, or nil (no limit) when rate is not
// positive. burst below 1 becomes max(1, rate): one second's worth. now
// is the clock; nil means time.Now.
func NewBucket(rate float64, burst int, now func() time.Time) *Bucket {
	if rate <= 0 {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	b := float64(burst)
	if burst < 1 {
		b = max(1, rate)
	}
	return &Bucket{rate: rate / float64(time.Second), burst: b, tokens: b, last: now(), now: now}
}

// Allow takes a token if there is one.
func (b *Bucket) Allow() bool {
	if b == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(b.burst, b.tokens+float64(d)*b.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
