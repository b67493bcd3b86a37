package store

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/heraldhq/herald/internal/message"
)

// shardCount spreads topics over this many independently locked maps, so
// appends to different topics rarely contend on one lock. A power of two.
const shardCount = 64

// MemoryHistory is a History kept in process memory: a lazily grown ring
// buffer per topic, in a sharded map. It is safe for concurrent use.
type MemoryHistory struct {
	size   int
	ttl    time.Duration
	seed   maphash.Seed
	shards [shardCount]shard
}

type shard struct {
	mu     sync.Mutex
	topics map[string]*topicRing
	// oldest is no later than the Time of any message held in the shard;
	// it is meaningful only when timed is set (the shard may hold
	// messages). Trim skips the shard while oldest has not expired, which
	// is what makes a Trim that finds nothing to drop cost one lock per
	// shard rather than a walk over every topic.
	oldest time.Time
	timed  bool
	_      [64]byte // keep shards' hot fields on separate cache lines
}

type topicRing struct {
	epoch string
	ring
}

var _ History = (*MemoryHistory)(nil)

// NewMemoryHistory returns a History keeping, per topic, at most size
// messages, each for at most ttl after its Time. size <= 0 keeps nothing;
// ttl <= 0 sets no age limit.
func NewMemoryHistory(size int, ttl time.Duration) *MemoryHistory {
	h := &MemoryHistory{size: max(size, 0), ttl: max(ttl, 0), seed: maphash.MakeSeed()}
	for i := range h.shards {
		h.shards[i].topics = make(map[string]*topicRing)
	}
	return h
}

func (h *MemoryHistory) shard(topic string) *shard {
	return &h.shards[maphash.String(h.seed, topic)%shardCount]
}

// Append records m, evicting the topic's oldest message when the count
// limit is reached. A message of a new epoch replaces the topic's history.
func (h *MemoryHistory) Append(m *message.Message) {
	if h.size == 0 {
		return
	}
	s := h.shard(m.Topic)
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.topics[m.Topic]
	if r == nil {
		r = &topicRing{epoch: m.Epoch}
		s.topics[m.Topic] = r
	} else if r.epoch != m.Epoch {
		r.reset()
		r.epoch = m.Epoch
	}
	r.push(m, h.size)
	if !s.timed || m.Time.Before(s.oldest) {
		s.oldest, s.timed = m.Time, true
	}
}

// Since implements History. fn runs under the shard lock: it must be quick
// and must not call back into h.
func (h *MemoryHistory) Since(topic string, after uint64, fn func(*message.Message)) uint64 {
	s := h.shard(topic)
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.topics[topic]
	if r == nil || r.n == 0 {
		return 0
	}
	if fn != nil {
		r.since(after, fn)
	}
	return r.oldest().Seq
}

// Trim drops messages whose age at now is ttl or more, and forgets topics
// left empty.
func (h *MemoryHistory) Trim(now time.Time) {
	if h.ttl == 0 {
		return
	}
	cutoff := now.Add(-h.ttl) // messages with Time <= cutoff have expired
	for i := range h.shards {
		s := &h.shards[i]
		s.mu.Lock()
		if s.timed && !s.oldest.After(cutoff) {
			s.trim(cutoff)
		}
		s.mu.Unlock()
	}
}

// trim drops expired messages from every topic of s and recomputes oldest.
// Messages are appended in time order per topic, so expired ones are a
// prefix of each ring.
func (s *shard) trim(cutoff time.Time) {
	s.oldest, s.timed = time.Time{}, false
	for name, r := range s.topics {
		for r.n > 0 && !r.oldest().Time.After(cutoff) {
			r.popOldest()
		}
		if r.n == 0 {
			delete(s.topics, name)
			continue
		}
		if t := r.oldest().Time; !s.timed || t.Before(s.oldest) {
			s.oldest, s.timed = t, true
		}
	}
}

// Drop implements History.
func (h *MemoryHistory) Drop(topic string) {
	s := h.shard(topic)
	s.mu.Lock()
	delete(s.topics, topic)
	if len(s.topics) == 0 {
		s.oldest, s.timed = time.Time{}, false
	}
	s.mu.Unlock()
}
