package stomp_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/broker"
	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/queue"
	"github.com/heraldhq/herald/internal/router"
)

// heldBroker is a cluster node's broker whose stream answers when the
// test says (PublishAsync holds each publish until complete). The real
// stream is in internal/broker's and cmd/herald's tests; this one lets
// the test choose the order of the answers.
type heldBroker struct {
	broker.Memory
	mu      sync.Mutex
	held    []heldPub
	arrived chan struct{}
}

type heldPub struct {
	m    *message.Message
	done func(error)
}

func (b *heldBroker) Sequenced() bool                         { return true }
func (b *heldBroker) TopicTail(string) (uint64, string, bool) { return 0, "", false }

func (b *heldBroker) PublishAsync(m *message.Message, done func(error)) bool {
	b.mu.Lock()
	b.held = append(b.held, heldPub{m, done})
	b.mu.Unlock()
	b.arrived <- struct{}{}
	return true
}

func (b *heldBroker) complete(i int, err error) {
	b.mu.Lock()
	h := b.held[i]
	b.mu.Unlock()
	if err == nil {
		b.Memory.Publish(context.Background(), h.m)
	}
	h.done(err)
}

// A connection's SENDs to topics are all in flight at once on a cluster
// node; the stream answers out of order; RECEIPTs still leave in frame
// order. A SEND the stream could not take ends the connection with an
// ERROR carrying its receipt-id, after the receipts before it and with
// none after it.
func TestPipelinedSendsKeepReceiptOrder(t *testing.T) {
	br := &heldBroker{arrived: make(chan struct{}, 64)}
	r := router.New(router.Options{Broker: br})
	qs, err := queue.Open(queue.Options{})
	if err != nil {
		t.Fatal(err)
	}
	conn, nextIn := serveSTOMP(t, core.New(core.Config{Router: r}), qs, func() { r.Close() })
	next := func() (string, error) { return nextIn(5 * time.Second) }
	conn.Write([]byte("CONNECT\naccept-version:1.2\nhost:h\n\n\x00"))
	if f, err := next(); err != nil || !strings.HasPrefix(f, "CONNECTED") {
		t.Fatalf("CONNECT: %q %v", f, err)
	}
	conn.Write([]byte("SEND\ndestination:/topic/t.1\nreceipt:r1\n\na\x00" +
		"SEND\ndestination:/topic/t.2\nreceipt:r2\n\nb\x00" +
		"SEND\ndestination:/topic/t.1\n\nc\x00" +
		"SEND\ndestination:/topic/t.1\nreceipt:r4\n\nd\x00"))
	for range 4 { // all four in flight, none answered
		<-br.arrived
	}
	br.complete(1, nil)
	br.complete(3, nil)
	br.complete(0, nil)
	br.complete(2, nil)
	for _, id := range []string{"r1", "r2", "r4"} {
		if f, err := next(); err != nil || !strings.HasPrefix(f, "RECEIPT\nreceipt-id:"+id+"\n") {
			t.Fatalf("got %q %v, want the RECEIPT of %s", f, err, id)
		}
	}

	conn.Write([]byte("SEND\ndestination:/topic/t.1\nreceipt:r5\n\ne\x00" +
		"SEND\ndestination:/topic/t.2\nreceipt:r6\n\nf\x00"))
	<-br.arrived
	<-br.arrived
	br.complete(5, nil)
	br.complete(4, errors.New("stream unavailable"))
	f, err := next()
	if err != nil || !strings.HasPrefix(f, "ERROR\n") || !strings.Contains(f, "receipt-id:r5\n") {
		t.Fatalf("got %q %v, want the ERROR of r5", f, err)
	}
	if f, err := next(); err == nil {
		t.Fatalf("got %q after the ERROR", f)
	}
}
