package cluster

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/broker"
	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/router"
	"github.com/heraldhq/herald/internal/store"
)

// TestFileStorageSurvivesWholeClusterRestart: with file storage every
// node of a three-node cluster stops, the cluster starts again from its
// directories, and a client resuming from a position taken before gets
// what followed it, with no gap and no new epoch; the retained message is
// still there, and the sequence goes on.
func TestFileStorageSurvivesWholeClusterRestart(t *testing.T) {
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	ms, restart := startRestartableWith(t, 3, func(i int, cfg *Config) {
		cfg.Storage, cfg.StoreDir = broker.FileStorage, filepath.Join(dirs[i], "nats")
	})
	if st := ms[0].node.Status(); st.Storage != "file" || ms[0].node.Storage() != broker.FileStorage {
		t.Fatalf("status %+v", st)
	}
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
	ret := ms[2].node.Broker().Retained(store.NewMemoryRetained(100, 1<<20))
	if !ret.Set(&message.Message{Topic: "sensors/t", Data: []byte("21"), Retain: true}) {
		t.Fatal("Set refused")
	}
	// The bucket has it once another node's mirror does.
	waitRetained(t, ms[0].node.Broker().Retained(store.NewMemoryRetained(100, 1<<20)), "sensors/t", "21")

	for _, m := range ms {
		m.close()
	}
	for i := range ms {
		ms[i] = restart(i)
	}
	// JetStream recovers its files and elects leaders again first.
	for _, m := range ms {
		waitNodeReady(t, m.node)
	}
	waitMesh(t, ms)

	for i, m := range ms {
		var gaps []router.Gap
		var replayed []*message.Message
		if err := m.router.Subscribe(newInbox(), "keep", map[string]message.Position{"keep": msgs[1].Position()}, func(g []router.Gap, r []*message.Message) {
			gaps, replayed = g, r
		}); err != nil {
			t.Fatal(err)
		}
		if len(gaps) != 0 || len(replayed) != 3 {
			t.Fatalf("node %d after the restart: gaps %v, %d replayed", i, gaps, len(replayed))
		}
		for k, r := range replayed {
			if r.Seq != msgs[2+k].Seq || r.Epoch != msgs[2+k].Epoch || r.Data[0] != byte(2+k) {
				t.Fatalf("node %d replayed %s:%d %v, want %s:%d", i, r.Epoch, r.Seq, r.Data, msgs[2+k].Epoch, msgs[2+k].Seq)
			}
		}
		waitRetained(t, m.node.Broker().Retained(store.NewMemoryRetained(100, 1<<20)), "sensors/t", "21")
	}
	next := &message.Message{Topic: "keep", Data: []byte{5}}
	if err := ms[2].router.Publish(context.Background(), next); err != nil {
		t.Fatal(err)
	}
	if next.Seq != msgs[4].Seq+1 || next.Epoch != msgs[4].Epoch {
		t.Fatalf("next publish got %s:%d after %s:%d", next.Epoch, next.Seq, msgs[4].Epoch, msgs[4].Seq)
	}
}

// TestStorageMismatchRefused: a node configured with file storage that
// joins a cluster whose stream is in memory does not become ready, and
// says what to do; its publishes fail rather than wait.
func TestStorageMismatchRefused(t *testing.T) {
	again := false
	ms, restart := startRestartableWith(t, 3, func(i int, cfg *Config) {
		if i == 2 && again {
			cfg.Storage, cfg.StoreDir = broker.FileStorage, filepath.Join(t.TempDir(), "nats")
		}
	})
	ms[2].close()
	again = true
	ms[2] = restart(2)
	deadline := time.Now().Add(20 * time.Second)
	for !errors.Is(ms[2].node.Ready(), broker.ErrStorageMismatch) {
		if time.Now().After(deadline) {
			t.Fatalf("ready: %v, want a storage mismatch", ms[2].node.Ready())
		}
		time.Sleep(50 * time.Millisecond) // polling readiness
	}
	t.Log(ms[2].node.Ready())
	err := ms[2].router.Publish(context.Background(), &message.Message{Topic: "x"})
	if !errors.Is(err, broker.ErrStorageMismatch) {
		t.Fatalf("publish: %v", err)
	}
	if ms[0].node.Ready() != nil {
		t.Fatalf("the others: %v", ms[0].node.Ready())
	}
}

func waitRetained(t *testing.T, r store.Retained, topic, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var got string
		r.Match(topic, func(m *message.Message) { got = string(m.Data) })
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("retained %s = %q, want %q", topic, got, want)
		}
		time.Sleep(20 * time.Millisecond) // the watcher applies the bucket's updates
	}
}

// waitNodeReady waits (30 s at most) until n is ready: routed, and the
// stream has a leader.
func waitNodeReady(t *testing.T, n *Node) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for n.Ready() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready: %v", n.cfg.Node, n.Ready())
		}
		time.Sleep(50 * time.Millisecond) // polling readiness
	}
}
