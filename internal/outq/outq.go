// Package outq is a connection's bounded outbound queue. Publishers append
// already-encoded frames; one flush takes everything queued and writes it
// in a single vectored write, which is what coalesces frames under load.
// When the queue is full the connection's slow-consumer policy decides.
package outq

import (
	"errors"
	"math/bits"
	"sync"
)

// Policy is what happens when a subscriber cannot keep up.
type Policy uint8

const (
	// Disconnect ends the connection (the default: the client reconnects
	// and resumes from its position, so nothing is silently lost).
	Disconnect Policy = iota
	// DropOldest discards the oldest droppable frames to make room.
	DropOldest
	// KeepLatest replaces a queued frame of the same topic with the new
	// one (conflation), then falls back to DropOldest.
	KeepLatest
)

// String names the policy as configuration spells it.
func (p Policy) String() string {
	switch p {
	case DropOldest:
		return "drop-oldest"
	case KeepLatest:
		return "keep-latest"
	}
	return "disconnect"
}

// ParsePolicy reads "disconnect", "drop-oldest" or "keep-latest".
func ParsePolicy(s string) (Policy, error) {
	switch s {
	case "", "disconnect":
		return Disconnect, nil
	case "drop-oldest":
		return DropOldest, nil
	case "keep-latest":
		return KeepLatest, nil
	}
	return Disconnect, errors.New("outq: unknown slow-consumer policy " + s)
}

// ErrOverflow reports that the queue is full and the policy is Disconnect
// (or nothing droppable was left to make room).
var ErrOverflow = errors.New("outq: outbound queue full")

// Item is one frame. Own holds bytes for this connection only (for example
// per-subscriber headers); Shared holds bytes shared by every subscriber of
// a message and must never be modified. Key names the topic for KeepLatest;
// Droppable marks publications, which a policy may discard (responses and
// control frames are never dropped).
type Item struct {
	Own, Shared []byte
	Key         string
	Droppable   bool
}

// Size is the number of bytes the item puts on the wire.
func (it *Item) Size() int { return len(it.Own) + len(it.Shared) }

// Limits bound a queue.
type Limits struct {
	Messages int // frames waiting; <= 0 means 1024
	Bytes    int // bytes waiting; <= 0 means 4 MiB
	Policy   Policy
}

// Queue is not safe for concurrent use: the connection locks around it.
// An empty queue holds no buffer.
type Queue struct {
	// Compact, as every idle connection holds one: 40 bytes.
	box    *ring // the items, recycled through the pools; nil when empty
	bytes  int
	maxB   int
	maxN   int32
	head   int32
	n      int32
	policy Policy
}

// New returns an empty queue.
func New(lim Limits) Queue {
	if lim.Messages <= 0 {
		lim.Messages = 1024
	}
	if lim.Bytes <= 0 {
		lim.Bytes = 4 << 20
	}
	return Queue{maxN: int32(min(lim.Messages, 1<<29)), maxB: lim.Bytes, policy: lim.Policy} // n may reach twice maxN
}

// ring returns the items' ring buffer, nil when nothing is queued.
func (q *Queue) ring() []Item {
	if q.box == nil {
		return nil
	}
	return q.box.items
}

// Len and Bytes report what is waiting.
func (q *Queue) Len() int   { return int(q.n) }
func (q *Queue) Bytes() int { return q.bytes }

// Push appends it, applying the policy when the queue is full; extra bytes
// already handed to the socket but not yet written (inflight) count toward
// the byte limit. It returns how many frames the policy dropped, and
// ErrOverflow when the connection must be disconnected instead.
func (q *Queue) Push(it Item, inflight int) (dropped int, err error) {
	size := it.Size()
	for q.n >= q.maxN || (q.n > 0 && q.bytes+size+inflight > q.maxB) {
		switch {
		case !it.Droppable || q.policy == Disconnect:
			if it.Droppable || q.n >= q.maxN*2 {
				return dropped, ErrOverflow
			}
			// A response or control frame may exceed the limit (by up to
			// the limit again), so a burst of publications cannot make a
			// request go unanswered.
			goto push
		case q.policy == KeepLatest && it.Key != "" && q.replace(it):
			return dropped + 1, nil
		case q.dropOldest():
			dropped++
		default:
			return dropped, ErrOverflow
		}
	}
push:
	items := q.ring()
	if int(q.n) == len(items) {
		items = q.grow()
	}
	items[int(q.head+q.n)%len(items)] = it
	q.n++
	q.bytes += size
	return dropped, nil
}

// replace swaps the newest queued item with the same key for it.
func (q *Queue) replace(it Item) bool {
	items := q.ring()
	for i := q.n - 1; i >= 0; i-- {
		p := &items[int(q.head+i)%len(items)]
		if p.Droppable && p.Key == it.Key {
			q.bytes += it.Size() - p.Size()
			*p = it
			return true
		}
	}
	return false
}

// dropOldest removes the oldest droppable item.
func (q *Queue) dropOldest() bool {
	items := q.ring()
	for i := range int(q.n) {
		idx := (int(q.head) + i) % len(items)
		if !items[idx].Droppable {
			continue
		}
		q.bytes -= items[idx].Size()
		// Shift the items before it one place forward to close the hole.
		for j := i; j > 0; j-- {
			items[(int(q.head)+j)%len(items)] = items[(int(q.head)+j-1)%len(items)]
		}
		items[q.head] = Item{}
		q.head = int32((int(q.head) + 1) % len(items))
		q.n--
		return true
	}
	return false
}

func (q *Queue) grow() []Item {
	items := q.ring()
	box := getRing(max(minRing, 2*len(items)))
	for i := range int(q.n) {
		box.items[i] = items[(int(q.head)+i)%len(items)]
	}
	putRing(q.box)
	q.box, q.head = box, 0
	return box.items
}

// Rings are recycled through pools, one per power-of-two size, so an
// empty queue can give its buffer back (idle connections hold none)
// without a busy one allocating a new ring after every flush. A ring
// travels in a box so that pooling it allocates nothing.
const (
	minRing   = 4
	ringPools = 9 // 4 .. 1024 items
)

type ring struct{ items []Item }

var rings [ringPools]sync.Pool

func ringClass(size int) int { return bits.Len(uint(size)) - bits.Len(minRing) }

func getRing(size int) *ring {
	if c := ringClass(size); c < ringPools && size == minRing<<c {
		if r, ok := rings[c].Get().(*ring); ok {
			return r
		}
	}
	return &ring{items: make([]Item, size)}
}

func putRing(r *ring) {
	if r == nil {
		return
	}
	c := ringClass(len(r.items))
	if c < 0 || c >= ringPools || len(r.items) != minRing<<c {
		return
	}
	clear(r.items) // drop references to frames already written
	rings[c].Put(r)
}

// Drain appends every queued frame's buffers to bufs, in order, empties the
// queue and releases its buffer. The caller writes bufs and keeps them
// alive until written.
func (q *Queue) Drain(bufs [][]byte) [][]byte {
	items := q.ring()
	for i := range int(q.n) {
		it := &items[(int(q.head)+i)%len(items)]
		if len(it.Own) > 0 {
			bufs = append(bufs, it.Own)
		}
		if len(it.Shared) > 0 {
			bufs = append(bufs, it.Shared)
		}
	}
	putRing(q.box)
	q.box, q.head, q.n, q.bytes = nil, 0, 0, 0
	return bufs
}

// Reset discards everything.
func (q *Queue) Reset() {
	putRing(q.box)
	q.box, q.head, q.n, q.bytes = nil, 0, 0, 0
}
