package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/broker"
)

// TestRelayCarriesAStreamAcrossNodes: a long-lived answer served on the
// node that holds a key reaches the node that asked, part by part and in
// order (a part over the chunk size arrives whole once joined); the
// asking end's Close stops the serving end.
func TestRelayCarriesAStreamAcrossNodes(t *testing.T) {
	ms := startCluster(t, 2)
	holder, asker := ms[0].node.Broker(), ms[1].node.Broker()
	if err := holder.Owners("rly", func(k string) bool { return k == "held" }, func([]byte) []byte { return nil }); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("x"), 600<<10)
	more := make(chan struct{})
	stopped := make(chan error, 1)
	if err := holder.RelayOwners("rly", func(ctx context.Context, req []byte, send func([]byte) error) {
		if string(req) == "open" { // a stream that stays open until its client leaves
			_ = send([]byte("open-0"))
			<-ctx.Done()
			stopped <- send([]byte("too late"))
			return
		}
		for i := range 3 {
			if err := send(fmt.Appendf(nil, "%s-%d", req, i)); err != nil {
				t.Error(err)
			}
		}
		if err := send(big); err != nil {
			t.Error(err)
		}
		<-more
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// The holder's subscriptions reach the asker's server through the
	// routes a moment after they are made: wait until a forward finds it.
	for {
		if _, err := asker.Forward(ctx, "rly", "held", nil); err == nil {
			break
		} else if !errors.Is(err, broker.ErrNoOwner) {
			t.Fatal(err)
		}
	}
	if _, err := asker.ForwardRelay(ctx, "rly", "not-held", nil); !errors.Is(err, broker.ErrNoOwner) {
		t.Fatalf("relay for a key nobody holds: %v, want ErrNoOwner", err)
	}

	// An answer that ends: its parts, then EOF.
	r, err := asker.ForwardRelay(ctx, "rly", "held", []byte("ends"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		p, err := r.Next(ctx)
		if err != nil || string(p) != fmt.Sprintf("ends-%d", i) {
			t.Fatalf("part %d: %q, %v", i, p, err)
		}
	}
	var got []byte
	for len(got) < len(big) {
		p, err := r.Next(ctx)
		if err != nil {
			t.Fatalf("after %d bytes of the big part: %v", len(got), err)
		}
		got = append(got, p...)
	}
	if !bytes.Equal(got, big) {
		t.Fatal("the big part arrived changed")
	}
	close(more)
	if p, err := r.Next(ctx); err != io.EOF {
		t.Fatalf("after the last part: %q, %v; want EOF", p, err)
	}
	r.Close()

	// An answer that lasts until the asking end closes it.
	r, err = asker.ForwardRelay(ctx, "rly", "held", []byte("open"))
	if err != nil {
		t.Fatal(err)
	}
	if p, err := r.Next(ctx); err != nil || string(p) != "open-0" {
		t.Fatalf("first part: %q, %v", p, err)
	}
	r.Close()
	select {
	case err := <-stopped:
		if err == nil {
			t.Error("a send after the asking end closed succeeded")
		}
	case <-ctx.Done():
		t.Fatal("closing the asking end did not stop the serving end")
	}
}
