package limit

import (
	"fmt"
	"testing"
	"time"
)

func TestKeyedBuckets(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	k := NewKeyedBuckets(2, 3, 0, clk.now)
	allowed := func(key string, n int) int {
		got := 0
		for range n {
			if k.Allow(key) {
				got++
			}
		}
		return got
	}
	if got := allowed("a", 10); got != 3 {
		t.Fatalf("a: %d allowed, want the burst 3", got)
	}
	if got := allowed("b", 10); got != 3 {
		t.Fatalf("b is independent of a: %d allowed", got)
	}
	clk.advance(500 * time.Millisecond) // one token at 2/s
	if got := allowed("a", 10); got != 1 {
		t.Fatalf("a after 500ms: %d allowed, want 1", got)
	}
	if NewKeyedBuckets(0, 5, 0, nil) != nil || !(*KeyedBuckets)(nil).Allow("x") {
		t.Fatal("rate 0 must mean no limit")
	}
}

func TestKeyedBucketsForgetAndCap(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	k := NewKeyedBuckets(1, 2, 3, clk.now)
	for i := range 3 {
		k.Allow(fmt.Sprint(i))
		k.Allow(fmt.Sprint(i)) // each of 0, 1, 2 is empty now
	}
	// Full map, no bucket refilled: a new key is allowed, untracked.
	if !k.Allow("new") || !k.Allow("new") || !k.Allow("new") || k.Keys() != 3 {
		t.Fatalf("an untracked key past the cap: keys %d", k.Keys())
	}
	if k.Allow("0") {
		t.Fatal("a tracked empty bucket allowed")
	}
	clk.advance(2 * time.Second) // every bucket refilled
	if !k.Allow("new") || k.Keys() != 1 {
		t.Fatalf("refilled buckets were not forgotten: keys %d", k.Keys())
	}
	if !k.Allow("new") || k.Allow("new") {
		t.Fatal("the new key is tracked with its burst of 2")
	}
}
