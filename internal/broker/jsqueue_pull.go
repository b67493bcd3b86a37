package broker

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// pull takes queue p.name's messages for this node's consumers until ctx
// ends (no consumer left here, or the broker closed).
func (r *JSQueues) pull(ctx context.Context, p *puller) {
	var sub *nats.Subscription
	defer func() {
		if sub != nil {
			// What the stream sent after the last pull ended goes back
			// after AckWait.
			_ = sub.Unsubscribe()
		}
	}()
	for ctx.Err() == nil {
		if sub == nil {
			var err error
			if sub, err = r.subscribe(ctx, p.name); err != nil {
				if ctx.Err() == nil {
					r.b.log.Debug("queue consumer not ready", "queue", p.name, "err", err)
				}
				if !sleepCtx(ctx, 250*time.Millisecond) {
					return
				}
				continue
			}
		}
		n := r.local.Room(p.name)
		if n <= 0 {
			// No pull is outstanding: what came from the last one and
			// no consumer here can take now (one left meanwhile) goes
			// back to the stream, for another node, rather than wait here.
			r.local.Release(p.name)
			select {
			case <-ctx.Done():
				return
			case <-p.wake:
			}
			continue
		}
		err := r.pullBatch(ctx, p.name, sub, min(n, queuePullBatch))
		switch {
		case err == nil, ctx.Err() != nil, errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		case errors.Is(err, nats.ErrConnectionClosed):
			return
		default:
			// The consumer may be gone (deleted, or lost with its
			// leader): subscribe again.
			r.b.log.Debug("queue pull failed", "queue", p.name, "err", err)
			_ = sub.Unsubscribe()
			sub = nil
			if !sleepCtx(ctx, 250*time.Millisecond) {
				return
			}
		}
	}
}

// pullBatch asks the stream for up to n messages and hands each on as it
// arrives, until n came or the request expired (queuePullWait).
func (r *JSQueues) pullBatch(ctx context.Context, name string, sub *nats.Subscription, n int) error {
	fctx, cancel := context.WithTimeout(ctx, queuePullWait)
	defer cancel()
	mb, err := sub.FetchBatch(n, nats.Context(fctx))
	if err != nil {
		return err
	}
	for m := range mb.Messages() {
		r.take(name, m)
	}
	return mb.Error()
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// subscribe makes (or finds) the queue's durable consumer, shared by all
// nodes, and a pull subscription to it.
func (r *JSQueues) subscribe(ctx context.Context, name string) (*nats.Subscription, error) {
	select {
	case <-r.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	subject := r.subject(name)
	durable := consumerName(subject)
	cc := &nats.ConsumerConfig{
		Durable:           durable,
		Description:       "Herald queue " + clipName(name),
		FilterSubject:     subject,
		AckPolicy:         nats.AckExplicitPolicy,
		AckWait:           r.ackWait,
		MaxDeliver:        -1,
		MaxAckPending:     -1,
		DeliverPolicy:     nats.DeliverAllPolicy,
		InactiveThreshold: queueInactive,
	}
	actx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	if _, err := r.js.AddConsumer(r.cfg.Name, cc, nats.Context(actx)); err != nil && !errors.Is(err, nats.ErrConsumerNameAlreadyInUse) {
		return nil, err
	}
	return r.js.PullSubscribe(subject, durable, nats.Bind(r.cfg.Name, durable))
}

func clipName(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// take hands one pulled message to this node's queue; one that cannot go
// there goes back to the stream.
func (r *JSQueues) take(name string, m *nats.Msg) {
	env, err := decodeEnvelope(m.Data)
	if err != nil || env.m.Topic != name {
		r.b.bad.Add(1)
		_ = m.Term() // never deliverable
		return
	}
	redelivered := false
	if md, err := m.Metadata(); err == nil {
		redelivered = md.NumDelivered > 1
	}
	if env.origin != r.b.origin {
		r.b.in.Add(1)
	}
	env.m.Publisher = ""
	d := &jsDelivery{r: r, m: m}
	r.heldMu.Lock()
	r.held[d] = struct{}{}
	r.heldMu.Unlock()
	if err := r.local.Deliver(name, env.m, redelivered, d); err != nil {
		d.Nack()
	}
}

// jsDelivery is a pulled message held by this node until its consumer
// settles it (it implements queue.Receipt).
type jsDelivery struct {
	r    *JSQueues
	m    *nats.Msg
	done atomic.Bool
}

// Ack implements queue.Receipt.
func (d *jsDelivery) Ack() { d.settle(false) }

// Nack implements queue.Receipt.
func (d *jsDelivery) Nack() { d.settle(true) }

func (d *jsDelivery) settle(nak bool) {
	if d.done.Swap(true) {
		return
	}
	d.r.heldMu.Lock()
	delete(d.r.held, d)
	d.r.heldMu.Unlock()
	if nak {
		_ = d.m.Nak()
	} else {
		_ = d.m.Ack()
	}
}

// heartbeat tells the stream, every AckWait/3, that this node still holds
// the messages its consumers have not settled, so that only a lost node's
// messages go to another node.
func (r *JSQueues) heartbeat() {
	t := time.NewTicker(r.ackWait / 3)
	defer t.Stop()
	var batch []*jsDelivery
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
		}
		r.heldMu.Lock()
		for d := range r.held {
			batch = append(batch, d)
		}
		r.heldMu.Unlock()
		for _, d := range batch {
			if !d.done.Load() {
				_ = d.m.InProgress()
			}
		}
		clear(batch)
		batch = batch[:0]
	}
}

// Held reports how many pulled messages this node holds unsettled.
func (r *JSQueues) Held() int {
	r.heldMu.Lock()
	defer r.heldMu.Unlock()
	return len(r.held)
}
