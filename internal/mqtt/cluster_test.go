package mqtt

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/message"
)

// Cluster sessions on one process: two adapters share an in-memory
// ClusterSessions, which stands for the cluster's key-value bucket and
// topic stream (the real ones are tested in internal/cluster, and the
// whole with herald processes in cmd/herald cluster_session_test.go).

// memSessions is the shared store; each adapter sees it through a
// memView with its own owner identity.
type memSessions struct {
	mu       sync.Mutex
	recs     map[string][]byte
	revs     map[string]uint64
	n        uint64
	stream   []*message.Message // Stream set, in order
	releases map[string]func(string)
	puts     chan string   // each write's (or delete's) client id
	gate     chan struct{} // if set, each write waits for a token
	waiting  chan struct{} // a write is waiting at the gate
	stuck    bool          // writes wait for their context (a bucket without a majority)
	stuckErr chan error    // why each stuck write ended
	busy     int           // writes in progress
	maxBusy  int
}

func newMemSessions() *memSessions {
	return &memSessions{recs: map[string][]byte{}, revs: map[string]uint64{}, releases: map[string]func(string){}, puts: make(chan string, 1000), waiting: make(chan struct{}, 10)}
}

type memView struct {
	*memSessions
	owner string
}

func (v memView) Owner() string { return v.owner }

func (v memView) Get(_ context.Context, cid string) ([]byte, uint64, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.recs[cid], v.revs[cid], nil
}

func (v memView) Put(ctx context.Context, cid string, rec []byte, rev uint64) (uint64, error) {
	v.mu.Lock()
	if v.stuck {
		v.mu.Unlock()
		v.waiting <- struct{}{}
		<-ctx.Done()
		v.stuckErr <- ctx.Err()
		return 0, ctx.Err()
	}
	v.busy++
	v.maxBusy = max(v.maxBusy, v.busy)
	gate := v.gate
	v.mu.Unlock()
	if gate != nil {
		v.waiting <- struct{}{}
		<-gate
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.busy--
	if v.revs[cid] != rev {
		return 0, ErrSessionMoved
	}
	v.n++
	v.recs[cid], v.revs[cid] = rec, v.n
	v.puts <- cid
	return v.n, nil
}

func (v memView) Delete(_ context.Context, cid string, rev uint64) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if rev != 0 && v.revs[cid] != rev {
		return ErrSessionMoved
	}
	delete(v.recs, cid)
	delete(v.revs, cid)
	v.puts <- cid
	return nil
}

func (v memView) ServeRelease(fn func(string)) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.releases[v.owner] = fn
	return nil
}

func (v memView) Release(_ context.Context, owner, cid string) bool {
	v.mu.Lock()
	fn := v.releases[owner]
	v.mu.Unlock()
	if fn == nil {
		return false
	}
	fn(cid)
	return true
}

func (v memView) Delivered() uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.stream) == 0 {
		return 0
	}
	return v.stream[len(v.stream)-1].Stream
}

func (v memView) Replay(_ context.Context, after uint64, fn func(*message.Message)) (uint64, []string, error) {
	v.mu.Lock()
	msgs := append([]*message.Message(nil), v.stream...)
	v.mu.Unlock()
	last := after
	for _, m := range msgs {
		if m.Stream > after {
			fn(m)
			last = m.Stream
		}
	}
	return last, nil, nil
}

// record returns cid's decoded record (ok false: none).
func (s *memSessions) record(t *testing.T, cid string) (clusterRecord, bool) {
	t.Helper()
	s.mu.Lock()
	raw := s.recs[cid]
	s.mu.Unlock()
	if raw == nil {
		return clusterRecord{}, false
	}
	r, err := decodeClusterRecord(raw)
	if err != nil {
		t.Fatal(err)
	}
	return r, true
}

// waitRecord waits, write by write, until cid's record satisfies ok.
func (s *memSessions) waitRecord(t *testing.T, cid, what string, ok func(clusterRecord, bool) bool) clusterRecord {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		if r, found := s.record(t, cid); ok(r, found) {
			return r
		}
		select {
		case <-s.puts:
		case <-timeout:
			r, _ := s.record(t, cid)
			t.Fatalf("no record %s; have %+v", what, r)
		}
	}
}

// streamMsg is a message as the cluster's stream delivers it.
func streamMsg(stream uint64, topic, data string) *message.Message {
	return &message.Message{Topic: topic, Data: []byte(data), Seq: stream, Epoch: "e", Stream: stream, Time: time.Now()}
}

func (ts *testServer) session(t *testing.T, cid string) *session {
	t.Helper()
	ts.a.mu.Lock()
	defer ts.a.mu.Unlock()
	ss := ts.a.sessions[cid]
	if ss == nil {
		t.Fatalf("no session %s", cid)
	}
	return ss
}

// TestClusterCheckpoints: a connected session's record follows what its
// client acknowledges, one write at a time, and is written exactly when
// the client leaves.
func TestClusterCheckpoints(t *testing.T) {
	store := newMemSessions()
	ts := newTestServer(t, core.Hooks{}, Options{Sessions: memView{store, "A"}})
	s := ts.dial(t, 5)
	s.connect("c", false, persistent(5))
	s.subscribe(1, nil, sub("t/#", 1))
	// SUBACK came once the record had the subscription.
	if r, ok := store.record(t, "c"); !ok || len(r.sess.subs) != 1 {
		t.Fatalf("record after SUBACK: %+v", r)
	}

	ss := ts.session(t, "c")
	// Writes are held back: what the session acknowledges meanwhile is
	// checkpointed by one write at a time, the latest state each time.
	store.mu.Lock()
	store.gate = make(chan struct{})
	store.mu.Unlock()
	var pids []uint16
	for i := uint64(1); i <= 3; i++ {
		ss.Deliver(streamMsg(10+i, "t/x", fmt.Sprint(i)))
		pids = append(pids, s.expect(packets.Publish).PacketID)
	}
	s.ack(packets.Puback, pids[0])
	s.ping()
	<-store.waiting // a checkpoint at position 11, held back
	s.ack(packets.Puback, pids[1])
	s.ping()
	store.gate <- struct{}{}
	store.waitRecord(t, "c", "at position 11", func(r clusterRecord, _ bool) bool { return r.pos == 11 })
	<-store.waiting // the next one, once the first is done
	store.gate <- struct{}{}
	r := store.waitRecord(t, "c", "at position 12", func(r clusterRecord, _ bool) bool { return r.pos == 12 })
	if r.final || r.sent != 13 || r.owner != "A" {
		t.Fatalf("checkpoint %+v, want connected, sent 13, owner A", r)
	}
	store.mu.Lock()
	close(store.gate)
	store.gate = nil
	if store.maxBusy != 1 {
		t.Errorf("%d writes at once, want 1", store.maxBusy)
	}
	store.mu.Unlock()

	// Leaving: the exact state, offline, with the unacknowledged message
	// still after the position.
	s.c.Close()
	ts.waitOffline(t, "c")
	r = store.waitRecord(t, "c", "offline", func(r clusterRecord, _ bool) bool { return r.final })
	if r.pos != 12 || r.sent != 13 || r.sess.offline.IsZero() || r.sess.expiry != 300 {
		t.Fatalf("final record %+v", r)
	}
}

// TestClusterTakeover: the client comes back on another adapter; the one
// holding the session closes it and writes its state; the new one
// replays the stream after the position, the message that was in flight
// with DUP, a new one without, then delivers live.
func TestClusterTakeover(t *testing.T) {
	store := newMemSessions()
	a := newTestServer(t, core.Hooks{}, Options{Sessions: memView{store, "A"}})
	b := newTestServer(t, core.Hooks{}, Options{Sessions: memView{store, "B"}})
	s := a.dial(t, 4)
	s.connect("c", false, persistent(4))
	s.subscribe(1, nil, sub("t/#", 1))
	ss := a.session(t, "c")
	store.mu.Lock()
	store.stream = []*message.Message{streamMsg(1, "t/a", "one"), streamMsg(2, "other", "no"), streamMsg(3, "t/a", "two")}
	store.mu.Unlock()
	ss.Deliver(streamMsg(1, "t/a", "one"))
	s.ack(packets.Puback, s.expect(packets.Publish).PacketID)
	ss.Deliver(streamMsg(3, "t/a", "two"))
	s.expect(packets.Publish) // not acknowledged
	s.ping()
	store.mu.Lock()
	store.stream = append(store.stream, streamMsg(4, "t/new", "three"))
	store.mu.Unlock()

	s2 := b.dial(t, 4)
	if ack := s2.connect("c", false, persistent(4)); !ack.SessionPresent {
		t.Fatal("no session present on the other node")
	}
	s.expectClosed() // taken over
	if got := a.a.sessionsLen(); got != 0 {
		t.Fatalf("%d sessions left on the old node", got)
	}
	two := s2.expect(packets.Publish)
	three := s2.expect(packets.Publish)
	if string(two.Payload) != "two" || !two.FixedHeader.Dup || string(three.Payload) != "three" || three.FixedHeader.Dup {
		t.Fatalf("replayed %q dup %v, %q dup %v; want two with DUP, three without", two.Payload, two.FixedHeader.Dup, three.Payload, three.FixedHeader.Dup)
	}
	s2.ack(packets.Puback, two.PacketID)
	s2.ack(packets.Puback, three.PacketID)
	// Live on the new node (which may receive what the replay gave a
	// moment later: not twice), and the new node owns the record.
	b.session(t, "c").Deliver(streamMsg(4, "t/new", "three"))
	b.session(t, "c").Deliver(streamMsg(5, "t/a", "four"))
	if four := s2.expect(packets.Publish); string(four.Payload) != "four" {
		t.Fatalf("live %q", four.Payload)
	}
	if r := store.waitRecord(t, "c", "owned by B", func(r clusterRecord, _ bool) bool { return r.owner == "B" }); len(r.sess.subs) != 1 {
		t.Fatalf("record %+v", r)
	}

	// Clean start elsewhere deletes the session everywhere.
	s3 := a.dial(t, 4)
	if ack := s3.connect("c", true, nil); ack.SessionPresent {
		t.Fatal("session present after clean start")
	}
	s2.expectClosed()
	if _, ok := store.record(t, "c"); ok {
		t.Fatal("record left after clean start")
	}
}

func (a *Adapter) sessionsLen() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.sessions)
}

// TestClusterSessionExpiry: a session that expires on its node takes its
// record with it.
func TestClusterSessionExpiry(t *testing.T) {
	store := newMemSessions()
	ts := newTestServer(t, core.Hooks{}, Options{Sessions: memView{store, "A"}})
	s := ts.dial(t, 5)
	s.connect("c", false, func(pk *packets.Packet) {
		pk.Connect.Clean = false
		pk.Properties.SessionExpiryInterval, pk.Properties.SessionExpiryIntervalFlag = 1, true
	})
	store.waitRecord(t, "c", "written", func(_ clusterRecord, ok bool) bool { return ok })
	s.c.Close()
	store.waitRecord(t, "c", "deleted on expiry", func(_ clusterRecord, ok bool) bool { return !ok })
}

// TestClusterPosition: a session's position is just before its oldest
// message not yet acknowledged, whatever queue holds it; with none, the
// last it was offered, or what the node delivered for an exact write.
func TestClusterPosition(t *testing.T) {
	msg := func(s uint64) *message.Message { return &message.Message{Stream: s} }
	cases := []struct {
		name              string
		stream, delivered uint64
		inflight          []outMsg
		pending           []outMsg
		held              []heldMsg
		pos, sent         uint64
	}{
		{name: "nothing", stream: 7, pos: 7},
		{name: "nothing, exact", stream: 7, delivered: 20, pos: 20},
		{name: "in flight", stream: 9, inflight: []outMsg{{m: msg(5), sent: true}, {m: msg(8), sent: true}, {m: msg(9)}}, pending: []outMsg{{m: msg(12)}}, pos: 4, sent: 8},
		{name: "PUBREC frees its message", stream: 9, inflight: []outMsg{{rel: true, sent: true}, {m: msg(8), sent: true}}, pos: 7, sent: 8},
		{name: "retained first", stream: 9, pending: []outMsg{{m: msg(0)}, {m: msg(6)}}, pos: 5},
		{name: "held", stream: 3, delivered: 30, held: []heldMsg{{m: msg(0)}, {m: msg(25)}}, pos: 24},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ss := newSession(nil, "x")
			ss.stream = c.stream
			for _, e := range c.inflight {
				ss.inflight.pushBack(e)
			}
			for _, e := range c.pending {
				ss.pending.pushBack(e)
			}
			ss.held = c.held
			if pos, sent := ss.positionLocked(c.delivered); pos != c.pos || sent != c.sent {
				t.Fatalf("position %d sent %d, want %d %d", pos, sent, c.pos, c.sent)
			}
		})
	}
}

// TestClusterRecordCodec: a record decodes as it was written; damaged
// ones are refused.
func TestClusterRecordCodec(t *testing.T) {
	ss := &session{id: "c", expiry: 60, subs: []*subscription{{filter: "a/#", qos: 1, rap: true, id: 3}},
		shared: []*subscription{{filter: "b", share: "$share/g/b", qos: 2, noLocal: false, handling: 2}}}
	r := clusterRecord{owner: "node-1", final: true, pos: 1 << 40, sent: 1<<40 + 7}
	off := time.Unix(1_700_000_000, 0)
	b := appendClusterRecord(nil, &r, ss.appendRecord(nil, off))
	got, err := decodeClusterRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	r.sess = sessionRecord{expiry: 60, offline: off, subs: append(append([]*subscription(nil), ss.subs...), ss.shared...)}
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("decoded %+v\nwant %+v", got, r)
	}
	if !got.expired(off.Add(60*time.Second), 3600) || got.expired(off.Add(59*time.Second), 3600) || !got.expired(off.Add(time.Second), 1) {
		t.Fatal("expiry")
	}
	for _, bad := range [][]byte{nil, {2}, {1, 4}, b[:len(b)-1], b[:5]} {
		if _, err := decodeClusterRecord(bad); err == nil {
			t.Errorf("%x decoded", bad)
		}
	}
}

// FuzzSessionRecord: the cluster's session records are refused when
// they cannot be read, never panic, and what is accepted re-encodes to
// the same record.
func FuzzSessionRecord(f *testing.F) {
	ss := &session{id: "c", expiry: 60, subs: []*subscription{{filter: "a/#", qos: 1, rap: true, id: 3}}}
	r := clusterRecord{owner: "n", final: true, pos: 5, sent: 9}
	f.Add(appendClusterRecord(nil, &r, ss.appendRecord(nil, time.Unix(100, 0))))
	f.Add(appendClusterRecord(nil, &clusterRecord{}, (&session{}).appendRecord(nil, time.Time{})))
	f.Add([]byte{1, 0, 0, 0, 0, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeClusterRecord(b)
		if err != nil {
			return
		}
		back := &session{expiry: r.sess.expiry, subs: r.sess.subs}
		again, err := decodeClusterRecord(appendClusterRecord(nil, &r, back.appendRecord(nil, r.sess.offline)))
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if again.owner != r.owner || again.final != r.final || again.pos != r.pos || again.sent != r.sent || len(again.sess.subs) != len(r.sess.subs) {
			t.Fatalf("re-decoded %+v, was %+v", again, r)
		}
	})
}

// TestClusterCloseDoesNotWaitForAStuckBucket: a node stopping while the
// sessions' bucket cannot take writes (its majority is gone) gives up on
// the last records after a grace period instead of hanging.
func TestClusterCloseDoesNotWaitForAStuckBucket(t *testing.T) {
	store := newMemSessions()
	ts := newTestServer(t, core.Hooks{}, Options{Sessions: memView{store, "A"}})
	s := ts.dial(t, 5)
	s.connect("c", false, persistent(5))
	s.subscribe(1, nil, sub("t/#", 1))
	store.mu.Lock()
	store.stuck, store.stuckErr = true, make(chan error, 10)
	store.mu.Unlock()
	s.c.Close() // the session's final record now waits for the bucket
	<-store.waiting
	closed := make(chan struct{})
	go func() {
		ts.a.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(30 * time.Second): // a hang guard, not a timing
		t.Fatal("Close waits for a bucket that does not answer")
	}
	// Close gave up on the write (rather than the write timing out).
	if err := <-store.stuckErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("the stuck write ended with %v, want it cancelled by Close", err)
	}
}
