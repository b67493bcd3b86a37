package store

import (
	"sync"

	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/topic"
)

// Retained keeps the last retained message of each topic (MQTT's retained
// messages): what a new subscriber receives at once, before anything is
// published again.
//
// Implementations must be safe for concurrent use. The messages are
// published, shared ones: a Retained keeps the pointers and never modifies
// them. MemoryRetained keeps them in process memory; a file-backed store
// can replace it without its callers changing.
type Retained interface {
	// Set makes m the retained message of m.Topic, replacing any; a
	// message with no data deletes it instead. It reports false when the
	// store is full and m was not kept (a deletion always succeeds).
	Set(m *message.Message) bool
	// Remove deletes topic's retained message if it is still m (so that a
	// caller dropping an expired message does not delete a newer one).
	Remove(topic string, m *message.Message)
	// Match calls fn for each held message whose topic matches filter (a
	// valid topic filter, with topic.Match's rules: wildcards at the
	// first level do not match "$" topics). fn must not call back into
	// the store.
	Match(filter string, fn func(*message.Message))
	// Len reports the number of messages held and their payload bytes.
	Len() (messages, bytes int)
}

// MemoryRetained is the in-memory Retained store, bounded by a count and
// a payload byte limit.
type MemoryRetained struct {
	maxMessages, maxBytes int

	mu    sync.RWMutex
	msgs  map[string]*message.Message
	bytes int
}

// NewMemoryRetained returns an empty store holding at most maxMessages
// messages and maxBytes payload bytes (zero or negative: no limit).
func NewMemoryRetained(maxMessages, maxBytes int) *MemoryRetained {
	return &MemoryRetained{maxMessages: maxMessages, maxBytes: maxBytes, msgs: make(map[string]*message.Message)}
}

// Set implements Retained.
func (r *MemoryRetained) Set(m *message.Message) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.msgs[m.Topic]
	oldBytes := 0
	if old != nil {
		oldBytes = len(old.Data)
	}
	if len(m.Data) == 0 {
		if old != nil {
			delete(r.msgs, m.Topic)
			r.bytes -= oldBytes
		}
		return true
	}
	if old == nil && r.maxMessages > 0 && len(r.msgs) >= r.maxMessages {
		return false
	}
	if r.maxBytes > 0 && r.bytes-oldBytes+len(m.Data) > r.maxBytes {
		return false
	}
	r.msgs[m.Topic] = m
	r.bytes += len(m.Data) - oldBytes
	return true
}

// Remove implements Retained.
func (r *MemoryRetained) Remove(topic string, m *message.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if cur, ok := r.msgs[topic]; ok && cur == m {
		delete(r.msgs, topic)
		r.bytes -= len(m.Data)
	}
}

// Match implements Retained. An exact filter is one lookup; a wildcard
// filter scans every held message.
func (r *MemoryRetained) Match(filter string, fn func(*message.Message)) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if !topic.IsWildcard(filter) {
		if m, ok := r.msgs[filter]; ok {
			fn(m)
		}
		return
	}
	for name, m := range r.msgs {
		if topic.Match(filter, name) {
			fn(m)
		}
	}
}

// Len implements Retained.
func (r *MemoryRetained) Len() (messages, bytes int) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.msgs), r.bytes
}
