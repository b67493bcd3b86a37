package mqtt

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/heraldhq/herald/internal/core"
)

// Open is New for an adapter with a Store: it loads the persistent
// sessions the store holds, offline until their clients come back, with
// their subscriptions in place and their messages queued or in flight
// (resent with DUP, or their PUBREL, on reconnection).
func Open(c *core.Core, opts Options) (*Adapter, error) {
	a := New(c, opts)
	if opts.Store == nil {
		return a, nil
	}
	if err := a.restore(time.Now()); err != nil {
		a.Close()
		return nil, fmt.Errorf("mqtt: restoring sessions: %w", err)
	}
	return a, nil
}

// queuedWrites counts the store's writes so far, if the store says
// (durable.DB does); ok false means every acknowledgement must wait.
func (a *Adapter) queuedWrites() (n uint64, ok bool) {
	if q, ok := a.opts.Store.(interface{ Queued() uint64 }); ok {
		return q.Queued(), true
	}
	return 0, false
}

// atomic returns the store's Atomic section, or a no-op.
func (a *Adapter) atomic() func() {
	if a.opts.Store == nil {
		return func() {}
	}
	return a.opts.Store.Atomic()
}

func (a *Adapter) restore(now time.Time) error {
	kv := a.opts.Store
	maxExpiry := uint32(min(int64(a.opts.MaxSessionExpiry/time.Second), 1<<32-1))
	loaded := map[string]*session{}
	expires := map[*session]time.Time{}
	var subs []*session
	err := kv.Scan(bucketSession, func(k, v []byte) error {
		r, err := decodeSession(v)
		if err != nil {
			return fmt.Errorf("session %q: %w", k, err)
		}
		cid := string(k)
		expiry := min(r.expiry, maxExpiry)
		gone := r.offline
		if gone.IsZero() {
			gone = now // connected when the server stopped
		}
		expire := gone.Add(time.Duration(expiry) * time.Second)
		if expiry == 0 || !now.Before(expire) {
			kv.Delete(bucketSession, []byte(cid))
			return nil
		}
		ss := newSession(a, cid)
		ss.expiry, ss.stored = expiry, true
		for _, s := range r.subs {
			if s.share == "" {
				ss.subs = append(ss.subs, s)
			} else {
				ss.shared = append(ss.shared, s)
			}
		}
		loaded[cid] = ss
		expires[ss] = expire
		subs = append(subs, ss)
		return nil
	})
	if err != nil {
		return err
	}

	states := map[string][2]uint64{} // key: pid, rel
	err = kv.Scan(bucketState, func(k, v []byte) error {
		pid, rel, err := decodeState(v)
		if err != nil {
			return err
		}
		states[string(k)] = [2]uint64{uint64(pid), uint64(b2b(rel))}
		return nil
	})
	if err != nil {
		return err
	}
	err = kv.Scan(bucketMsg, func(k, v []byte) error {
		cid, rest, err := splitKey(k)
		if err != nil {
			return err
		}
		ss := loaded[cid]
		if ss == nil || len(rest) != 8 {
			kc := append([]byte(nil), k...)
			kv.Delete(bucketMsg, kc)
			kv.Delete(bucketState, kc)
			return nil
		}
		e, err := decodeOut(v)
		if err != nil {
			return fmt.Errorf("message %x: %w", k, err)
		}
		e.seq = binary.BigEndian.Uint64(rest)
		ss.seq = max(ss.seq, e.seq)
		st, ok := states[string(k)]
		if !ok || st[0] == 0 {
			ss.pending.pushBack(e)
			return nil
		}
		// In flight when the server stopped: resent with DUP, or, once
		// PUBREC came, only its PUBREL.
		e.pid, e.rel, e.sent = uint16(st[0]), st[1] != 0, true
		if e.rel {
			e.m, e.ids = nil, nil
		}
		ss.inflight.pushBack(e)
		ss.unsent++
		ss.nextPID = e.pid
		return nil
	})
	if err != nil {
		return err
	}
	err = kv.Scan(bucketRx, func(k, v []byte) error {
		cid, rest, err := splitKey(k)
		if err != nil {
			return err
		}
		ss := loaded[cid]
		if ss == nil || len(rest) != 2 {
			kv.Delete(bucketRx, append([]byte(nil), k...))
			return nil
		}
		if ss.rx == nil {
			ss.rx = make(map[uint16]struct{})
		}
		ss.rx[binary.BigEndian.Uint16(rest)] = struct{}{}
		return nil
	})
	if err != nil {
		return err
	}

	// Registered and subscribed last, so that neither the expiry timer
	// nor a delivery meets a half-loaded session.
	a.mu.Lock()
	for _, ss := range subs {
		a.sessions[ss.id] = ss
		a.offline[ss] = offline{expire: expires[ss]}
	}
	a.mu.Unlock()
	for _, ss := range subs {
		ss.mu.Lock()
		plain, shared := append([]*subscription(nil), ss.subs...), ss.shared
		ss.shared = nil // join puts them back
		ss.mu.Unlock()
		for _, s := range plain {
			if err := a.core.Router().Subscribe(ss, s.filter, nil, nil); err != nil {
				return fmt.Errorf("session %q: subscribe %q: %w", ss.id, s.filter, err)
			}
			a.subs.Add(1)
		}
		for _, s := range shared {
			if a.join(ss, s) {
				a.subs.Add(1)
			}
		}
	}
	return nil
}
