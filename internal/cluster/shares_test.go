package cluster

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/broker"
	"github.com/heraldhq/herald/internal/message"
)

// shareBox records what one node's part of a share group is given.
type shareBox struct {
	mu     sync.Mutex
	got    map[string]int // data -> deliveries
	held   []func(bool)   // done functions not called yet (hold mode)
	total  int
	hold   bool // keep messages unsettled
	nakOne bool // give each message back the first time
	signal chan struct{}
}

func newShareBox() *shareBox {
	return &shareBox{got: map[string]int{}, signal: make(chan struct{}, 1)}
}

// newShareBoxes returns boxes that share one arrival signal, for
// waiting on what they got together.
func newShareBoxes(n int) []*shareBox {
	signal := make(chan struct{}, 1)
	var bs []*shareBox
	for range n {
		bs = append(bs, &shareBox{got: map[string]int{}, signal: signal})
	}
	return bs
}

func (b *shareBox) deliver(m *message.Message, done func(bool)) {
	b.mu.Lock()
	k := string(m.Data)
	b.got[k]++
	b.total++
	first := b.got[k] == 1
	switch {
	case b.hold:
		b.held = append(b.held, done)
	case b.nakOne && first:
		defer done(false)
	default:
		defer done(true)
	}
	b.mu.Unlock()
	select {
	case b.signal <- struct{}{}:
	default:
	}
}

// waitFor waits until ok holds over the deliveries.
func (b *shareBox) waitFor(t *testing.T, what string, ok func(got map[string]int, total int) bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		got, n := b.snapshot()
		if ok(got, n) {
			return
		}
		select {
		case <-b.signal:
		case <-deadline:
			t.Fatalf("timed out waiting for %s; %d deliveries", what, n)
		}
	}
}

func (b *shareBox) snapshot() (map[string]int, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	got := make(map[string]int, len(b.got))
	for k, v := range b.got {
		got[k] = v
	}
	return got, b.total
}

func always() bool { return true }

// publishAll publishes n messages data "<prefix><i>" to topics from
// several goroutines at once, so that the stream bundles some.
func publishAll(t *testing.T, m member, prefix string, topics []string, n int) []string {
	t.Helper()
	var want []string
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < n; i += 4 {
				msg := &message.Message{Topic: topics[i%len(topics)], Data: fmt.Appendf(nil, "%s%d", prefix, i)}
				if err := m.router.Publish(context.Background(), msg); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	for i := range n {
		want = append(want, fmt.Sprintf("%s%d", prefix, i))
	}
	return want
}

// TestSharesOnceInTheCluster: a share group with a part on two nodes
// gets each matching message once in the whole cluster, on both nodes,
// bundles included; a second group gets them all too; topics the filter
// does not match ("$" topics for "#") are not delivered.
func TestSharesOnceInTheCluster(t *testing.T) {
	ms := startCluster(t, 3)
	cfg := broker.ShareConfig{AckWait: 2 * time.Second}
	ab := newShareBoxes(2)
	a, b, all := ab[0], ab[1], newShareBox()
	defer ms[0].node.Broker().Shares(cfg).Join("$share/g/sensors/#", "sensors/#", a.deliver, always)()
	defer ms[1].node.Broker().Shares(cfg).Join("$share/g/sensors/#", "sensors/#", b.deliver, always)()
	defer ms[1].node.Broker().Shares(cfg).Join("$share/h/#", "#", all.deliver, always)()
	// Warm-up messages until each part of g, and h, has had one: every
	// part has then bound to its group's consumer (DeliverPolicy new
	// starts at the consumer's creation; a node binds once its stream is
	// ready, a moment later on a loaded machine).
	for i := 0; ; i++ {
		publishAll(t, ms[2], fmt.Sprintf("warm%d-", i), []string{"sensors/warm"}, 1)
		time.Sleep(100 * time.Millisecond) // a retry interval while the consumers are created
		ga, _ := a.snapshot()
		gb, _ := b.snapshot()
		if len(ga) > 0 && len(gb) > 0 && func() bool { g, _ := all.snapshot(); return len(g) > 0 }() {
			break
		}
		if i > 300 {
			t.Fatalf("the share groups' parts never all got a message: node 0 %d, node 1 %d", len(ga), len(gb))
		}
	}
	_, at := a.snapshot()
	_, bt := b.snapshot()
	_, allt := all.snapshot()

	const n = 400
	want := publishAll(t, ms[2], "m", []string{"sensors/a", "sensors", "sensors/x/y", "sensors/"}, n)
	publishAll(t, ms[2], "x", []string{"other/a", "$SYS/sensors"}, 10) // sensors/# does not match these
	publishAll(t, ms[2], "end", []string{"sensors/end"}, 1)
	sum := func() map[string]int {
		ga, _ := a.snapshot()
		gb, _ := b.snapshot()
		for k, v := range gb {
			ga[k] += v
		}
		return ga
	}
	a.waitFor(t, "the group's messages", func(map[string]int, int) bool {
		s := sum()
		for _, w := range append(want, "end0") {
			if s[w] == 0 {
				return false
			}
		}
		return true
	})
	s := sum()
	for _, w := range want {
		if s[w] != 1 {
			t.Errorf("%s delivered %d times in the cluster, want once", w, s[w])
		}
	}
	for k := range s {
		if k[0] == 'x' {
			t.Errorf("%s delivered to sensors/#", k)
		}
	}
	_, at2 := a.snapshot()
	_, bt2 := b.snapshot()
	t.Logf("node 0 got %d, node 1 got %d", at2-at, bt2-bt)
	// Both parts pull from the group's consumer, so both get some; on a
	// loaded machine one may win every pull of a burst, so more rounds
	// follow (a bounded number) until each has had a turn.
	for round := 0; at2-at == 0 || bt2-bt == 0; round++ {
		if round == 20 {
			t.Fatalf("not balanced: node 0 got %d, node 1 got %d", at2-at, bt2-bt)
		}
		more := publishAll(t, ms[2], fmt.Sprintf("r%d-", round), []string{"sensors/a"}, 20)
		a.waitFor(t, "another round", func(map[string]int, int) bool {
			s := sum()
			for _, w := range more {
				if s[w] == 0 {
					return false
				}
			}
			return true
		})
		_, at2 = a.snapshot()
		_, bt2 = b.snapshot()
	}

	all.waitFor(t, "the second group's messages", func(got map[string]int, total int) bool { return got["end0"] == 1 })
	got, total := all.snapshot()
	for _, w := range want {
		if got[w] != 1 {
			t.Errorf("group h: %s delivered %d times, want once", w, got[w])
		}
	}
	other, sys := 0, 0
	for i := range 10 {
		if i%2 == 0 {
			other += got[fmt.Sprintf("x%d", i)]
		} else {
			sys += got[fmt.Sprintf("x%d", i)]
		}
	}
	if other != 5 || sys != 0 {
		t.Errorf("group h (#): other/a messages %d, $SYS messages %d; want 5 and none", other, sys)
	}
	if total-allt != n+5+1 {
		t.Errorf("group h: %d deliveries, want %d", total-allt, n+5+1)
	}
}

// TestSharesRedeliveredWhenANodeIsLost: messages a node holds unsettled
// when it leaves the cluster go to the group's part on another node.
func TestSharesRedeliveredWhenANodeIsLost(t *testing.T) {
	ms := startCluster(t, 3)
	cfg := broker.ShareConfig{AckWait: time.Second}
	lost, survivor := newShareBox(), newShareBox()
	lost.hold = true
	ms[0].node.Broker().Shares(cfg).Join("$share/g/q", "q", lost.deliver, always)
	for i := 0; ; i++ { // until the part on node 0 is bound
		publishAll(t, ms[2], fmt.Sprintf("warm%d-", i), []string{"q"}, 1)
		time.Sleep(100 * time.Millisecond) // a retry interval while the consumer is created
		if _, n := lost.snapshot(); n > 0 {
			break
		}
		if i > 150 {
			t.Fatal("the share group never got a message")
		}
	}
	const n = 20
	want := publishAll(t, ms[2], "m", []string{"q"}, n)
	lost.waitFor(t, "node 0's messages", func(got map[string]int, _ int) bool { return got[want[n-1]] > 0 })
	defer ms[1].node.Broker().Shares(cfg).Join("$share/g/q", "q", survivor.deliver, always)()
	ms[0].close() // never settled: the stream gives them to node 1
	survivor.waitFor(t, "the lost node's messages", func(got map[string]int, _ int) bool {
		for _, w := range want {
			if got[w] == 0 {
				return false
			}
		}
		return true
	})
	got, _ := survivor.snapshot()
	for _, w := range want {
		if got[w] != 1 {
			t.Errorf("%s redelivered %d times, want once", w, got[w])
		}
	}
}

// TestSharesGivenBack: a message given back (done(false)) is delivered
// again.
func TestSharesGivenBack(t *testing.T) {
	ms := startCluster(t, 2)
	box := newShareBox()
	box.nakOne = true
	defer ms[0].node.Broker().Shares(broker.ShareConfig{}).Join("$share/g/q/+", "q/+", box.deliver, always)()
	for i := 0; ; i++ {
		publishAll(t, ms[1], fmt.Sprintf("warm%d-", i), []string{"q/w"}, 1)
		time.Sleep(100 * time.Millisecond) // a retry interval while the consumer is created
		if _, n := box.snapshot(); n > 0 {
			break
		}
		if i > 150 {
			t.Fatal("the share group never got a message")
		}
	}
	want := publishAll(t, ms[1], "m", []string{"q/a", "q/b"}, 10)
	box.waitFor(t, "second deliveries", func(got map[string]int, _ int) bool {
		for _, w := range want {
			if got[w] < 2 {
				return false
			}
		}
		return true
	})
}
