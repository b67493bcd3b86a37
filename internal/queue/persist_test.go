package queue

import (
	"fmt"
	"testing"

	"github.com/heraldhq/herald/internal/durable"
	"github.com/heraldhq/herald/internal/message"
)

// After a restart a queue holds what was waiting and what was delivered
// but not acknowledged (marked redelivered), in order; what was
// acknowledged, or taken by an auto-acknowledging consumer, is gone.
func TestQueuesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	db, err := durable.Open(dir, durable.Options{})
	if err != nil {
		t.Fatal(err)
	}
	qs, err := Open(Options{Store: db})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"1", "2", "3", "4"} {
		if err := qs.Send("jobs", &message.Message{Topic: "jobs", Data: []byte(b), Headers: []message.Header{{Key: "k", Value: b}}}); err != nil {
			t.Fatal(err)
		}
	}
	qs.Send("auto", msg("x"))
	var c taker
	q, _ := qs.Subscribe("jobs", &c, 2) // takes 1 and 2
	q.Ack(&c, c.got[0])                 // 1 acknowledged: 3 goes out
	var a taker
	qs.Subscribe("auto", &a, 0)        // takes x, acknowledged on delivery
	if err := db.Close(); err != nil { // the process dies here: memory is lost
		t.Fatal(err)
	}

	db, err = durable.Open(dir, durable.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	qs, err = Open(Options{Store: db})
	if err != nil {
		t.Fatal(err)
	}
	if w, _ := qs.Len("auto"); w != 0 {
		t.Fatalf("auto queue holds %d", w)
	}
	var c2 taker
	qs.Subscribe("jobs", &c2, 10)
	if got := bodies(c2.got) + fmt.Sprint(c2.redel); got != "234[true true false]" {
		t.Fatalf("after restart got %s", got)
	}
	if h := c2.got[0].Msg.Headers; len(h) != 1 || h[0].Value != "2" {
		t.Fatalf("headers %v", h)
	}
	// New messages get new ids after the loaded ones.
	qs.Send("jobs", msg("5"))
	if n := len(c2.got); n != 4 || c2.got[3].ID <= c2.got[2].ID {
		t.Fatalf("ids %d then %d", c2.got[2].ID, c2.got[3].ID)
	}
}

func FuzzDecodeEntry(f *testing.F) {
	f.Add(entryRecord(&Entry{Msg: msg("x"), Redelivered: true}))
	f.Add(entryKey("q", 7))
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeEntry(b)
		splitEntryKey(b)
	})
}

// After a crash every loaded message may have been delivered: all are
// marked redelivered.
func TestCrashedMarksRedelivered(t *testing.T) {
	dir := t.TempDir()
	db, err := durable.Open(dir, durable.Options{})
	if err != nil {
		t.Fatal(err)
	}
	qs, _ := Open(Options{Store: db})
	qs.Send("q", msg("1"))
	db.Close()
	db, err = durable.Open(dir, durable.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	qs, _ = Open(Options{Store: db, Crashed: true})
	var c taker
	qs.Subscribe("q", &c, 10)
	if len(c.redel) != 1 || !c.redel[0] {
		t.Fatalf("redelivered %v", c.redel)
	}
}
