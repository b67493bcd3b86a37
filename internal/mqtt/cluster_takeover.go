package mqtt

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/topic"
)

// errTakeover wraps what made a connect's session hand-over fail.
var errTakeover = errors.New("mqtt: cluster session not available")

// adopt brings cid's persistent session to this node, if another node
// holds it or held it, for a CONNECT with clean start 0 (clean: the
// session is deleted cluster-wide instead). It returns nil when there is
// nothing to adopt (no cluster, the session is here already, none
// anywhere, expired), and an error when the cluster cannot say now: the
// CONNECT is then refused as Server unavailable, and the client retries.
func (a *Adapter) adopt(cid string, clean bool) (*session, error) {
	if a.cl == nil {
		return nil, nil
	}
	a.mu.Lock()
	local := a.sessions[cid] != nil
	a.mu.Unlock()
	if local {
		return nil, nil
	}
	cs := a.cl.cs
	ctx, cancel := context.WithTimeout(a.cl.ctx, takeoverWait)
	defer cancel()
	raw, rev, err := cs.Get(ctx, cid)
	if err != nil && clean {
		// A new session is wanted anyway; an old record, if any, is
		// refused later (its owner's writes fail once this one writes).
		a.core.Logger().Warn("mqtt: cluster session record not read", "client", cid, "err", err)
		return nil, nil
	}
	if err != nil || raw == nil {
		return nil, wrapTakeover(err)
	}
	r, err := decodeClusterRecord(raw)
	if err == nil && r.owner != "" && r.owner != cs.Owner() {
		// Held by another node: it closes the session and writes its
		// final state (a node that is gone does not answer: its last
		// checkpoint stands).
		rctx, rcancel := context.WithTimeout(ctx, releaseWait)
		answered := cs.Release(rctx, r.owner, cid)
		rcancel()
		if answered {
			if raw, rev, err = cs.Get(ctx, cid); err != nil || raw == nil {
				return nil, wrapTakeover(err)
			}
			r, err = decodeClusterRecord(raw)
		}
	}
	maxExpiry := uint32(min(int64(a.opts.MaxSessionExpiry/time.Second), 1<<32-1))
	if err != nil || clean || r.expired(time.Now(), maxExpiry) {
		if err != nil {
			a.core.Logger().Warn("mqtt: unreadable cluster session record dropped", "client", cid, "err", err)
		}
		if derr := cs.Delete(ctx, cid, rev); derr != nil && !errors.Is(derr, ErrSessionMoved) {
			return nil, wrapTakeover(derr)
		}
		return nil, nil
	}
	ss, err := a.takeOver(ctx, cid, r, rev)
	if errors.Is(err, ErrSessionMoved) && ctx.Err() == nil {
		// The record changed between reading and claiming it (the node
		// that held it wrote its last state late): read it again, once.
		if raw, rev, err = cs.Get(ctx, cid); err != nil || raw == nil {
			return nil, wrapTakeover(err)
		}
		if r, err = decodeClusterRecord(raw); err != nil {
			return nil, wrapTakeover(err)
		}
		return a.takeOver(ctx, cid, r, rev)
	}
	return ss, err
}

func wrapTakeover(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", errTakeover, err)
}

// handOver drops this node's copy of ss, which lives on elsewhere: its
// connection is closed as taken over, its record kept. write: first
// write the record's final state for the node taking over (a release
// request); else another node already wrote over it.
func (a *Adapter) handOver(ss *session, write bool) {
	a.mu.Lock()
	if a.sessions[ss.id] != ss {
		a.mu.Unlock()
		return
	}
	ss.mu.Lock()
	kick := ss.conn
	if kick != nil {
		ss.detachLocked()
	}
	ss.will = nil // its client is back, elsewhere
	st := ss.clusterLocked()
	var rec []byte
	var pos, sent uint64
	if st != nil {
		st.keep = true
		if write && !st.gone && ss.expiry > 0 && st.written {
			if st.offline.IsZero() {
				st.offline = time.Now()
			}
			rec, pos, sent = ss.recordLocked(st, "", true)
		}
		st.gone = true
	}
	ss.mu.Unlock()
	a.retireLocked(ss)
	a.mu.Unlock()
	if kick != nil {
		kick.mu.Lock()
		if kick.will != nil && kick.will.delay > 0 {
			kick.will = nil // resumed elsewhere: a delayed will is not sent
		}
		kick.mu.Unlock()
		kick.takenOver()
	}
	if rec != nil {
		a.putLocked(ss, st, rec, pos, sent) // the caller holds st.wmu
	}
	a.cleanup(ss)
}

// release answers another node's request for cid's session: it is
// closed here and its exact state written for that node to load.
func (a *Adapter) release(cid string) {
	a.mu.Lock()
	ss := a.sessions[cid]
	a.mu.Unlock()
	if ss == nil {
		return
	}
	ss.mu.Lock()
	st := ss.clusterLocked()
	ss.mu.Unlock()
	if st == nil {
		a.handOver(ss, false)
		return
	}
	st.wmu.Lock()
	defer st.wmu.Unlock()
	a.handOver(ss, true)
}

// takeOver builds, on this node, the session record r (revision rev)
// describes: it claims the record, puts the subscriptions in place and
// queues what the stream holds for it after its position, then what
// arrives live, with no gap and nothing twice between the two. The
// session is not registered yet; the caller attaches it.
func (a *Adapter) takeOver(ctx context.Context, cid string, r clusterRecord, rev uint64) (*session, error) {
	cs := a.cl.cs
	ss := newSession(a, cid)
	ss.expiry = r.sess.expiry
	var shared []*subscription
	for _, s := range r.sess.subs {
		if s.share == "" {
			ss.subs = append(ss.subs, s)
		} else {
			shared = append(shared, s)
		}
	}
	ss.stream = r.pos

	// Claim it: from here on, the node that held it cannot write it.
	claim := r
	claim.owner, claim.final = cs.Owner(), false
	claim.sess.offline = time.Time{}
	ss.mu.Lock()
	rec := appendClusterRecord(nil, &claim, ss.appendRecord(nil, time.Time{}))
	ss.mu.Unlock()
	nrev, err := a.putRecord(ctx, cid, rec, rev)
	if err != nil {
		return nil, wrapTakeover(err)
	}
	ss.cl = &clusterSession{rev: nrev, pos: r.pos, sent: r.sent, written: true}

	// Live messages wait while the stream is read: every message the
	// router delivers from now on is held, and the replay reads the
	// stream up to its end, which is at least as far as the router has
	// got; live messages the replay already gave are then skipped.
	ss.holding = true
	for _, s := range ss.subs {
		if err := a.core.Router().Subscribe(ss, s.filter, nil, nil); err != nil {
			a.core.Logger().Warn("mqtt: cluster session subscription not restored", "client", cid, "filter", s.filter, "err", err)
			continue
		}
		a.subs.Add(1)
	}
	var msgs []*message.Message
	var last uint64
	var full []string
	for {
		msgs = msgs[:0]
		last, full, err = cs.Replay(ctx, r.pos, func(m *message.Message) {
			if m.Seq != 0 && matchesAny(ss.subs, m.Topic) {
				msgs = append(msgs, m)
			}
		})
		if err == nil || ctx.Err() != nil {
			break
		}
		// No stream leader yet (a node was just lost): try again.
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	if err != nil {
		a.discard(ss)
		return nil, wrapTakeover(err)
	}
	for _, name := range full {
		if matchesAny(ss.subs, name) {
			a.core.Logger().Warn("mqtt: a session taken over may have missed messages: the cluster stream keeps history_size messages per topic, and more were published since the session's position",
				"client", cid, "topic", name, "position", r.pos)
		}
	}

	ss.mu.Lock()
	// A checkpoint may be behind what the dead node sent: every replayed
	// message may have been sent, so each is resent with DUP. A final
	// record says exactly what was sent.
	dupAll := !r.final
	now := time.Now()
	for _, m := range msgs {
		qos, retain, ids, ok := ss.matchLocked(m)
		md := metaOf(m)
		qos = min(qos, md.qos)
		if !ok || qos == 0 || expired(m, md, now) {
			continue
		}
		ss.stream = max(ss.stream, m.Stream)
		if (dupAll || m.Stream <= r.sent) && ss.inflight.len() < min(a.opts.MaxQueued, 65535) {
			e := outMsg{m: m, ids: ids, qos: qos, retain: retain, sent: true}
			e.pid = ss.allocPID()
			ss.inflight.pushBack(e)
			ss.unsent++
			continue
		}
		ss.offerLocked(m, qos, retain, ids)
	}
	// Live messages up to the replay's end are skipped, held or still to
	// come (this node may be behind the stream).
	ss.replayed = last
	held := ss.held
	ss.held, ss.holding = nil, false
	for _, h := range held {
		if h.sub != nil {
			ss.deliverSharedLocked(h.m, h.sub)
		} else {
			ss.deliverLocked(h.m)
		}
	}
	ss.mu.Unlock()
	for _, s := range shared {
		if a.join(ss, s) {
			a.subs.Add(1)
		}
	}
	return ss, nil
}

func matchesAny(subs []*subscription, name string) bool {
	for _, s := range subs {
		if topic.Match(s.filter, name) {
			return true
		}
	}
	return false
}

// discard undoes an adopted session that was not attached: its
// subscriptions go, its record stays.
func (a *Adapter) discard(ss *session) {
	ss.mu.Lock()
	ss.ended = true
	if ss.cl != nil {
		ss.cl.keep, ss.cl.gone = true, true
	}
	ss.mu.Unlock()
	a.cleanup(ss)
}
