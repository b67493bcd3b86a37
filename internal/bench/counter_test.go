package bench

import (
	"sync"
	"testing"
	"time"
)

func TestCounterWaitAtLeast(t *testing.T) {
	t.Parallel()
	c := NewCounter()
	if !c.WaitAtLeast(0, time.Now()) {
		t.Fatal("target 0 not reached at once")
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				c.Add(1)
			}
		})
	}
	if !c.WaitAtLeast(8000, time.Now().Add(time.Minute)) {
		t.Fatalf("8000 not reached: %d", c.Load())
	}
	wg.Wait()
	if c.WaitAtLeast(8001, time.Now().Add(10*time.Millisecond)) {
		t.Fatal("reported a target that was never reached")
	}
	if got := c.Add(5); got != 8005 {
		t.Fatalf("Add returned %d", got)
	}
}
