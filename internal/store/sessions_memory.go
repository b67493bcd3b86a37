package store

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/heraldhq/herald/internal/message"
)

// MemorySessions is the in-process Sessions: one node's sessions, lost
// on restart (clients then start new sessions and resume from their
// positions).
type MemorySessions struct {
	mu   sync.RWMutex
	byID map[string]*memSession
}

var _ Sessions = (*MemorySessions)(nil)

// NewMemorySessions returns an empty store.
func NewMemorySessions() *MemorySessions {
	return &MemorySessions{byID: make(map[string]*memSession)}
}

type memSession struct {
	mu      sync.Mutex
	lim     LogLimits
	log     [][]byte // log[0] is number acked+1
	bytes   int
	acked   uint64
	changed chan struct{} // closed on the next append or end; nil until someone waits

	seen   uint64 // every client number up to here was accepted
	window uint64 // bit i: seen+1+i was accepted

	created, lastSeen time.Time
	subs              []string
	pos               map[string]message.Position
	ended             bool
	code              uint16
	reason            string
}

func (m *MemorySessions) get(id string) (*memSession, error) {
	m.mu.RLock()
	s := m.byID[id]
	m.mu.RUnlock()
	if s == nil {
		return nil, fmt.Errorf("%w: %q", ErrNoSession, id)
	}
	return s, nil
}

// Len reports how many sessions the store holds.
func (m *MemorySessions) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.byID)
}

func (m *MemorySessions) Create(id string, lim LogLimits, now time.Time) error {
	if lim.Messages <= 0 {
		lim.Messages = 1024
	}
	if lim.Bytes <= 0 {
		lim.Bytes = 4 << 20
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.byID[id]; ok {
		return fmt.Errorf("%w: %q", ErrSessionExists, id)
	}
	m.byID[id] = &memSession{lim: lim, created: now, lastSeen: now}
	return nil
}

func (m *MemorySessions) Delete(id string) error {
	m.mu.Lock()
	s := m.byID[id]
	delete(m.byID, id)
	m.mu.Unlock()
	if s == nil {
		return fmt.Errorf("%w: %q", ErrNoSession, id)
	}
	s.mu.Lock()
	s.ended = true
	clear(s.log)
	s.log, s.bytes = nil, 0
	s.notify()
	s.mu.Unlock()
	return nil
}

func (m *MemorySessions) Append(id string, msgs [][]byte) (int, error) {
	s, err := m.get(id)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appendLocked(msgs), nil
}

// appendLocked is Append with s.mu held.
func (s *memSession) appendLocked(msgs [][]byte) int {
	n := 0
	for _, b := range msgs {
		// An empty log takes one message of any size, so that a message
		// larger than the byte limit cannot wedge the session.
		if len(s.log) >= s.lim.Messages || (len(s.log) > 0 && s.bytes+len(b) > s.lim.Bytes) {
			break
		}
		s.log = append(s.log, b)
		s.bytes += len(b)
		n++
	}
	if n > 0 {
		s.notify()
	}
	return n
}

// notify wakes waiters; called with s.mu held.
func (s *memSession) notify() {
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
}

func (m *MemorySessions) Read(id string, after uint64, max, maxBytes int) (uint64, [][]byte, error) {
	s, err := m.get(id)
	if err != nil {
		return 0, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.acked + uint64(len(s.log)) + 1
	if after >= next {
		return 0, nil, fmt.Errorf("%w: read after %d, last is %d", ErrAhead, after, next-1)
	}
	start := 0
	if after > s.acked {
		start = int(after - s.acked)
	}
	var out [][]byte
	size := 0
	for _, b := range s.log[start:] {
		if len(out) >= max || (len(out) > 0 && size+len(b) > maxBytes) {
			break
		}
		out = append(out, b)
		size += len(b)
	}
	if len(out) == 0 {
		return 0, nil, nil
	}
	return s.acked + uint64(start) + 1, out, nil
}

func (m *MemorySessions) Ack(id string, upto uint64) (int, error) {
	s, err := m.get(id)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ackLocked(upto)
}

// ackLocked is Ack with s.mu held.
func (s *memSession) ackLocked(upto uint64) (int, error) {
	if upto <= s.acked {
		return 0, nil // an old or repeated acknowledgement
	}
	k := upto - s.acked
	if k > uint64(len(s.log)) {
		return 0, fmt.Errorf("%w: ack %d, last is %d", ErrAhead, upto, s.acked+uint64(len(s.log)))
	}
	for _, b := range s.log[:k] {
		s.bytes -= len(b)
	}
	clear(s.log[:k]) // let the payloads go
	s.log = s.log[k:]
	if len(s.log) == 0 {
		s.log = nil // an idle session holds no buffer
	}
	s.acked = upto
	return int(k), nil
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (m *MemorySessions) Wait(id string, after uint64) (<-chan struct{}, error) {
	s, err := m.get(id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended || s.acked+uint64(len(s.log)) > after {
		return closedChan, nil
	}
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.changed, nil
}

func (m *MemorySessions) Accept(id string, seq uint64) (bool, error) {
	s, err := m.get(id)
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return acceptSeq(&s.seen, &s.window, seq)
}

// acceptSeq records seq in a deduplication window (every number up to
// *seen accepted, bit i of *window: *seen+1+i accepted) and reports
// whether it is new.
func acceptSeq(seen, window *uint64, seq uint64) (bool, error) {
	if seq == 0 {
		return false, fmt.Errorf("%w: message numbers start at 1", ErrAhead)
	}
	if seq <= *seen {
		return false, nil
	}
	off := seq - *seen - 1
	if off >= DedupeWindow {
		return false, fmt.Errorf("%w: message %d, lowest unseen is %d", ErrAhead, seq, *seen+1)
	}
	bit := uint64(1) << off
	if *window&bit != 0 {
		return false, nil
	}
	*window |= bit
	for *window&1 != 0 {
		*window >>= 1
		*seen++
	}
	return true, nil
}

func (m *MemorySessions) SetSubscriptions(id string, filters []string) error {
	s, err := m.get(id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.subs = slices.Clone(filters)
	s.mu.Unlock()
	return nil
}

func (m *MemorySessions) SetPositions(id string, pos map[string]message.Position) error {
	s, err := m.get(id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.pos == nil {
		s.pos = make(map[string]message.Position, len(pos))
	}
	maps.Copy(s.pos, pos)
	s.mu.Unlock()
	return nil
}

func (m *MemorySessions) Touch(id string, now time.Time) error {
	s, err := m.get(id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if now.After(s.lastSeen) {
		s.lastSeen = now
	}
	s.mu.Unlock()
	return nil
}

func (m *MemorySessions) End(id string, code uint16, reason string) error {
	s, err := m.get(id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if !s.ended {
		s.ended, s.code, s.reason = true, code, reason
		s.notify()
	}
	s.mu.Unlock()
	return nil
}

func (m *MemorySessions) Info(id string) (SessionInfo, error) {
	s, err := m.get(id)
	if err != nil {
		return SessionInfo{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return SessionInfo{
		Created: s.created, LastSeen: s.lastSeen,
		Subscriptions: slices.Clone(s.subs), Positions: maps.Clone(s.pos),
		Next: s.acked + uint64(len(s.log)) + 1, Acked: s.acked,
		Pending: len(s.log), Bytes: s.bytes,
		Ended: s.ended, Code: s.code, Reason: s.reason,
	}, nil
}
