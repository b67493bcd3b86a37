package sched

import (
	"sync"
	"sync/atomic"
	"testing"
)

type fnRunnable func()

func (f fnRunnable) Run() { f() }

func TestPoolRunsEverything(t *testing.T) {
	p := NewPool(4)
	var n atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1000)
	for range 1000 {
		if !p.Submit(fnRunnable(func() { n.Add(1); wg.Done() })) {
			t.Fatal("submit refused on an open pool")
		}
	}
	wg.Wait()
	p.Close()
	if n.Load() != 1000 {
		t.Fatalf("ran %d of 1000", n.Load())
	}
	if p.Submit(fnRunnable(func() {})) {
		t.Fatal("submit accepted after Close")
	}
}

func TestCloseDrainsQueue(t *testing.T) {
	p := NewPool(1)
	block := make(chan struct{})
	var n atomic.Int64
	p.Submit(fnRunnable(func() { <-block }))
	for range 100 {
		p.Submit(fnRunnable(func() { n.Add(1) }))
	}
	close(block)
	p.Close()
	if n.Load() != 100 {
		t.Fatalf("Close ran %d of 100 queued", n.Load())
	}
}

func TestSerialKeepsOrderAcrossMailboxes(t *testing.T) {
	p := NewPool(8)
	defer p.Close()
	const boxes, per = 50, 200
	var wg sync.WaitGroup
	wg.Add(boxes * per)
	bad := atomic.Int64{}
	for range boxes {
		s := p.NewSerial(per)
		next := 0 // touched only by the mailbox's functions: the race detector checks they never overlap
		for i := range per {
			if !s.Push(func() {
				if next != i {
					bad.Add(1)
				}
				next++
				wg.Done()
			}) {
				t.Fatal("push refused below the limit")
			}
		}
	}
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d functions ran out of order", bad.Load())
	}
}

func TestSerialLimitAndClose(t *testing.T) {
	p := NewPool(1)
	defer p.Close()
	block := make(chan struct{})
	started := make(chan struct{})
	s := p.NewSerial(2)
	s.Push(func() { close(started); <-block })
	<-started // the running function no longer counts against the limit
	if !s.Push(func() {}) || !s.Push(func() {}) {
		t.Fatal("push refused below the limit")
	}
	if s.Push(func() {}) {
		t.Fatal("push accepted beyond the limit")
	}
	if s.Len() != 2 {
		t.Fatalf("Len = %d, want 2", s.Len())
	}
	s.Close()
	if s.Push(func() {}) {
		t.Fatal("push accepted after Close")
	}
	close(block)
}

func BenchmarkSerialPush(b *testing.B) {
	p := NewPool(2)
	defer p.Close()
	s := p.NewSerial(1 << 20)
	var wg sync.WaitGroup
	b.ReportAllocs()
	wg.Add(b.N)
	fn := func() { wg.Done() }
	for b.Loop() {
		for !s.Push(fn) {
		}
	}
	wg.Wait()
}

func TestDrainRunsPendingThenLast(t *testing.T) {
	p := NewPool(1)
	defer p.Close()
	block := make(chan struct{})
	s := p.NewSerial(4)
	var order []int
	done := make(chan struct{})
	s.Push(func() { <-block; order = append(order, 1) })
	s.Push(func() { order = append(order, 2) })
	s.Drain(func() { order = append(order, 3); close(done) })
	if s.Push(func() { order = append(order, 4) }) {
		t.Fatal("push accepted after Drain")
	}
	close(block)
	<-done
	if len(order) != 3 || order[0] != 1 || order[1] != 2 || order[2] != 3 {
		t.Fatalf("order = %v, want [1 2 3]", order)
	}
}

func TestDrainOnClosedPoolRunsOnCaller(t *testing.T) {
	p := NewPool(1)
	s := p.NewSerial(4)
	p.Close()
	ran := false
	s.Drain(func() { ran = true })
	if !ran {
		t.Fatal("last did not run")
	}
}
