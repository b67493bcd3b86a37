package limit

import (
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func take(b *Bucket, n int) int {
	got := 0
	for range n {
		if b.Allow() {
			got++
		}
	}
	return got
}

func TestBucket(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	b := NewBucket(10, 5, clk.now)
	if got := take(b, 20); got != 5 {
		t.Fatalf("a full bucket of 5 allowed %d", got)
	}
	clk.advance(100 * time.Millisecond) // one token at 10/s
	if got := take(b, 5); got != 1 {
		t.Fatalf("after 100ms: %d allowed, want 1", got)
	}
	clk.advance(250 * time.Millisecond) // 2.5 tokens
	if got := take(b, 5); got != 2 {
		t.Fatalf("after 250ms: %d allowed, want 2", got)
	}
	clk.advance(50 * time.Millisecond) // the half token left plus half a token
	if got := take(b, 5); got != 1 {
		t.Fatalf("fractions carried over: %d allowed, want 1", got)
	}
	clk.advance(time.Hour) // refills to the burst, not beyond
	if got := take(b, 100); got != 5 {
		t.Fatalf("after an hour: %d allowed, want the burst 5", got)
	}
	clk.advance(-time.Second) // a clock stepping back takes nothing away, adds nothing
	if got := take(b, 5); got != 0 {
		t.Fatalf("backwards clock: %d allowed", got)
	}
}

func TestBucketDefaults(t *testing.T) {
	if b := NewBucket(0, 10, nil); b != nil || !b.Allow() {
		t.Fatal("rate 0 must mean no limit (a nil bucket that allows)")
	}
	clk := &fakeClock{t: time.Unix(0, 0)}
	if got := take(NewBucket(3, 0, clk.now), 10); got != 3 {
		t.Fatalf("burst 0 at 3/s allowed %d, want one second's worth", got)
	}
	if got := take(NewBucket(0.5, 0, clk.now), 10); got != 1 {
		t.Fatalf("burst 0 at 0.5/s allowed %d, want 1", got)
	}
}

func TestBucketConcurrent(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	b := NewBucket(1, 100, clk.now)
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range 8 {
		wg.Go(func() {
			n := take(b, 50)
			mu.Lock()
			total += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if total != 100 {
		t.Fatalf("8×50 concurrent takes from a bucket of 100 allowed %d", total)
	}
}

func TestCounter(t *testing.T) {
	c := NewCounter(2)
	if !c.Acquire("a") || !c.Acquire("a") || c.Acquire("a") {
		t.Fatal("the third holder of a was allowed, or one of the first two refused")
	}
	if !c.Acquire("b") {
		t.Fatal("keys are independent")
	}
	if c.Count("a") != 2 || c.Keys() != 2 {
		t.Fatalf("count %d keys %d", c.Count("a"), c.Keys())
	}
	c.Release("a")
	if !c.Acquire("a") {
		t.Fatal("a released slot was not reusable")
	}
	c.Release("a")
	c.Release("a")
	c.Release("b")
	c.Release("b") // one too many: ignored
	if c.Keys() != 0 {
		t.Fatalf("keys at zero are kept: %d", c.Keys())
	}
	var none *Counter = NewCounter(0)
	if !none.Acquire("x") || none.Count("x") != 0 {
		t.Fatal("max 0 must mean no limit")
	}
	none.Release("x")
}
