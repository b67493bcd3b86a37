package stomp

import (
	"strconv"
	"sync"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/queue"
)

type ackMode uint8

const (
	ackAuto ackMode = iota
	ackClient
	ackIndividual // client-individual
)

// subscription is one SUBSCRIBE: a router.Subscriber for a topic filter,
// a queue.Consumer for a queue, or a temp-queue listener. Each is
// subscribed on its own, so a message matching two subscriptions of one
// session arrives once per subscription, with its subscription header.
type subscription struct {
	c      *conn
	id     string // the client's
	index  uint64 // ours, carried by ack ids
	dest   string // the destination header, as the client wrote it
	kind   destKind
	name   string // topic filter, queue name or temp queue name
	mode   ackMode
	credit int
	q      *queue.Queue
	prefix []byte // "MESSAGE\nsubscription:<id>\n", escaped for the version

	mu      sync.Mutex
	stopped bool
	seq     uint64    // deliveries so far
	pending []pending // unacknowledged, in delivery order
}

// pending is one message delivered and not yet acknowledged.
type pending struct {
	seq   uint64       // the delivery's number: its ack id is "<index>-<seq>"
	id    uint64       // message id: the router's ID, a queue entry's or a reply's
	entry *queue.Entry // for queue messages
}

// onSubscribe adds a subscription.
func (c *conn) onSubscribe(f *Frame) *stompError {
	d, ok := f.Get("destination")
	if !ok {
		return missing(f, "destination")
	}
	id, ok := f.Get("id")
	if !ok {
		if c.v() >= V11 {
			return missing(f, "id")
		}
		id = d // 1.0: the destination names the subscription
	}
	var mode ackMode
	switch a := f.Value("ack"); a {
	case "", "auto":
	case "client":
		mode = ackClient
	case "client-individual":
		mode = ackIndividual
	default:
		return protoErr("invalid ack mode %q: auto, client or client-individual", clip(a))
	}
	dst, err := parseDest(d, c.a.cfg.RPCPrefix, true)
	if err != nil {
		return badDest(d, err)
	}
	credit := c.a.cfg.MaxUnacked
	if p, ok := f.Get("prefetch-count"); ok {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return protoErr("invalid prefetch-count %q: a positive number", clip(p))
		}
		credit = min(credit, n)
	}

	// The application decides before anything is held.
	ctx := c.s.Context()
	switch dst.kind {
	case destRPC:
		return protoErr("cannot subscribe to %s: requests are sent there, replies arrive at a reply-to destination", clip(d))
	case destTopic:
		if err := c.s.Core().Authorize(ctx, &c.s.Scope, core.ActionSubscribe, dst.name); err != nil {
			return c.refused("subscribe to", d, err)
		}
	case destQueue:
		if err := c.s.Core().Authorize(ctx, &c.s.Scope, core.ActionSubscribe, queuePrefix+dst.name); err != nil {
			return c.refused("subscribe to", d, err)
		}
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	if _, dup := c.subs[id]; dup {
		return protoErr("subscription id %q is already in use", clip(id))
	}
	if lim := c.s.Core().MaxSubscriptions(); lim > 0 && len(c.subs) >= lim {
		c.s.Core().SubscriptionLimited()
		return &stompError{msg: "too many subscriptions: the limit is " + strconv.Itoa(lim), code: core.ClosePolicyViolation, reason: "limit"}
	}
	c.nextSub++
	sub := &subscription{c: c, id: id, index: c.nextSub, dest: d, kind: dst.kind, name: dst.name, mode: mode, credit: credit}
	sub.prefix = appendHeader([]byte("MESSAGE\n"), escapingFor(c.v(), cmdMessage), "subscription", id)
	switch dst.kind {
	case destTopic:
		if err := c.s.Core().Router().Subscribe(sub, dst.name, nil, nil); err != nil {
			return c.refused("subscribe to", d, err)
		}
	case destQueue:
		qc := 0
		if mode != ackAuto {
			qc = credit
		}
		q, err := c.a.cfg.Queues.Subscribe(dst.name, sub, qc)
		if err != nil {
			return c.refused("subscribe to", d, err)
		}
		sub.q = q
	}
	if c.subs == nil {
		c.subs, c.byIndex = make(map[string]*subscription), make(map[uint64]*subscription)
	}
	c.subs[id] = sub
	c.byIndex[sub.index] = sub
	return nil
}

// onUnsubscribe ends a subscription. Unknown ids are not an error: a
// client may unsubscribe twice.
func (c *conn) onUnsubscribe(f *Frame) *stompError {
	id, ok := f.Get("id")
	if !ok {
		if c.v() >= V11 {
			return missing(f, "id")
		}
		if id, ok = f.Get("destination"); !ok {
			return protoErr("UNSUBSCRIBE frame needs an id or a destination header")
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	sub := c.subs[id]
	if sub == nil {
		return nil
	}
	delete(c.subs, id)
	delete(c.byIndex, sub.index)
	sub.stop()
	return nil
}

// stop ends the subscription: no more deliveries; a queue gets back what
// was not acknowledged.
func (sub *subscription) stop() {
	sub.mu.Lock()
	sub.stopped = true
	sub.pending = nil
	sub.mu.Unlock()
	switch sub.kind {
	case destTopic:
		sub.c.s.Core().Router().Unsubscribe(sub, sub.name)
	case destQueue:
		if sub.q != nil {
			sub.q.Unsubscribe(sub)
		}
	}
}
