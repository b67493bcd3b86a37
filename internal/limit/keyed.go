package limit

import (
	"sync"
	"time"
)

// KeyedBuckets is a token bucket per key (new connections per client
// address). A key's bucket exists only while it is not full: one that
// has refilled is forgotten, so memory follows the keys active within
// the last burst/rate seconds, and at most maxKeys of those are tracked
// (past that, new keys are allowed untracked rather than refused, so a
// flood of addresses cannot lock out the ones not yet seen). A nil
// *KeyedBuckets allows everything.
type KeyedBuckets struct {
	mu      sync.Mutex
	rate    float64 // tokens per nanosecond
	burst   float64
	now     func() time.Time
	maxKeys int
	m       map[string]*keyed
}

type keyed struct {
	tokens float64
	last   time.Time
}

// NewKeyedBuckets returns per-key buckets, or nil (no limit) when rate is
// not positive; burst and now as for NewBucket. maxKeys below 1 means
// 100,000.
func NewKeyedBuckets(rate float64, burst, maxKeys int, now func() time.Time) *KeyedBuckets {
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
	if maxKeys < 1 {
		maxKeys = 100_000
	}
	return &KeyedBuckets{rate: rate / float64(time.Second), burst: b, now: now, maxKeys: maxKeys, m: make(map[string]*keyed)}
}

// Allow takes a token from key's bucket if it has one.
func (k *KeyedBuckets) Allow(key string) bool {
	if k == nil {
		return true
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	b := k.m[key]
	if b == nil {
		if len(k.m) >= k.maxKeys {
			k.forgetFull(now)
			if len(k.m) >= k.maxKeys {
				return true
			}
		}
		b = &keyed{tokens: k.burst, last: now}
		k.m[key] = b
	} else if d := now.Sub(b.last); d > 0 {
		b.tokens = min(k.burst, b.tokens+float64(d)*k.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// forgetFull drops the buckets that have refilled: a fresh one would be
// the same.
func (k *KeyedBuckets) forgetFull(now time.Time) {
	for key, b := range k.m {
		if b.tokens+float64(now.Sub(b.last))*k.rate >= k.burst {
			delete(k.m, key)
		}
	}
}

// Keys is the number of keys tracked.
func (k *KeyedBuckets) Keys() int {
	if k == nil {
		return 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.m)
}
