package store

import (
	"sort"

	"github.com/heraldhq/herald/internal/message"
)

// ring is one topic's bounded history: a circular buffer, oldest at head.
//
// It grows by doubling up to its limit instead of being allocated at full
// size, because most topics hold a handful of messages while the limit is
// sized for the busy ones. Not safe for concurrent use.
type ring struct {
	buf  []*message.Message
	head int // index of the oldest message
	n    int // number held
}

// minRing is the first allocation, so tiny topics do not regrow repeatedly.
const minRing = 4

// push appends m, evicting the oldest message once limit are held.
func (r *ring) push(m *message.Message, limit int) {
	if r.n == len(r.buf) && len(r.buf) < limit {
		r.grow(limit)
	}
	if r.n < len(r.buf) {
		r.buf[(r.head+r.n)%len(r.buf)] = m
		r.n++
		return
	}
	r.buf[r.head] = m // full: overwrite the oldest
	r.head = (r.head + 1) % len(r.buf)
}

// grow doubles the buffer (capped at limit), unrolling it so head is 0.
func (r *ring) grow(limit int) {
	size := max(minRing, 2*len(r.buf))
	size = min(size, limit)
	buf := make([]*message.Message, size)
	for i := range r.n {
		buf[i] = r.at(i)
	}
	r.buf, r.head = buf, 0
}

// at returns the i-th oldest held message (0 <= i < n).
func (r *ring) at(i int) *message.Message {
	return r.buf[(r.head+i)%len(r.buf)]
}

// oldest returns the oldest held message, or nil.
func (r *ring) oldest() *message.Message {
	if r.n == 0 {
		return nil
	}
	return r.buf[r.head]
}

// newest returns the newest held message, or nil.
func (r *ring) newest() *message.Message {
	if r.n == 0 {
		return nil
	}
	return r.at(r.n - 1)
}

// popOldest removes the oldest message, clearing its slot so it can be
// collected.
func (r *ring) popOldest() {
	r.buf[r.head] = nil
	r.head = (r.head + 1) % len(r.buf)
	r.n--
	if r.n == 0 {
		r.head = 0
	}
}

// reset forgets every message but keeps the buffer for reuse.
func (r *ring) reset() {
	clear(r.buf)
	r.head, r.n = 0, 0
}

// since calls fn for each held message with Seq > after, oldest first.
// Sequence numbers increase along the ring, so it starts with a binary
// search: replay from near the end of a long history is cheap.
func (r *ring) since(after uint64, fn func(*message.Message)) {
	i := sort.Search(r.n, func(i int) bool { return r.at(i).Seq > after })
	for ; i < r.n; i++ {
		fn(r.at(i))
	}
}
