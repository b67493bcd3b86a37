package cluster

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/heraldhq/herald/internal/message"
)

// TestPublishAsyncAcrossNodes: one caller on one node publishes to two
// topics without waiting (router.PublishAsync); each done is called once
// with the message's Seq, and another node receives each topic's
// messages in call order with Seq 1, 2, ... (ADR 0018).
func TestPublishAsyncAcrossNodes(t *testing.T) {
	ms := startCluster(t, 3)
	box := newInbox()
	for _, tp := range []string{"pa/x", "pa/y"} {
		if err := ms[1].router.Subscribe(box, tp, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if !ms[0].router.Sequenced() {
		t.Fatal("a cluster node's router is not sequenced")
	}
	const n = 200
	var mu sync.Mutex
	calls := make([]int, n)
	seqs := make([]uint64, n)
	var wg sync.WaitGroup
	for i := range n {
		m := &message.Message{Topic: []string{"pa/x", "pa/y"}[i%2], Data: fmt.Append(nil, i)}
		wg.Add(1)
		ms[0].router.PublishAsync(context.Background(), m, func(err error) {
			if err != nil {
				t.Errorf("publish %d: %v", i, err)
			}
			mu.Lock()
			calls[i]++
			seqs[i] = m.Seq
			mu.Unlock()
			wg.Done()
		})
	}
	wg.Wait()
	for i := range n {
		if calls[i] != 1 || seqs[i] != uint64(i/2+1) {
			t.Fatalf("publish %d: done called %d times, Seq %d; want once, Seq %d", i, calls[i], seqs[i], i/2+1)
		}
	}
	msgs := box.waitFor(t, "every publish on node 1", func(m []*message.Message) bool { return len(m) >= n })
	next := map[string]int{"pa/x": 0, "pa/y": 1}
	for _, m := range msgs {
		want := next[m.Topic]
		if string(m.Data) != fmt.Sprint(want) || m.Seq != uint64(want/2+1) {
			t.Fatalf("%s: got %s (Seq %d), want %d (Seq %d)", m.Topic, m.Data, m.Seq, want, want/2+1)
		}
		next[m.Topic] += 2
	}
	if len(msgs) != n {
		t.Fatalf("node 1 received %d, want %d", len(msgs), n)
	}
}
