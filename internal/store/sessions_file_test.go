package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/durable"
	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/store"
)

var st0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func openSessions(t *testing.T, dir string) (*durable.DB, *store.FileSessions) {
	t.Helper()
	db, err := durable.Open(dir, durable.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := store.NewFileSessions(db)
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	return db, f
}

func logMsgs(from, to int) [][]byte {
	var out [][]byte
	for i := from; i <= to; i++ {
		out = append(out, fmt.Appendf(nil, "m%d", i))
	}
	return out
}

func TestFileSessionsReopenKeepsState(t *testing.T) {
	dir := t.TempDir()
	db, f := openSessions(t, dir)
	if err := f.Create("s1", store.LogLimits{Messages: 100}, st0); err != nil {
		t.Fatal(err)
	}
	f.Append("s1", logMsgs(1, 5))
	if n, err := f.Ack("s1", 2); n != 2 || err != nil {
		t.Fatalf("Ack = %d, %v", n, err)
	}
	f.SetSubscriptions("s1", []string{"a", "b/#"})
	f.SetPositions("s1", map[string]message.Position{"a": {Epoch: "e1", Seq: 7}})
	f.SetOwner("s1", []byte(`{"sub":"alice"}`))
	f.Touch("s1", st0.Add(time.Minute))
	f.Create("s2", store.LogLimits{}, st0)
	f.End("s2", 1000, "bye")
	f.Create("gone", store.LogLimits{}, st0)
	f.Append("gone", logMsgs(1, 3))
	f.Delete("gone")
	if err := f.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := f.Durable("s1"); d != 5 {
		t.Fatalf("Durable = %d, want 5", d)
	}
	db.Close()

	db, f = openSessions(t, dir)
	defer db.Close()
	info, err := f.Info("s1")
	if err != nil {
		t.Fatal(err)
	}
	if info.Acked != 2 || info.Next != 6 || info.Pending != 3 || fmt.Sprint(info.Subscriptions) != "[a b/#]" ||
		info.Positions["a"] != (message.Position{Epoch: "e1", Seq: 7}) || !info.LastSeen.Equal(st0.Add(time.Minute)) || !info.Created.Equal(st0) {
		t.Fatalf("after reopen: %+v", info)
	}
	// The numbering goes on: the client's numbers stay valid.
	first, got, err := f.Read("s1", 2, 10, 1<<20)
	if err != nil || first != 3 || fmt.Sprintf("%s", got) != "[m3 m4 m5]" {
		t.Fatalf("Read = %d %s %v", first, got, err)
	}
	if f.Durable("s1") != 5 {
		t.Fatalf("Durable after reopen = %d", f.Durable("s1"))
	}
	f.Append("s1", logMsgs(6, 6))
	if first, got, _ := f.Read("s1", 5, 10, 1<<20); first != 6 || string(got[0]) != "m6" {
		t.Fatalf("appended after reopen: %d %s", first, got)
	}
	if o, _ := f.Owner("s1"); string(o) != `{"sub":"alice"}` {
		t.Fatalf("Owner = %q", o)
	}
	if info, _ := f.Info("s2"); !info.Ended || info.Code != 1000 || info.Reason != "bye" {
		t.Fatalf("ended session after reopen: %+v", info)
	}
	if _, err := f.Info("gone"); !errors.Is(err, store.ErrNoSession) {
		t.Fatalf("deleted session is back: %v", err)
	}
	if n := len(f.IDs()); n != 2 {
		t.Fatalf("%d sessions after reopen, want 2", n)
	}
}

// Accept guards one process; what survives a restart is what Applied
// recorded: a POST cut off before it was applied runs again.
func TestFileSessionsDedupSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	db, f := openSessions(t, dir)
	f.Create("s", store.LogLimits{}, st0)
	for _, seq := range []uint64{1, 2, 4} {
		if fresh, err := f.Accept("s", seq); !fresh || err != nil {
			t.Fatalf("Accept(%d) = %v, %v", seq, fresh, err)
		}
		f.Applied("s", seq)
	}
	if fresh, _ := f.Accept("s", 5); !fresh {
		t.Fatal("5 refused")
	}
	if !f.IsApplied("s", 4) || f.IsApplied("s", 3) || f.IsApplied("s", 5) {
		t.Fatal("IsApplied does not follow Applied")
	}
	// 5 accepted but never applied: the crash came first.
	f.Sync(context.Background())
	db.Close()

	db, f = openSessions(t, dir)
	defer db.Close()
	for seq, want := range map[uint64]bool{1: false, 2: false, 3: true, 4: false, 5: true} {
		if fresh, err := f.Accept("s", seq); fresh != want || err != nil {
			t.Errorf("after reopen Accept(%d) = %v, %v; want %v", seq, fresh, err, want)
		}
	}
	if _, err := f.Accept("s", 5+store.DedupeWindow+1); !errors.Is(err, store.ErrAhead) {
		t.Errorf("far ahead: %v", err)
	}
}

func TestFileSessionsLimits(t *testing.T) {
	dir := t.TempDir()
	db, f := openSessions(t, dir)
	f.Create("s", store.LogLimits{Messages: 3, Bytes: 1 << 20}, st0)
	if n, _ := f.Append("s", logMsgs(1, 5)); n != 3 {
		t.Fatalf("Append took %d, want 3", n)
	}
	f.Sync(context.Background())
	db.Close()

	db, f = openSessions(t, dir)
	defer db.Close()
	if n, _ := f.Append("s", logMsgs(4, 4)); n != 0 {
		t.Fatalf("full log took %d after reopen", n)
	}
	f.Ack("s", 3)
	if n, _ := f.Append("s", logMsgs(4, 6)); n != 3 {
		t.Fatalf("after ack took %d", n)
	}
	if info, _ := f.Info("s"); info.Next != 7 || info.Pending != 3 {
		t.Fatalf("%+v", info)
	}
	if _, err := f.Ack("s", 9); !errors.Is(err, store.ErrAhead) {
		t.Fatalf("ack ahead: %v", err)
	}
}

func TestFileSessionsExpireIdle(t *testing.T) {
	dir := t.TempDir()
	db, f := openSessions(t, dir)
	f.Create("old", store.LogLimits{}, st0)
	f.Append("old", logMsgs(1, 2))
	f.Create("served", store.LogLimits{}, st0)
	f.Create("new", store.LogLimits{}, st0.Add(time.Hour))
	gone := f.ExpireIdle(st0.Add(time.Minute), func(id string) bool { return id == "served" })
	if fmt.Sprint(gone) != "[old]" {
		t.Fatalf("expired %v", gone)
	}
	f.Sync(context.Background())
	db.Close()

	db, f = openSessions(t, dir)
	defer db.Close()
	if _, err := f.Info("old"); !errors.Is(err, store.ErrNoSession) {
		t.Fatalf("expired session reloaded: %v", err)
	}
	n := 0
	db.Scan(store.SessionsBucket, func(k, v []byte) error { n++; return nil })
	if n != 2 {
		t.Fatalf("%d records left, want the 2 sessions' meta", n)
	}
}

func TestFileSessionsDurableNotifies(t *testing.T) {
	db, f := openSessions(t, t.TempDir())
	defer db.Close()
	got := make(chan string, 4)
	f.OnDurable(func(id string) { got <- id })
	f.Create("s", store.LogLimits{}, st0)
	f.Append("s", logMsgs(1, 2))
	if id := <-got; id != "s" || f.Durable("s") != 2 {
		t.Fatalf("OnDurable(%q), Durable = %d", id, f.Durable("s"))
	}
}
