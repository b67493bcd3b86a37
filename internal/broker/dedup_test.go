package broker

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/internal/message"
)

// TestBundleStoredOnceWhenRetried: a bundle whose first attempt was
// stored but whose outcome its node did not learn (a time-out while the
// stream's leader changed) is sent again with the same id; the stream
// recognises it, the node takes the positions the first attempt got, and
// the topic holds the bundle once.
func TestBundleStoredOnceWhenRetried(t *testing.T) {
	srv := startJetStream(t)
	n := startQueueNode(t, srv, QueueStreamConfig{})
	b := n.b
	// The stream exists once a publish succeeds.
	if err := b.Publish(context.Background(), &message.Message{Topic: "dedup/warm"}); err != nil {
		t.Fatal(err)
	}
	subject := b.prefix + ".s.t.dedup.t"
	batch := func(data ...string) []*pending {
		var ps []*pending
		for _, d := range data {
			ps = append(ps, &pending{m: &message.Message{Topic: "dedup/t", Data: []byte(d)}})
		}
		return ps
	}
	var first tail
	one := batch("a", "b")
	if err := b.storeBundleID(&first, subject, one, "bundle-1"); err != nil {
		t.Fatal(err)
	}
	// The retry, from a node that knows the tail as it was before.
	var stale tail
	again := batch("a", "b")
	if err := b.storeBundleID(&stale, subject, again, "bundle-1"); err != nil {
		t.Fatal(err)
	}
	for i := range one {
		if again[i].m.Seq != one[i].m.Seq || again[i].m.Epoch != one[i].m.Epoch {
			t.Errorf("message %d: the retry got %d/%s, the stored attempt %d/%s", i, again[i].m.Seq, again[i].m.Epoch, one[i].m.Seq, one[i].m.Epoch)
		}
	}
	if stale.stream != first.stream || stale.seq != 2 {
		t.Errorf("the retry's tail is at stream %d, Seq %d; want the stored bundle's, stream %d, Seq 2", stale.stream, stale.seq, first.stream)
	}
	info, err := b.seq.js.StreamInfo(b.seq.cfg.Name, &nats.StreamInfoRequest{SubjectsFilter: subject})
	if err != nil {
		t.Fatal(err)
	}
	if got := info.State.Subjects[subject]; got != 1 {
		t.Fatalf("the topic holds %d stream messages, want the bundle once", got)
	}
	// A new bundle (a new id) after it is stored and continues the sequence.
	next := batch("c")
	if err := b.storeBundleID(&stale, subject, next, "bundle-2"); err != nil || next[0].m.Seq != 3 {
		t.Fatalf("the next bundle: Seq %d, %v", next[0].m.Seq, err)
	}
}
