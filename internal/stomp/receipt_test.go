package stomp_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/durable"
	"github.com/heraldhq/herald/internal/queue"
)

// heldKV is a store whose barriers wait for the test.
type heldKV struct {
	*durable.DB
	mu    sync.Mutex
	held  []func(error)
	ready chan struct{}
}

func (h *heldKV) Barrier(done func(error)) {
	h.mu.Lock()
	h.held = append(h.held, done)
	h.mu.Unlock()
	h.ready <- struct{}{}
}

func (h *heldKV) release() {
	h.mu.Lock()
	held := h.held
	h.held = nil
	h.mu.Unlock()
	for _, f := range held {
		h.DB.Barrier(f)
	}
}

// A RECEIPT for a SEND to a persisted queue waits for the store, and the
// receipts after it wait behind it.
func TestReceiptWaitsForStore(t *testing.T) {
	db, err := durable.Open(t.TempDir(), durable.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := &heldKV{DB: db, ready: make(chan struct{}, 16)}
	qs, err := queue.Open(queue.Options{Store: h})
	if err != nil {
		t.Fatal(err)
	}
	conn, next := serveSTOMP(t, core.New(core.Config{}), qs, func() { db.Close() })
	conn.Write([]byte("CONNECT\naccept-version:1.2\nhost:h\n\n\x00"))
	if f, err := next(5 * time.Second); err != nil || !strings.HasPrefix(f, "CONNECTED") {
		t.Fatalf("CONNECT: %q %v", f, err)
	}
	conn.Write([]byte("SEND\ndestination:/queue/q\nreceipt:r1\n\nm\x00" +
		"SUBSCRIBE\nid:s\ndestination:/topic/t\nreceipt:r2\n\n\x00"))
	<-h.ready
	<-h.ready
	if f, err := next(100 * time.Millisecond); err == nil {
		t.Fatalf("got %q before the store was durable", f)
	}
	h.release()
	for _, id := range []string{"r1", "r2"} {
		f, err := next(5 * time.Second)
		if err != nil || !strings.HasPrefix(f, "RECEIPT\nreceipt-id:"+id+"\n") {
			t.Fatalf("got %q %v, want the RECEIPT of %s", f, err, id)
		}
	}
	if w, _ := qs.Len("q"); w != 1 {
		t.Fatalf("queue holds %d", w)
	}
}
