package store

import (
	"fmt"
	"sync"

	"github.com/heraldhq/herald/internal/message"
)

// RetainedBucket is the KV bucket of FileRetained: key topic, value the
// message.
const RetainedBucket = "retained"

// FileRetained is a Retained store written through to a KV: a
// MemoryRetained serves, every change is queued to the KV, and
// NewFileRetained loads what the KV holds. A retained publish is durable
// once a KV barrier after it fires.
type FileRetained struct {
	mem  *MemoryRetained
	kv   KV
	keys []string
	mu   sync.Mutex // orders memory and KV updates of one topic
}

// NewFileRetained loads the retained messages kept in kv, bounded like
// NewMemoryRetained. keys name the cached encodings kept with each
// message (see AppendMessage).
func NewFileRetained(kv KV, maxMessages, maxBytes int, keys ...string) (*FileRetained, error) {
	r := &FileRetained{mem: NewMemoryRetained(maxMessages, maxBytes), kv: kv, keys: keys}
	err := kv.Scan(RetainedBucket, func(k, v []byte) error {
		m, _, err := DecodeMessage(v, keys...)
		if err != nil {
			return fmt.Errorf("retained %q: %w", k, err)
		}
		if !r.mem.Set(m) {
			// Beyond the limits now configured: not kept.
			kv.Delete(RetainedBucket, k)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: loading retained messages: %w", err)
	}
	return r, nil
}

// Set implements Retained.
func (r *FileRetained) Set(m *message.Message) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.mem.Set(m) {
		return false
	}
	if len(m.Data) == 0 {
		r.kv.Delete(RetainedBucket, []byte(m.Topic))
	} else {
		r.kv.Put(RetainedBucket, []byte(m.Topic), AppendMessage(nil, m, r.keys...))
	}
	return true
}

// Remove implements Retained.
func (r *FileRetained) Remove(topic string, m *message.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	held := false
	r.mem.Match(topic, func(cur *message.Message) { held = cur == m })
	if held {
		r.mem.Remove(topic, m)
		r.kv.Delete(RetainedBucket, []byte(topic))
	}
}

// Match implements Retained.
func (r *FileRetained) Match(filter string, fn func(*message.Message)) { r.mem.Match(filter, fn) }

// Len implements Retained.
func (r *FileRetained) Len() (messages, bytes int) { return r.mem.Len() }
