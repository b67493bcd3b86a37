package mqtt

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/topic"
)

// Persistent sessions in a cluster (Options.Sessions; docs/cluster.md,
// ADR 0013). The node that holds a session keeps it in memory, as on one
// node, and writes a record of it to the cluster's key-value bucket: its
// subscriptions and expiry, and its position in the cluster's topic
// stream (every message of the session's up to it is acknowledged). The
// stream is the session's offline queue: a node that takes the session
// over re-creates the subscriptions and replays, from the stream, the
// messages after the position that match them.
//
// The record is written exactly when the session changes (connect,
// subscriptions, disconnect, hand-over) and, while its client
// acknowledges messages, checkpointed every checkpointEvery with at most
// one write in flight; a node killed outright leaves the last checkpoint,
// so its successor resends at most what was acknowledged since (with
// DUP), never less. Writes are conditional on the record's revision: a
// node whose write is refused has lost the session to another and drops
// its copy.

// ClusterSessions is the cluster's store of persistent sessions
// (broker.Sessions, adapted by the root package).
type ClusterSessions interface {
	// Owner is this node's identity in records.
	Owner() string
	// Get returns cid's record and revision; nil when there is none.
	Get(ctx context.Context, cid string) (rec []byte, rev uint64, err error)
	// Put writes cid's record if its revision is still rev (0: none
	// yet), returning the new revision, or ErrSessionMoved.
	Put(ctx context.Context, cid string, rec []byte, rev uint64) (uint64, error)
	// Delete removes cid's record if its revision is still rev (0: any).
	Delete(ctx context.Context, cid string, rev uint64) error
	// ServeRelease calls fn for each request of another node to release
	// a session held here; the request is answered when fn returns.
	ServeRelease(fn func(cid string)) error
	// Release asks node owner to release cid's session and reports
	// whether it answered (false: gone, or too slow).
	Release(ctx context.Context, owner, cid string) bool
	// Delivered is the stream sequence up to which this node delivered
	// every stream message to its router.
	Delivered() uint64
	// Replay calls fn with the stream's messages after stream sequence
	// after, up to its end, which it returns; full lists the topics of
	// which some messages after it may no longer be held.
	Replay(ctx context.Context, after uint64, fn func(*message.Message)) (last uint64, full []string, err error)
}

// ErrSessionMoved is what ClusterSessions.Put and Delete return when the
// record changed since the revision given: another node holds it now.
var ErrSessionMoved = errors.New("mqtt: session record changed")

const (
	// checkpointEvery is how often a connected session's position is
	// written while it advances: what a node killed outright may resend.
	checkpointEvery = 250 * time.Millisecond
	// takeoverWait bounds a connect's cluster work (record, hand-over,
	// replay), long enough for a stream leader election after a node
	// loss.
	takeoverWait = 10 * time.Second
	// releaseWait bounds the wait for the node that holds a session.
	releaseWait = 3 * time.Second
	// closeGrace is how long Close lets the last writes (the exact state
	// of each session whose connection it closed) wait for the bucket:
	// a node stopping without a majority must not hang on them.
	closeGrace = 2 * time.Second
)

// clusterAdapter is the adapter's cluster-session state.
type clusterAdapter struct {
	cs   ClusterSessions
	wg   sync.WaitGroup // writes and the checkpoint loop
	stop chan struct{}
	// ctx bounds every write; cancelled when Close gives up waiting.
	ctx    context.Context
	cancel context.CancelFunc
}

// clusterSession is one session's record-keeping.
type clusterSession struct {
	// wmu orders the session's writes; held across the round trip. Lock
	// order: wmu, then Adapter.mu, then session.mu.
	wmu     sync.Mutex
	rev     uint64 // revision of the last write (wmu)
	pos     uint64 // position and sent of the last write (wmu)
	sent    uint64
	written bool // (wmu)

	// Guarded by session.mu.
	offline time.Time // when the session went offline; zero: connected
	gone    bool      // handed over, lost or ended: nothing more is written
	keep    bool      // ended here, but the record lives on elsewhere
}

// startCluster begins serving release requests and checkpointing.
func (a *Adapter) startCluster(cs ClusterSessions) {
	ctx, cancel := context.WithCancel(context.Background())
	a.cl = &clusterAdapter{cs: cs, stop: make(chan struct{}), ctx: ctx, cancel: cancel}
	if err := cs.ServeRelease(a.release); err != nil {
		a.core.Logger().Error("mqtt: cluster sessions cannot be handed over", "err", err)
	}
	a.cl.wg.Go(a.checkpoints)
}

// closeCluster stops checkpointing and waits for the writes in flight.
func (a *Adapter) closeCluster() {
	if a.cl == nil {
		return
	}
	close(a.cl.stop)
	done := make(chan struct{})
	go func() { a.cl.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(closeGrace):
		a.core.Logger().Warn("mqtt: stopping without writing every session's cluster record (the bucket does not answer)")
		a.cl.cancel()
		<-done
	}
	a.cl.cancel()
}

// clusterLocked returns ss's record-keeping, nil when ss keeps no
// record (no cluster, or a session that ends with its connection).
func (ss *session) clusterLocked() *clusterSession {
	if ss.a.cl == nil || ss.expiry == 0 && ss.cl == nil {
		return nil
	}
	if ss.cl == nil {
		ss.cl = &clusterSession{}
	}
	return ss.cl
}

// clusterSaveLocked writes ss's record, exactly, in the background (the
// caller holds locks); offline is when it went offline (zero: it is
// connected).
func (ss *session) clusterSaveLocked(offline time.Time) {
	st := ss.clusterLocked()
	if st == nil || ss.ended || ss.expiry == 0 {
		return
	}
	st.offline = offline
	a := ss.a
	a.cl.wg.Go(func() {
		st.wmu.Lock()
		defer st.wmu.Unlock()
		a.writeLocked(ss, st, true)
	})
}

// clusterSaveSync writes ss's record, exactly, and returns once it is
// stored (or failed): a SUBACK waits for it, so that a node killed right
// after does not lose the subscription.
func (a *Adapter) clusterSaveSync(ss *session) {
	if a.cl == nil {
		return
	}
	ss.mu.Lock()
	st := ss.clusterLocked()
	ok := st != nil && !ss.ended && ss.expiry > 0
	ss.mu.Unlock()
	if !ok {
		return
	}
	st.wmu.Lock()
	defer st.wmu.Unlock()
	a.writeLocked(ss, st, true)
}

// clusterEraseLocked deletes the record of an ended session, unless it
// lives on elsewhere.
func (ss *session) clusterEraseLocked() {
	st := ss.cl
	if st == nil || st.keep || st.gone {
		return
	}
	st.gone = true
	a := ss.a
	a.cl.wg.Go(func() {
		st.wmu.Lock()
		defer st.wmu.Unlock()
		if !st.written {
			return
		}
		ctx, cancel := context.WithTimeout(a.cl.ctx, takeoverWait)
		defer cancel()
		if err := a.cl.cs.Delete(ctx, ss.id, st.rev); err != nil && !errors.Is(err, ErrSessionMoved) {
			a.core.Logger().Warn("mqtt: ended session's cluster record not deleted", "client", ss.id, "err", err)
		}
	})
}

// recordLocked encodes ss's record. exact: the position uses what this
// node has delivered (a checkpoint uses only the session's own messages,
// so that an idle session is not rewritten for others' traffic).
func (ss *session) recordLocked(st *clusterSession, owner string, exact bool) (rec []byte, pos, sent uint64) {
	var delivered uint64
	if exact {
		delivered = ss.a.cl.cs.Delivered()
	}
	pos, sent = ss.positionLocked(delivered)
	r := clusterRecord{owner: owner, final: !st.offline.IsZero(), pos: pos, sent: sent}
	return appendClusterRecord(nil, &r, ss.appendRecord(nil, st.offline)), pos, sent
}

// writeLocked writes ss's record (st.wmu held) if it changed; a refused
// write means another node took the session: this copy is dropped.
func (a *Adapter) writeLocked(ss *session, st *clusterSession, exact bool) {
	ss.mu.Lock()
	if st.gone || ss.ended || ss.expiry == 0 {
		ss.mu.Unlock()
		return
	}
	rec, pos, sent := ss.recordLocked(st, a.cl.cs.Owner(), exact)
	ss.mu.Unlock()
	if !exact && st.written && pos == st.pos && sent == st.sent {
		return
	}
	a.putLocked(ss, st, rec, pos, sent)
}

// putLocked stores rec (st.wmu held).
func (a *Adapter) putLocked(ss *session, st *clusterSession, rec []byte, pos, sent uint64) {
	ctx, cancel := context.WithTimeout(a.cl.ctx, takeoverWait)
	defer cancel()
	rev, err := a.putRecord(ctx, ss.id, rec, st.rev)
	switch {
	case err == nil:
		st.rev, st.pos, st.sent, st.written = rev, pos, sent, true
	case errors.Is(err, ErrSessionMoved):
		a.core.Logger().Info("mqtt: session taken over by another node", "client", ss.id)
		a.handOver(ss, false)
	default:
		a.core.Logger().Warn("mqtt: session's cluster record not written", "client", ss.id, "err", err)
	}
}

// putRecord writes cid's record rec over revision rev. A refusal is
// looked into: a write that was retried after a time-out may have landed
// the first time (the record is rec); a new session (rev 0) may replace
// a record left by this node (a session it ended a moment ago) or by
// nobody, not another node's.
func (a *Adapter) putRecord(ctx context.Context, cid string, rec []byte, rev uint64) (uint64, error) {
	cs := a.cl.cs
	n, err := cs.Put(ctx, cid, rec, rev)
	if !errors.Is(err, ErrSessionMoved) {
		return n, err
	}
	old, orev, gerr := cs.Get(ctx, cid)
	switch {
	case gerr != nil:
		return 0, err
	case old == nil && rev == 0:
		return cs.Put(ctx, cid, rec, 0)
	case old == nil:
		return 0, err
	case bytes.Equal(old, rec):
		return orev, nil
	case rev == 0:
		if r, derr := decodeClusterRecord(old); derr != nil || r.owner == "" || r.owner == cs.Owner() {
			return cs.Put(ctx, cid, rec, orev)
		}
	}
	return 0, err
}

// checkpoints writes, every checkpointEvery, the position of each
// connected persistent session that advanced, one write at a time per
// session.
func (a *Adapter) checkpoints() {
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	var list []*session
	for {
		select {
		case <-a.cl.stop:
			return
		case <-t.C:
		}
		list = list[:0]
		a.mu.Lock()
		for _, ss := range a.sessions {
			if ss.online.Load() {
				list = append(list, ss)
			}
		}
		a.mu.Unlock()
		for _, ss := range list {
			a.checkpoint(ss)
		}
		clear(list)
	}
}

// checkpoint writes ss's position if it advanced and no write of ss is
// in flight (the next tick will see it).
func (a *Adapter) checkpoint(ss *session) {
	ss.mu.Lock()
	st := ss.cl
	ss.mu.Unlock()
	if st == nil || !st.wmu.TryLock() {
		return
	}
	ss.mu.Lock()
	if st.gone || ss.ended || ss.expiry == 0 || !st.written {
		ss.mu.Unlock()
		st.wmu.Unlock()
		return
	}
	rec, pos, sent := ss.recordLocked(st, a.cl.cs.Owner(), false)
	ss.mu.Unlock()
	if pos == st.pos && sent == st.sent {
		st.wmu.Unlock()
		return
	}
	a.cl.wg.Go(func() {
		defer st.wmu.Unlock()
		a.putLocked(ss, st, rec, pos, sent)
	})
}

// positionLocked returns the session's position in the cluster's stream
// and the highest stream sequence sent to its client. Messages reach a
// session in stream order, so the oldest one not yet acknowledged is the
// first with a stream sequence in each queue (in flight: any of them, a
// QoS 2 flow's PUBREC frees its message). With none outstanding, every
// message of the session's up to the last one offered, or up to what
// this node delivered (delivered, read under the session's lock: those
// deliveries are complete), is done.
func (ss *session) positionLocked(delivered uint64) (pos, sent uint64) {
	lo := uint64(0)
	low := func(s uint64) {
		if s > 0 && (lo == 0 || s < lo) {
			lo = s
		}
	}
	for i := range ss.inflight.len() {
		if e := ss.inflight.at(i); e.m != nil && e.m.Stream > 0 {
			low(e.m.Stream)
			if e.sent {
				sent = max(sent, e.m.Stream)
			}
		}
	}
	for i := range ss.pending.len() {
		if e := ss.pending.at(i); e.m.Stream > 0 {
			low(e.m.Stream)
			break
		}
	}
	for _, h := range ss.held {
		if h.m.Stream > 0 {
			low(h.m.Stream)
			break
		}
	}
	if lo > 0 {
		return lo - 1, sent
	}
	ss.stream = max(ss.stream, delivered)
	return ss.stream, sent
}

// matchLocked is deliverLocked's choice for a replayed message: whether
// it matches the session's subscriptions, at which QoS, with which
// identifiers.
func (ss *session) matchLocked(m *message.Message) (qos byte, retain bool, ids []int, ok bool) {
	rap := false
	for _, sub := range ss.subs {
		if !topic.Match(sub.filter, m.Topic) {
			continue
		}
		ok = true
		qos = max(qos, sub.qos)
		rap = rap || sub.rap
		if sub.id > 0 {
			ids = append(ids, sub.id)
		}
	}
	return qos, rap && m.Retain, ids, ok
}
