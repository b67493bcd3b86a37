package store

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/message"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newSession(t *testing.T, lim LogLimits) (*MemorySessions, string) {
	t.Helper()
	m := NewMemorySessions()
	if err := m.Create("s1", lim, t0); err != nil {
		t.Fatal(err)
	}
	return m, "s1"
}

func msgs(from, to int) [][]byte {
	var out [][]byte
	for i := from; i <= to; i++ {
		out = append(out, fmt.Appendf(nil, "m%d", i))
	}
	return out
}

func TestLogOrderReadAck(t *testing.T) {
	m, id := newSession(t, LogLimits{})
	if n, err := m.Append(id, msgs(1, 5)); n != 5 || err != nil {
		t.Fatalf("Append = %d, %v", n, err)
	}
	first, got, err := m.Read(id, 0, 3, 1<<20)
	if err != nil || first != 1 || fmt.Sprintf("%s", got) != "[m1 m2 m3]" {
		t.Fatalf("Read(0, 3) = %d %s %v", first, got, err)
	}
	// Reading does not acknowledge: a lost response is read again.
	if first, got, _ = m.Read(id, 0, 10, 1<<20); first != 1 || len(got) != 5 {
		t.Fatalf("re-read = %d %s", first, got)
	}
	if n, err := m.Ack(id, 3); n != 3 || err != nil {
		t.Fatalf("Ack(3) = %d, %v", n, err)
	}
	if n, _ := m.Ack(id, 2); n != 0 {
		t.Errorf("a stale Ack dropped %d", n)
	}
	first, got, _ = m.Read(id, 3, 10, 1<<20)
	if first != 4 || fmt.Sprintf("%s", got) != "[m4 m5]" {
		t.Fatalf("Read(3) = %d %s", first, got)
	}
	// Reading from before the acknowledged point gives what is left.
	if first, _, _ = m.Read(id, 1, 10, 1<<20); first != 4 {
		t.Errorf("Read(1) after Ack(3) starts at %d, want 4", first)
	}
	if _, err := m.Ack(id, 6); !errors.Is(err, ErrAhead) {
		t.Errorf("Ack past the end: %v", err)
	}
	if _, _, err := m.Read(id, 6, 10, 1<<20); !errors.Is(err, ErrAhead) {
		t.Errorf("Read past the end: %v", err)
	}
	if first, got, err := m.Read(id, 5, 10, 1<<20); first != 0 || got != nil || err != nil {
		t.Errorf("Read at the end = %d %s %v", first, got, err)
	}
	m.Ack(id, 5)
	if info, _ := m.Info(id); info.Pending != 0 || info.Bytes != 0 || info.Next != 6 || info.Acked != 5 {
		t.Errorf("after acking everything: %+v", info)
	}
}

func TestLogLimits(t *testing.T) {
	m, id := newSession(t, LogLimits{Messages: 3, Bytes: 100})
	if n, _ := m.Append(id, msgs(1, 5)); n != 3 {
		t.Fatalf("3-message log took %d", n)
	}
	m.Ack(id, 1)
	if n, _ := m.Append(id, msgs(4, 5)); n != 1 {
		t.Fatalf("after one ack the log took %d, want 1", n)
	}
	m.Ack(id, 4)
	big := make([]byte, 200)
	if n, _ := m.Append(id, [][]byte{big, big}); n != 1 {
		t.Fatalf("an empty log takes one oversize message; took %d", n)
	}
	if _, got, _ := m.Read(id, 4, 10, 10); len(got) != 1 {
		t.Errorf("a read returns at least one message whatever maxBytes; got %d", len(got))
	}
}

func TestWait(t *testing.T) {
	m, id := newSession(t, LogLimits{})
	ch, _ := m.Wait(id, 0)
	select {
	case <-ch:
		t.Fatal("Wait on an empty log returned a closed channel")
	default:
	}
	m.Append(id, msgs(1, 1))
	<-ch // the append woke it
	if ch, _ := m.Wait(id, 0); !isClosed(ch) {
		t.Error("Wait with a message waiting should return a closed channel")
	}
	ch, _ = m.Wait(id, 1)
	m.End(id, 1008, "slow consumer")
	<-ch
	if info, _ := m.Info(id); !info.Ended || info.Code != 1008 || info.Reason != "slow consumer" {
		t.Errorf("after End: %+v", info)
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestAcceptDedupes(t *testing.T) {
	m, id := newSession(t, LogLimits{})
	for _, tc := range []struct {
		seq  uint64
		want bool
		err  error
	}{
		{1, true, nil}, {1, false, nil}, // a retried POST
		{3, true, nil}, {2, true, nil}, {3, false, nil}, {2, false, nil}, // out of order, then retried
		{4 + DedupeWindow, false, ErrAhead}, {3 + DedupeWindow, true, nil},
		{0, false, ErrAhead},
	} {
		got, err := m.Accept(id, tc.seq)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("Accept(%d) = %v, %v; want %v, %v", tc.seq, got, err, tc.want, tc.err)
		}
	}
}

func TestUnknownSession(t *testing.T) {
	m := NewMemorySessions()
	checks := map[string]error{
		"Append": func() error { _, err := m.Append("x", nil); return err }(),
		"Read":   func() error { _, _, err := m.Read("x", 0, 1, 1); return err }(),
		"Ack":    func() error { _, err := m.Ack("x", 1); return err }(),
		"Wait":   func() error { _, err := m.Wait("x", 0); return err }(),
		"Accept": func() error { _, err := m.Accept("x", 1); return err }(),
		"Touch":  m.Touch("x", t0),
		"End":    m.End("x", 1000, ""),
		"Delete": m.Delete("x"),
		"Info":   func() error { _, err := m.Info("x"); return err }(),
	}
	for name, err := range checks {
		if !errors.Is(err, ErrNoSession) {
			t.Errorf("%s on an unknown session: %v", name, err)
		}
	}
	m.Create("a", LogLimits{}, t0)
	if err := m.Create("a", LogLimits{}, t0); !errors.Is(err, ErrSessionExists) {
		t.Errorf("second Create: %v", err)
	}
}

func TestStateForTakeover(t *testing.T) {
	m, id := newSession(t, LogLimits{})
	m.SetSubscriptions(id, []string{"a/#", "b"})
	m.SetPositions(id, map[string]message.Position{"a/1": {Epoch: "e", Seq: 3}})
	m.SetPositions(id, map[string]message.Position{"b": {Epoch: "f", Seq: 9}, "a/1": {Epoch: "e", Seq: 4}})
	m.Touch(id, t0.Add(time.Minute))
	m.Touch(id, t0) // time never goes back
	info, _ := m.Info(id)
	if fmt.Sprint(info.Subscriptions) != "[a/# b]" || info.Positions["a/1"].Seq != 4 || info.Positions["b"].Seq != 9 {
		t.Errorf("state %+v", info)
	}
	if !info.LastSeen.Equal(t0.Add(time.Minute)) || !info.Created.Equal(t0) {
		t.Errorf("times %v %v", info.Created, info.LastSeen)
	}
	ch, _ := m.Wait(id, 0)
	m.Delete(id)
	<-ch // deleting wakes a waiting poll
}
