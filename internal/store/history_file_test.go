package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/durable"
	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/store"
)

func TestFileHistorySurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	db, err := durable.Open(dir, durable.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := store.NewFileHistory(db, 3, time.Hour, []string{"sensors/#"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i := uint64(1); i <= 5; i++ {
		h.Append(&message.Message{Topic: "sensors/a", Data: fmt.Appendf(nil, "%d", i), Seq: i, Epoch: "E1", Time: now})
		h.Append(&message.Message{Topic: "other", Data: []byte("x"), Seq: i, Epoch: "E2", Time: now})
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = durable.Open(dir, durable.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h, err = store.NewFileHistory(db, 3, time.Hour, []string{"sensors/#"})
	if err != nil {
		t.Fatal(err)
	}
	var got string
	oldest := h.Since("sensors/a", 3, func(m *message.Message) { got += fmt.Sprintf("%s@%s/%d ", m.Data, m.Epoch, m.Seq) })
	if oldest != 3 || got != "4@E1/4 5@E1/5 " {
		t.Fatalf("oldest %d, got %q", oldest, got)
	}
	if h.Since("other", 0, nil) != 0 {
		t.Fatal("a topic not configured durable came back")
	}
	// Only the three held messages are in the file.
	n := 0
	db.Scan(store.HistoryBucket, func(k, v []byte) error { n++; return nil })
	if n != 3 {
		t.Fatalf("%d records in the file, want 3", n)
	}
	// A new epoch replaces the old one in the file too.
	h.Append(&message.Message{Topic: "sensors/a", Data: []byte("n"), Seq: 1, Epoch: "E9", Time: now})
	h.Drop("nothing")
	db.Wait()
	n = 0
	db.Scan(store.HistoryBucket, func(k, v []byte) error { n++; return nil })
	if n != 1 {
		t.Fatalf("%d records after a new epoch, want 1", n)
	}
}
