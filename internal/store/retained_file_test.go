package store_test

import (
	"testing"

	"github.com/heraldhq/herald/internal/durable"
	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/store"
)

func TestFileRetainedSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	db, err := durable.Open(dir, durable.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := store.NewFileRetained(db, 10, 1<<20, "p/meta")
	if err != nil {
		t.Fatal(err)
	}
	a := &message.Message{Topic: "a", Data: []byte("1")}
	a.Encoded("p/meta", func(*message.Message) []byte { return []byte{2} })
	r.Set(a)
	r.Set(&message.Message{Topic: "b", Data: []byte("2")})
	r.Set(&message.Message{Topic: "c", Data: []byte("3")})
	r.Set(&message.Message{Topic: "b"}) // deletes b
	c := &message.Message{Topic: "c", Data: []byte("4")}
	r.Set(c)
	r.Remove("c", &message.Message{Topic: "c", Data: []byte("4")}) // not the held one: kept
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = durable.Open(dir, durable.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err = store.NewFileRetained(db, 10, 1<<20, "p/meta")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	r.Match("#", func(m *message.Message) { got[m.Topic] = string(m.Data) })
	if len(got) != 2 || got["a"] != "1" || got["c"] != "4" {
		t.Fatalf("after reopen: %v", got)
	}
	r.Match("a", func(m *message.Message) {
		if e := m.Encoded("p/meta", func(*message.Message) []byte { return nil }); len(e) != 1 || e[0] != 2 {
			t.Fatalf("meta %x", e)
		}
	})
	if n, b := r.Len(); n != 2 || b != 2 {
		t.Fatalf("Len %d %d", n, b)
	}
}
