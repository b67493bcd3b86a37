// Package ackgate keeps a connection's replies in order when some of them
// wait for the store: an acknowledgement of something persisted goes out
// only once the store says it is durable, and whatever the connection
// answers after it waits behind it. The connection's worker goes on
// handling input meanwhile, so a client that pipelines has its writes
// persisted together (group commit) and acknowledged in order.
package ackgate

import (
	"sync"

	"github.com/heraldhq/herald/internal/store"
)

// Gate is one connection's reply order. The zero value is ready.
type Gate struct {
	mu sync.Mutex
	q  []*entry // nil when nothing waits
}

type entry struct {
	b     []byte
	send  func([]byte) bool
	close func() // instead of b: end the connection here
	fail  func(error)
	ready bool
	err   error
}

// Send sends b at once, or queues it behind replies that wait. send
// runs under the gate's lock: it must only queue.
func (g *Gate) Send(b []byte, send func([]byte) bool) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.q) > 0 {
		g.q = append(g.q, &entry{b: b, send: send, ready: true})
		return true
	}
	return send(b)
}

// SendDurable sends b once everything queued in kv so far is durable. If
// the store fails, fail runs instead (on its own goroutine) and nothing
// queued after b is sent: the connection should end.
func (g *Gate) SendDurable(kv store.KV, b []byte, send func([]byte) bool, fail func(error)) {
	e := &entry{b: b, send: send, fail: fail}
	g.mu.Lock()
	g.q = append(g.q, e)
	g.mu.Unlock()
	kv.Barrier(func(err error) {
		g.mu.Lock()
		e.ready, e.err = true, err
		g.flushLocked()
		g.mu.Unlock()
	})
}

// Defer reports whether replies wait, and if so queues close behind
// them; otherwise the caller closes now.
func (g *Gate) Defer(close func()) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.q) == 0 {
		return false
	}
	g.q = append(g.q, &entry{close: close, ready: true})
	return true
}

func (g *Gate) flushLocked() {
	for len(g.q) > 0 && g.q[0].ready {
		e := g.q[0]
		g.q[0] = nil
		g.q = g.q[1:]
		switch {
		case e.err != nil:
			err := e.err
			g.q = nil
			go e.fail(err)
			return
		case e.close != nil:
			g.q = nil // nothing after the end is sent
			go e.close()
			return
		case e.b != nil: // a filled Slot may have nothing to send
			e.send(e.b)
		}
	}
	if len(g.q) == 0 {
		g.q = nil
	}
}
