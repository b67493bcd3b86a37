package ackgate

// Slot is a reply whose place in the order is taken before its bytes are
// known: the acknowledgement of a publish that a cluster's stream has
// not stored yet (Reserve).
type Slot struct {
	g *Gate
	e *entry
}

// Reserve takes the next place in the reply order: whatever is sent
// after it waits until the slot is filled.
func (g *Gate) Reserve(send func([]byte) bool, fail func(error)) *Slot {
	e := &entry{send: send, fail: fail}
	g.mu.Lock()
	g.q = append(g.q, e)
	g.mu.Unlock()
	return &Slot{g: g, e: e}
}

// Fill gives the slot its reply, sent once the replies before it are
// (nil: nothing to send; the slot only kept the order, for a failure).
// With err, fail runs instead (on its own goroutine) and nothing queued
// after the slot is sent, as for a store failure in SendDurable. A slot
// is filled once.
func (s *Slot) Fill(b []byte, err error) {
	s.g.mu.Lock()
	s.e.b, s.e.ready, s.e.err = b, true, err
	s.g.flushLocked()
	s.g.mu.Unlock()
}
