package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/internal/message"
)

// SessionsBucket is the KV bucket of FileSessions (keys: sessions_record.go).
const SessionsBucket = "sessions"

// FileSessions is a Sessions written through to a KV: a MemorySessions
// serves, every change is queued to the KV (group commit), and
// NewFileSessions loads what the KV holds, so that after a restart a
// long-poll or streaming client continues its session.
//
// What is durable when:
//   - the log: each appended message is queued at once and is durable a
//     commit later; Durable reports how far, and a server shows a client
//     only durable numbers (Sync before a poll answers; streams wait for
//     OnDurable), so a number a client has seen never names another
//     message after a crash;
//   - acknowledgements: the acknowledged number and the removal of the
//     entries go in one commit;
//   - the deduplication window: Accept only guards this process; what
//     survives is what Applied recorded, which the server calls after it
//     has run the POST and before Sync and its 202, so a POST answered
//     202 is never applied again, and one cut off by the crash is applied
//     again when retried (at least once, never lost);
//   - positions are written with the next record of the session (an
//     acknowledgement at the latest): until then the log holds them;
//   - activity (Touch) is written at most once a second per session.
type FileSessions struct {
	*MemorySessions
	kv KV

	mu   sync.Mutex
	meta map[string]*fileMeta

	onDurable atomic.Pointer[func(id string)]
}

var _ Sessions = (*FileSessions)(nil)

// fileMeta is what FileSessions keeps beside a memory session.
type fileMeta struct {
	owner        []byte
	seen, window uint64    // applied client numbers: the durable dedup window
	saved        time.Time // lastSeen as last written
	durable      atomic.Uint64
}

// NewFileSessions loads the sessions kept in kv. Log entries without a
// session, or not following on from the session's acknowledged number,
// are deleted.
func NewFileSessions(kv KV) (*FileSessions, error) {
	f := &FileSessions{MemorySessions: NewMemorySessions(), kv: kv, meta: make(map[string]*fileMeta)}
	err := kv.Scan(SessionsBucket, func(k, v []byte) error {
		id, kind, num, err := splitSessionKey(k)
		if err != nil {
			return err
		}
		if kind == kindMeta {
			r, err := decodeSessionRecord(v)
			if err != nil {
				return fmt.Errorf("session %q: %w", id, err)
			}
			f.load(id, r)
			return nil
		}
		s := f.byID[id]
		if s == nil || num != s.acked+uint64(len(s.log))+1 {
			kv.Delete(SessionsBucket, k) // an orphan or a stray
			return nil
		}
		s.log = append(s.log, v)
		s.bytes += len(v)
		f.meta[id].durable.Store(num)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: loading sessions: %w", err)
	}
	return f, nil
}

func (f *FileSessions) load(id string, r *sessionRecord) {
	lim := r.lim
	if lim.Messages <= 0 {
		lim.Messages = 1024
	}
	if lim.Bytes <= 0 {
		lim.Bytes = 4 << 20
	}
	f.byID[id] = &memSession{
		lim: lim, acked: r.acked, seen: r.seen, window: r.window,
		created: r.created, lastSeen: r.lastSeen, subs: r.subs, pos: r.pos,
		ended: r.ended, code: r.code, reason: r.reason,
	}
	fm := &fileMeta{owner: r.owner, seen: r.seen, window: r.window, saved: r.lastSeen}
	fm.durable.Store(r.acked)
	f.meta[id] = fm
}

func (f *FileSessions) fileMeta(id string) *fileMeta {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.meta[id]
}

// save queues s's meta record; s.mu held, so records of one session are
// queued in the order of the states they capture.
func (f *FileSessions) save(id string, s *memSession, fm *fileMeta) {
	f.mu.Lock()
	r := sessionRecord{
		created: s.created, lastSeen: s.lastSeen, lim: s.lim, acked: s.acked,
		seen: fm.seen, window: fm.window, ended: s.ended, code: s.code, reason: s.reason,
		subs: s.subs, pos: s.pos, owner: fm.owner,
	}
	fm.saved = s.lastSeen
	f.mu.Unlock()
	f.kv.Put(SessionsBucket, sessionKey(id, kindMeta, 0), r.append(nil))
}

// update runs fn on session id with its lock held, then saves it.
func (f *FileSessions) update(id string, fn func(s *memSession, fm *fileMeta) bool) error {
	s, err := f.get(id)
	if err != nil {
		return err
	}
	fm := f.fileMeta(id)
	if fm == nil {
		return fmt.Errorf("%w: %q", ErrNoSession, id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if fn(s, fm) {
		f.save(id, s, fm)
	}
	return nil
}

// Create implements Sessions.
func (f *FileSessions) Create(id string, lim LogLimits, now time.Time) error {
	if err := f.MemorySessions.Create(id, lim, now); err != nil {
		return err
	}
	f.mu.Lock()
	f.meta[id] = &fileMeta{}
	f.mu.Unlock()
	return f.update(id, func(*memSession, *fileMeta) bool { return true })
}

// Delete implements Sessions: the session's records go too.
func (f *FileSessions) Delete(id string) error {
	s, err := f.get(id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	lo, hi := s.acked+1, s.acked+uint64(len(s.log))
	s.mu.Unlock()
	if err := f.MemorySessions.Delete(id); err != nil {
		return err
	}
	f.mu.Lock()
	delete(f.meta, id)
	f.mu.Unlock()
	release := f.kv.Atomic()
	f.kv.Delete(SessionsBucket, sessionKey(id, kindMeta, 0))
	for n := lo; n <= hi && n != 0; n++ {
		f.kv.Delete(SessionsBucket, sessionKey(id, kindLog, n))
	}
	release()
	return nil
}

// Append implements Sessions. The messages are durable once Durable
// reports their numbers.
func (f *FileSessions) Append(id string, msgs [][]byte) (int, error) {
	s, err := f.get(id)
	if err != nil {
		return 0, err
	}
	fm := f.fileMeta(id)
	if fm == nil {
		return 0, fmt.Errorf("%w: %q", ErrNoSession, id)
	}
	s.mu.Lock()
	base := s.acked + uint64(len(s.log))
	n := s.appendLocked(msgs)
	for i, b := range msgs[:n] {
		f.kv.Put(SessionsBucket, sessionKey(id, kindLog, base+1+uint64(i)), b)
	}
	s.mu.Unlock()
	if n > 0 {
		last := base + uint64(n)
		// Outside s.mu: the barrier may call back at once.
		f.kv.Barrier(func(err error) {
			if err != nil {
				return
			}
			for cur := fm.durable.Load(); cur < last && !fm.durable.CompareAndSwap(cur, last); cur = fm.durable.Load() {
			}
			if fn := f.onDurable.Load(); fn != nil {
				(*fn)(id)
			}
		})
	}
	return n, nil
}

// Ack implements Sessions: the acknowledged number and the removal of
// the entries are one commit.
func (f *FileSessions) Ack(id string, upto uint64) (int, error) {
	s, err := f.get(id)
	if err != nil {
		return 0, err
	}
	fm := f.fileMeta(id)
	if fm == nil {
		return 0, fmt.Errorf("%w: %q", ErrNoSession, id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.acked
	n, err := s.ackLocked(upto)
	if n > 0 {
		release := f.kv.Atomic()
		f.save(id, s, fm)
		for k := old + 1; k <= upto; k++ {
			f.kv.Delete(SessionsBucket, sessionKey(id, kindLog, k))
		}
		release()
	}
	return n, err
}

// Applied records that the client's message seq was run: after a
// restart, a POST with that number is a duplicate. Accept alone guards
// only this process (see FileSessions).
func (f *FileSessions) Applied(id string, seq uint64) error {
	return f.update(id, func(_ *memSession, fm *fileMeta) bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		fresh, _ := acceptSeq(&fm.seen, &fm.window, seq)
		return fresh
	})
}

// IsApplied reports whether Applied recorded seq.
func (f *FileSessions) IsApplied(id string, seq uint64) bool {
	fm := f.fileMeta(id)
	if fm == nil || seq == 0 {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if seq <= fm.seen {
		return true
	}
	off := seq - fm.seen - 1
	return off < DedupeWindow && fm.window&(1<<off) != 0
}

// SetSubscriptions implements Sessions.
func (f *FileSessions) SetSubscriptions(id string, filters []string) error {
	return f.update(id, func(s *memSession, _ *fileMeta) bool {
		if slices.Equal(s.subs, filters) {
			return false
		}
		s.subs = slices.Clone(filters)
		return true
	})
}

// SetPositions implements Sessions. The positions are written with the
// session's next record (an acknowledgement at the latest), not each
// time: those of messages still in the log can be read from the log
// itself, which is what a server taking the session over does.
func (f *FileSessions) SetPositions(id string, pos map[string]message.Position) error {
	return f.update(id, func(s *memSession, _ *fileMeta) bool {
		if s.pos == nil {
			s.pos = make(map[string]message.Position, len(pos))
		}
		maps.Copy(s.pos, pos)
		return false
	})
}

// Touch implements Sessions; the time is written at most once a second.
func (f *FileSessions) Touch(id string, now time.Time) error {
	return f.update(id, func(s *memSession, fm *fileMeta) bool {
		if now.After(s.lastSeen) {
			s.lastSeen = now
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		return s.lastSeen.Sub(fm.saved) >= time.Second
	})
}

// End implements Sessions.
func (f *FileSessions) End(id string, code uint16, reason string) error {
	return f.update(id, func(s *memSession, _ *fileMeta) bool {
		if s.ended {
			return false
		}
		s.ended, s.code, s.reason = true, code, reason
		s.notify()
		return true
	})
}

// SetOwner keeps an opaque description of who opened the session (the
// server's encoding of the identity), for the server that takes the
// session over after a restart.
func (f *FileSessions) SetOwner(id string, owner []byte) error {
	return f.update(id, func(_ *memSession, fm *fileMeta) bool {
		f.mu.Lock()
		fm.owner = owner
		f.mu.Unlock()
		return true
	})
}

// Owner returns what SetOwner kept.
func (f *FileSessions) Owner(id string) ([]byte, error) {
	fm := f.fileMeta(id)
	if fm == nil {
		return nil, fmt.Errorf("%w: %q", ErrNoSession, id)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return fm.owner, nil
}

// Durable returns the number up to which the session's log is durable.
func (f *FileSessions) Durable(id string) uint64 {
	if fm := f.fileMeta(id); fm != nil {
		return fm.durable.Load()
	}
	return 0
}

// OnDurable sets fn to be called when appended messages of a session
// become durable. It runs on the KV's goroutine: it must be quick.
func (f *FileSessions) OnDurable(fn func(id string)) { f.onDurable.Store(&fn) }

// Sync returns once every change queued so far is durable, or ctx ends.
func (f *FileSessions) Sync(ctx context.Context) error {
	done := make(chan error, 1)
	f.kv.Barrier(func(err error) { done <- err })
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("store: sessions: %w", err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// IDs returns the ids of the sessions held.
func (f *FileSessions) IDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Collect(maps.Keys(f.meta))
}

// ExpireIdle deletes the sessions without activity since before, except
// those keep names (the ones a server is serving), and returns their ids.
func (f *FileSessions) ExpireIdle(before time.Time, keep func(id string) bool) []string {
	var idle []string
	f.MemorySessions.mu.RLock()
	for id, s := range f.byID {
		s.mu.Lock()
		if s.lastSeen.Before(before) {
			idle = append(idle, id)
		}
		s.mu.Unlock()
	}
	f.MemorySessions.mu.RUnlock()
	var gone []string
	for _, id := range idle {
		if (keep == nil || !keep(id)) && f.Delete(id) == nil {
			gone = append(gone, id)
		}
	}
	return gone
}
