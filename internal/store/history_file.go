package store

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/topic"
)

// HistoryBucket is the KV bucket of FileHistory: key topic|seq, value the
// message.
const HistoryBucket = "history"

// FileHistory is a History whose topics matching durable filters are
// written through to a KV; other topics are kept in memory only. A
// MemoryHistory serves, bounded as usual, and the KV follows it: what
// the memory history drops (count, age, a new epoch, Drop) is deleted
// from the KV. Loaded back at start-up, the messages keep their
// sequence numbers and epoch, so positions clients hold stay valid
// across a restart (the router takes a topic's epoch and sequence from
// its newest held message).
type FileHistory struct {
	mem     *MemoryHistory
	kv      KV
	filters []string

	mu   sync.Mutex
	kept map[string]*span // durable topics with records in the KV
}

// span is the run of sequence numbers a topic has in the KV.
type span struct {
	lo, hi uint64
	epoch  string
}

// NewFileHistory loads the durable history kept in kv and returns a
// History bounded like NewMemoryHistory(size, ttl) that writes topics
// matching any of filters through to kv.
func NewFileHistory(kv KV, size int, ttl time.Duration, filters []string) (*FileHistory, error) {
	for _, f := range filters {
		if err := topic.ValidFilter(f); err != nil {
			return nil, fmt.Errorf("store: durable topic %q: %w", f, err)
		}
	}
	h := &FileHistory{mem: NewMemoryHistory(size, ttl), kv: kv, filters: filters, kept: make(map[string]*span)}
	err := kv.Scan(HistoryBucket, func(k, v []byte) error {
		name, seq, err := splitTopicKey(k)
		if err != nil {
			return err
		}
		m, _, err := DecodeMessage(v)
		if err != nil {
			return fmt.Errorf("history %q %d: %w", name, seq, err)
		}
		m.Topic, m.Seq = name, seq
		h.mem.Append(m)
		sp := h.kept[name]
		if sp == nil || sp.epoch != m.Epoch {
			sp = &span{lo: seq, epoch: m.Epoch}
			h.kept[name] = sp
		}
		sp.hi = seq
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: loading history: %w", err)
	}
	// Records the memory history would not keep (older epochs, beyond
	// the bounds now configured) are deleted.
	h.mu.Lock()
	for name, sp := range h.kept {
		h.followLocked(name, sp)
	}
	h.mu.Unlock()
	return h, nil
}

func topicKey(name string, seq uint64) []byte {
	b := binary.BigEndian.AppendUint16(make([]byte, 0, 10+len(name)), uint16(len(name)))
	return binary.BigEndian.AppendUint64(append(b, name...), seq)
}

func splitTopicKey(k []byte) (string, uint64, error) {
	if len(k) < 2 || len(k) != 2+int(binary.BigEndian.Uint16(k))+8 {
		return "", 0, fmt.Errorf("%w: history key %x", ErrRecord, k)
	}
	n := 2 + int(binary.BigEndian.Uint16(k))
	return string(k[2:n]), binary.BigEndian.Uint64(k[n:]), nil
}

func (h *FileHistory) durable(name string) bool {
	for _, f := range h.filters {
		if topic.Match(f, name) {
			return true
		}
	}
	return false
}

// Append implements History.
func (h *FileHistory) Append(m *message.Message) {
	h.mem.Append(m)
	if len(h.filters) == 0 || !h.durable(m.Topic) || len(m.Topic) > math.MaxUint16 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	sp := h.kept[m.Topic]
	if sp != nil && sp.epoch != m.Epoch {
		h.deleteLocked(m.Topic, sp.lo, sp.hi)
		sp = nil
	}
	if sp == nil {
		sp = &span{lo: m.Seq, epoch: m.Epoch}
		h.kept[m.Topic] = sp
	}
	sp.hi = m.Seq
	h.kv.Put(HistoryBucket, topicKey(m.Topic, m.Seq), AppendMessage(nil, m))
	h.followLocked(m.Topic, sp)
}

// followLocked deletes the records the memory history no longer holds.
func (h *FileHistory) followLocked(name string, sp *span) {
	oldest := h.mem.Since(name, math.MaxUint64, nil)
	switch {
	case oldest == 0:
		h.deleteLocked(name, sp.lo, sp.hi)
		delete(h.kept, name)
	case oldest > sp.lo:
		h.deleteLocked(name, sp.lo, min(oldest-1, sp.hi))
		sp.lo = oldest
	}
}

func (h *FileHistory) deleteLocked(name string, lo, hi uint64) {
	for s := lo; s <= hi && s != 0; s++ {
		h.kv.Delete(HistoryBucket, topicKey(name, s))
	}
}

// Since implements History.
func (h *FileHistory) Since(name string, after uint64, fn func(*message.Message)) uint64 {
	return h.mem.Since(name, after, fn)
}

// Trim implements History.
func (h *FileHistory) Trim(now time.Time) {
	h.mem.Trim(now)
	h.mu.Lock()
	defer h.mu.Unlock()
	for name, sp := range h.kept {
		h.followLocked(name, sp)
	}
}

// Drop implements History.
func (h *FileHistory) Drop(name string) {
	h.mem.Drop(name)
	h.mu.Lock()
	defer h.mu.Unlock()
	if sp := h.kept[name]; sp != nil {
		h.followLocked(name, sp)
	}
}
