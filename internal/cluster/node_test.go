package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/router"
	"github.com/heraldhq/herald/internal/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// nats-server's process-wide helpers, started once and kept.
		goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server.(*ipQueue[...]).pop"),
		goleak.IgnoreAnyFunction("github.com/nats-io/nats-server/v2/server.(*Server).startGoRoutine.func1"),
		// nats-server v2.12.5 leaves the file store of its JetStream
		// metadata running when a server shuts down before its JetStream
		// cluster ever formed (TestNotReadyWithoutPeers: a node whose
		// seeds never answer); the store holds the ats clock goroutine.
		goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server.(*fileStore).flushStreamStateLoop"),
		goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server/ats.Register.func1"),
	)
}

// inbox is a router.Subscriber that keeps what it is given, signalling
// each arrival.
type inbox struct {
	mu     sync.Mutex
	msgs   []*message.Message
	signal chan struct{}
}

func newInbox() *inbox { return &inbox{signal: make(chan struct{}, 1)} }

func (b *inbox) Deliver(m *message.Message) {
	b.mu.Lock()
	b.msgs = append(b.msgs, m)
	b.mu.Unlock()
	select {
	case b.signal <- struct{}{}:
	default:
	}
}

// waitFor waits until ok holds over the messages received.
func (b *inbox) waitFor(t *testing.T, what string, ok func([]*message.Message) bool) []*message.Message {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		b.mu.Lock()
		msgs := append([]*message.Message(nil), b.msgs...)
		b.mu.Unlock()
		if ok(msgs) {
			return msgs
		}
		select {
		case <-b.signal:
		case <-deadline:
			t.Fatalf("timed out waiting for %s; have %d messages", what, len(msgs))
		}
	}
}

// member is one node of a test cluster with its router.
type member struct {
	node   *Node
	router *router.Router
}

// startCluster starts n embedded nodes, each seeded with all the others,
// and waits until a message published anywhere reaches every node.
func startCluster(t *testing.T, n int) []member {
	t.Helper()
	ms, _ := startRestartable(t, n)
	return ms
}

// startRestartable is startCluster, and a function that starts node i
// again (same name and route address) after it was closed.
func startRestartable(t *testing.T, n int) ([]member, func(i int) member) {
	t.Helper()
	return startRestartableWith(t, n, nil)
}

// startRestartableWith is startRestartable with each node's configuration
// changed by with (if not nil) at each start.
func startRestartableWith(t *testing.T, n int, with func(i int, cfg *Config)) ([]member, func(i int) member) {
	t.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = ln.Addr().String()
		ln.Close()
	}
	start := func(i int) member {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cfg := Config{Name: "test", Node: fmt.Sprintf("n%d", i), Listen: addrs[i], HistorySize: 100}
		for j, a := range addrs {
			if j != i {
				cfg.Routes = append(cfg.Routes, a)
			}
		}
		if with != nil {
			with(i, &cfg)
		}
		node, err := Start(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		r := router.New(router.Options{HistorySize: 100, Broker: node.Broker(), History: node.Broker().History(store.NewMemoryHistory(100, 0))})
		m := member{node, r}
		t.Cleanup(m.close)
		return m
	}
	var ms []member
	for i := range n {
		ms = append(ms, start(i))
	}
	waitMesh(t, ms)
	return ms, start
}

func (m member) close() {
	m.router.Close()
	m.node.Close()
}

// waitMesh waits until a message published on any node reaches every
// other: routes are up and the subscriptions have crossed them.
func waitMesh(t *testing.T, ms []member) {
	t.Helper()
	boxes := make([]*inbox, len(ms))
	for i, m := range ms {
		boxes[i] = newInbox()
		if err := m.router.Subscribe(boxes[i], "mesh/#", nil, nil); err != nil {
			t.Fatal(err)
		}
		defer m.router.Unsubscribe(boxes[i], "mesh/#")
	}
	deadline := time.Now().Add(15 * time.Second)
	for round := 0; ; round++ {
		for i, m := range ms {
			if err := m.router.Publish(context.Background(), &message.Message{Topic: fmt.Sprintf("mesh/%d/%d", i, round)}); err != nil {
				t.Fatal(err)
			}
		}
		for _, m := range ms { // a round trip through each server orders the probes
			m.node.broker.Flush(context.Background())
		}
		all := true
		for _, b := range boxes {
			b.mu.Lock()
			seen := map[string]bool{}
			for _, m := range b.msgs {
				if strings.HasSuffix(m.Topic, fmt.Sprintf("/%d", round)) {
					seen[m.Topic] = true
				}
			}
			b.mu.Unlock()
			all = all && len(seen) == len(ms)
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the cluster did not form")
		}
		time.Sleep(50 * time.Millisecond) // a retry interval, not a synchronisation
	}
}

func TestClusterDeliversEverywhereOnce(t *testing.T) {
	ms := startCluster(t, 3)
	for _, m := range ms {
		if err := m.node.Ready(); err != nil {
			t.Fatalf("%s not ready: %v", m.node.cfg.Node, err)
		}
		if s := m.node.Status(); s.Routes != 2 || !s.Connected || s.Mode != "embedded" {
			t.Fatalf("status %+v", s)
		}
	}
	const topicName = "room/a.b/*>/$x"
	const perNode = 200
	boxes := make([]*inbox, len(ms))
	for i, m := range ms {
		boxes[i] = newInbox()
		// Two overlapping filters: still one delivery per message.
		for _, f := range []string{"room/#", "room/+/+/+"} {
			if err := m.router.Subscribe(boxes[i], f, nil, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Go(func() {
			for k := range perNode {
				msg := &message.Message{Topic: topicName, Data: fmt.Appendf(nil, "%d:%d", i, k), ContentType: "text/plain",
					Headers: []message.Header{{Key: "from", Value: fmt.Sprint(i)}}}
				if err := m.router.Publish(context.Background(), msg); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	var first []*message.Message // node 0's stream, which every node must share
	for i, b := range boxes {
		msgs := b.waitFor(t, fmt.Sprintf("node %d's messages", i), func(ms []*message.Message) bool { return len(ms) >= 3*perNode })
		if i == 0 {
			first = msgs
		}
		for j, m := range msgs {
			if m.Seq != first[j].Seq || m.Epoch != first[j].Epoch || string(m.Data) != string(first[j].Data) {
				t.Fatalf("node %d: message %d is %s:%d %q, node 0 has %s:%d %q: not one stream", i, j, m.Epoch, m.Seq, m.Data, first[j].Epoch, first[j].Seq, first[j].Data)
			}
		}
		next := make([]int, len(ms)) // per publisher, the next k expected
		for j, m := range msgs {
			if m.Seq != uint64(j+1) || m.Epoch != msgs[0].Epoch {
				t.Fatalf("node %d: message %d has %s:%d, want a contiguous sequence", i, j, m.Epoch, m.Seq)
			}
			var from, k int
			if _, err := fmt.Sscanf(string(m.Data), "%d:%d", &from, &k); err != nil || m.Topic != topicName || m.ContentType != "text/plain" ||
				len(m.Headers) != 1 || m.Headers[0].Value != fmt.Sprint(from) {
				t.Fatalf("node %d: bad message %+v", i, m)
			}
			if k != next[from] {
				t.Fatalf("node %d: from node %d got #%d, want #%d (lost, duplicated or reordered)", i, from, k, next[from])
			}
			next[from]++
		}
		// A last round trip: nothing more is on its way.
		for _, m := range ms {
			m.node.broker.Flush(context.Background())
		}
		if len(b.msgs) != 3*perNode {
			t.Fatalf("node %d: %d messages, want %d", i, len(b.msgs), 3*perNode)
		}
	}
	for i, m := range ms {
		st := m.node.Status()
		if st.Out < perNode || st.In < 2*perNode || st.Bad != 0 || st.Dropped != 0 {
			t.Errorf("node %d: stats %+v", i, st)
		}
		if rs := m.router.Stats(); rs.Received < 2*perNode {
			t.Errorf("node %d: router received %d", i, rs.Received)
		}
		// Route figures: one entry per peer, named, with the traffic.
		routes := m.node.Routes()
		for j := range ms {
			r, ok := routes[fmt.Sprintf("n%d", j)]
			if j == i {
				if ok {
					t.Errorf("node %d lists itself as a peer", i)
				}
				continue
			}
			if !ok || r.Routes == 0 || r.InMsgs == 0 || r.OutMsgs == 0 || r.InBytes == 0 || r.OutBytes == 0 {
				t.Errorf("node %d: route to n%d: %+v (of %v)", i, j, r, routes)
			}
		}
		if len(routes) != len(ms)-1 {
			t.Errorf("node %d: routes to %d peers, want %d: %v", i, len(routes), len(ms)-1, routes)
		}
	}
}

func TestResumeOnAnotherNode(t *testing.T) {
	ms := startCluster(t, 2)
	a, b := ms[0], ms[1]
	box := newInbox()
	if err := b.router.Subscribe(box, "r", nil, nil); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := a.router.Publish(context.Background(), &message.Message{Topic: "r", Data: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	msgs := box.waitFor(t, "5 messages", func(m []*message.Message) bool { return len(m) == 5 })
	// A client of node b that saw up to #2 resumes on b: #3..#5 replayed from b's history, no gap.
	re := newInbox()
	var gaps []router.Gap
	var replayed []*message.Message
	err := b.router.Subscribe(re, "r", map[string]message.Position{"r": msgs[1].Position()}, func(g []router.Gap, m []*message.Message) {
		gaps, replayed = g, m
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(gaps) != 0 || len(replayed) != 3 || replayed[0].Data[0] != 2 {
		t.Fatalf("resume on the same node: gaps %v, %d replayed", gaps, len(replayed))
	}
	// The same position means the same on node a, even if node a has not
	// received everything yet (the resume waits for it to reach the
	// position): #3..#5, from replay and then live, once, no gap.
	onA := newInbox()
	gaps = nil
	if err := a.router.Subscribe(onA, "r", map[string]message.Position{"r": msgs[1].Position()}, func(g []router.Gap, m []*message.Message) {
		gaps = g
		for _, x := range m {
			onA.Deliver(x)
		}
	}); err != nil {
		t.Fatal(err)
	}
	got := onA.waitFor(t, "#3..#5 on node a", func(m []*message.Message) bool { return len(m) >= 3 })
	if len(gaps) != 0 {
		t.Fatalf("resume on another node: gaps %v", gaps)
	}
	for i, m := range got {
		if m.Seq != msgs[2+i].Seq || m.Epoch != msgs[2+i].Epoch || m.Data[0] != byte(2+i) {
			t.Fatalf("resume on another node: #%d is %s:%d, want %s:%d", i, m.Epoch, m.Seq, msgs[2+i].Epoch, msgs[2+i].Seq)
		}
	}
	for _, m := range ms {
		m.node.Broker().Flush(context.Background())
	}
	onA.mu.Lock()
	n := len(onA.msgs)
	onA.mu.Unlock()
	if n != 3 {
		t.Fatalf("node a delivered %d messages after the position, want 3", n)
	}
}

func TestRestartedNodeResumesFromTheStream(t *testing.T) {
	ms, restart := startRestartable(t, 3)
	box := newInbox()
	if err := ms[0].router.Subscribe(box, "keep", nil, nil); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := ms[1].router.Publish(context.Background(), &message.Message{Topic: "keep", Data: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	msgs := box.waitFor(t, "5 messages", func(m []*message.Message) bool { return len(m) == 5 })
	// Node 2 goes and comes back empty: it never saw these messages.
	ms[2].close()
	ms[2] = restart(2)
	waitMesh(t, ms)
	var gaps []router.Gap
	var replayed []*message.Message
	if err := ms[2].router.Subscribe(newInbox(), "keep", map[string]message.Position{"keep": msgs[1].Position()}, func(g []router.Gap, m []*message.Message) {
		gaps, replayed = g, m
	}); err != nil {
		t.Fatal(err)
	}
	if len(gaps) != 0 || len(replayed) != 3 || replayed[0].Seq != msgs[2].Seq || replayed[0].Epoch != msgs[2].Epoch || replayed[2].Data[0] != 4 {
		t.Fatalf("resume on the restarted node: gaps %v, replayed %d", gaps, len(replayed))
	}
	// And its next publish continues the same sequence.
	m := &message.Message{Topic: "keep", Data: []byte{5}}
	if err := ms[2].router.Publish(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if m.Seq != msgs[4].Seq+1 || m.Epoch != msgs[4].Epoch {
		t.Fatalf("next publish got %s:%d after %s:%d", m.Epoch, m.Seq, msgs[4].Epoch, msgs[4].Seq)
	}
}

func TestConcurrentPublishersOnOneTopicShareOneSequence(t *testing.T) {
	ms := startCluster(t, 3)
	boxes := make([]*inbox, len(ms))
	for i, m := range ms {
		boxes[i] = newInbox()
		if err := m.router.Subscribe(boxes[i], "hot", nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Every node publishes to the same topic at once: each publish races
	// the others for the next sequence number; the stream decides.
	const perNode = 50
	var wg sync.WaitGroup
	for i, m := range ms {
		for g := range 2 {
			wg.Go(func() {
				for k := range perNode / 2 {
					if err := m.router.Publish(context.Background(), &message.Message{Topic: "hot", Data: fmt.Appendf(nil, "%d/%d/%d", i, g, k)}); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	var first []*message.Message
	for i, b := range boxes {
		msgs := b.waitFor(t, "every publish", func(m []*message.Message) bool { return len(m) >= 3*perNode })
		if i == 0 {
			first = msgs
		}
		for j, m := range msgs {
			if m.Seq != uint64(j+1) || m.Epoch != first[0].Epoch || string(m.Data) != string(first[j].Data) {
				t.Fatalf("node %d, #%d: %s:%d %q; node 0: %s:%d %q", i, j, m.Epoch, m.Seq, m.Data, first[j].Epoch, first[j].Seq, first[j].Data)
			}
		}
	}
	var retries uint64
	for _, m := range ms {
		retries += m.node.Status().Retries
	}
	t.Logf("%d publishes retried after another node went first", retries)
}

func TestExclusiveAndMissingModes(t *testing.T) {
	ctx := context.Background()
	if _, err := Start(ctx, Config{Listen: "127.0.0.1:0", URL: "nats://127.0.0.1:1"}); !errors.Is(err, ErrConfig) {
		t.Errorf("listen+url: %v", err)
	}
	if _, err := Start(ctx, Config{Routes: []string{"127.0.0.1:1"}}); !errors.Is(err, ErrConfig) {
		t.Errorf("routes without listen: %v", err)
	}
	if _, err := Start(ctx, Config{Listen: "127.0.0.1:0", Routes: []string{"http://x:1"}}); !errors.Is(err, ErrConfig) {
		t.Errorf("bad route: %v", err)
	}
	if !(Config{}).IsZero() || (Config{URL: "nats://x"}).IsZero() {
		t.Error("IsZero")
	}
}

func TestNotReadyWithoutPeers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A seed nobody listens on: the node runs, but it is not ready.
	n, err := Start(ctx, Config{Listen: "127.0.0.1:0", Routes: []string{"127.0.0.1:9"}})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if err := n.Ready(); !errors.Is(err, ErrNotReady) {
		t.Fatalf("Ready = %v, want ErrNotReady", err)
	}
}

func TestRetainedSharedByEveryNode(t *testing.T) {
	ms, restart := startRestartable(t, 3)
	stores := make([]store.Retained, len(ms))
	for i, m := range ms {
		stores[i] = m.node.Broker().Retained(store.NewMemoryRetained(100, 1<<20))
	}
	held := func(i int, topic string) string {
		var data string
		stores[i].Match(topic, func(m *message.Message) { data = string(m.Data) })
		return data
	}
	waitHeld := func(i int, topic, want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for held(i, topic) != want {
			if time.Now().After(deadline) {
				t.Fatalf("node %d holds %q for %s, want %q", i, held(i, topic), topic, want)
			}
			time.Sleep(20 * time.Millisecond) // the watcher applies the bucket's updates
		}
	}
	if !stores[0].Set(&message.Message{Topic: "sensors/a.b", Data: []byte("21"), Retain: true}) {
		t.Fatal("Set refused")
	}
	if held(0, "sensors/a.b") != "21" {
		t.Fatal("not held at once on the node that set it")
	}
	waitHeld(1, "sensors/a.b", "21")
	waitHeld(2, "sensors/a.b", "21")
	stores[1].Set(&message.Message{Topic: "sensors/a.b", Data: []byte("22"), Retain: true})
	waitHeld(0, "sensors/a.b", "22")
	// A node that starts later finds what is retained.
	ms[2].close()
	ms[2] = restart(2)
	stores[2] = ms[2].node.Broker().Retained(store.NewMemoryRetained(100, 1<<20))
	waitHeld(2, "sensors/a.b", "22")
	// An empty message deletes everywhere.
	stores[2].Set(&message.Message{Topic: "sensors/a.b", Retain: true})
	waitHeld(0, "sensors/a.b", "")
	waitHeld(1, "sensors/a.b", "")
}
