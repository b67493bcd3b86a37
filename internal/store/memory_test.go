package store

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/message"
)

func (h *MemoryHistory) topicCount() int {
	n := 0
	for i := range h.shards {
		h.shards[i].mu.Lock()
		n += len(h.shards[i].topics)
		h.shards[i].mu.Unlock()
	}
	return n
}

func (h *MemoryHistory) ringOf(topic string) *topicRing {
	s := h.shard(topic)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.topics[topic]
}

func TestMemoryHistoryGrowsLazily(t *testing.T) {
	h := NewMemoryHistory(100_000, 0)
	h.Append(&message.Message{Topic: "t", Epoch: "e", Seq: 1})
	if r := h.ringOf("t"); r == nil || len(r.buf) > minRing {
		t.Fatalf("one message allocated %d slots", len(r.buf))
	}
	for i := uint64(2); i <= 100; i++ {
		h.Append(&message.Message{Topic: "t", Epoch: "e", Seq: i})
	}
	if r := h.ringOf("t"); len(r.buf) != 128 {
		t.Fatalf("100 messages use %d slots, want 128", len(r.buf))
	}
}

func TestMemoryHistoryTrimForgetsEmptyTopics(t *testing.T) {
	t0 := time.Unix(0, 0)
	h := NewMemoryHistory(10, time.Minute)
	for i := range 500 {
		h.Append(&message.Message{Topic: fmt.Sprint("t/", i), Epoch: "e", Seq: 1, Time: t0.Add(time.Duration(i) * time.Second)})
	}
	h.Trim(t0.Add(time.Minute + 99*time.Second)) // t/0..t/99 expire
	if n := h.topicCount(); n != 400 {
		t.Fatalf("%d topics left, want 400", n)
	}
	h.Trim(t0.Add(time.Hour))
	if n := h.topicCount(); n != 0 {
		t.Fatalf("%d topics left, want 0", n)
	}
	for i := range h.shards {
		if h.shards[i].timed {
			t.Fatalf("shard %d still timed after holding nothing", i)
		}
	}
}

// TestMemoryHistoryTrimSkipsUnexpiredShards checks the cheap path: while
// nothing can have expired, Trim must not walk the shards' topics. We make
// the walk observable by planting a ring that would be trimmed if walked.
func TestMemoryHistoryTrimSkipsUnexpiredShards(t *testing.T) {
	t0 := time.Unix(0, 0)
	h := NewMemoryHistory(10, time.Minute)
	h.Append(&message.Message{Topic: "t", Epoch: "e", Seq: 1, Time: t0.Add(time.Hour)})
	r := h.ringOf("t")
	r.buf[r.head].Time = t0 // pretend: the shard believes its oldest is t0+1h
	h.Trim(t0.Add(30 * time.Minute))
	if h.Since("t", 0, nil) != 1 {
		t.Fatal("Trim walked a shard whose oldest message had not expired")
	}
}

func TestMemoryHistoryConcurrent(t *testing.T) {
	t0 := time.Unix(0, 0)
	h := NewMemoryHistory(16, time.Second)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			topic := fmt.Sprint("topic/", w)
			for seq := uint64(1); seq <= 2000; seq++ {
				h.Append(&message.Message{Topic: topic, Epoch: "e", Seq: seq, Time: t0.Add(time.Duration(seq) * time.Millisecond)})
				if seq%7 == 0 {
					// Trim and Drop run concurrently, so only order and
					// bounds are certain, not what is still held.
					after, last := seq-min(seq, 10), uint64(0)
					h.Since(topic, after, func(m *message.Message) {
						if m.Seq <= last || m.Seq <= after || m.Seq > seq {
							t.Errorf("%s: Since yielded %d after %d (appended up to %d)", topic, m.Seq, last, seq)
						}
						last = m.Seq
					})
				}
			}
		}()
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range 200 {
			h.Trim(t0.Add(time.Duration(i*10) * time.Millisecond))
		}
	}()
	go func() {
		defer wg.Done()
		for range 200 {
			h.Drop("topic/0")
		}
	}()
	wg.Wait()
}

func BenchmarkMemoryHistoryAppend(b *testing.B) {
	msgs := make([]*message.Message, 1024)
	for i := range msgs {
		msgs[i] = &message.Message{Topic: "t", Epoch: "e", Seq: uint64(i + 1)}
	}
	h := NewMemoryHistory(256, 0)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		h.Append(msgs[i%len(msgs)])
		i++
	}
}

func BenchmarkMemoryHistoryAppendParallel(b *testing.B) {
	h := NewMemoryHistory(256, 0)
	var mu sync.Mutex
	next := 0
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		mu.Lock()
		topic := fmt.Sprint("t/", next)
		next++
		mu.Unlock()
		m := &message.Message{Topic: topic, Epoch: "e", Seq: 1}
		for pb.Next() {
			h.Append(m)
		}
	})
}

func BenchmarkMemoryHistoryTrimNothingExpired(b *testing.B) {
	t0 := time.Unix(0, 0)
	h := NewMemoryHistory(10, time.Hour)
	for i := range 10_000 {
		h.Append(&message.Message{Topic: fmt.Sprint("t/", i), Epoch: "e", Seq: 1, Time: t0})
	}
	b.ReportAllocs()
	for b.Loop() {
		h.Trim(t0.Add(time.Minute))
	}
}
