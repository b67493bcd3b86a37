package broker

import "github.com/heraldhq/herald/internal/message"

// AsyncPublisher is a Broker that can take a publish without its caller
// waiting for it to be stored: a cluster connection then sends its next
// publish while the stream stores the previous one (ADR 0018).
type AsyncPublisher interface {
	// PublishAsync queues m and returns at once; done is called once,
	// when m is stored (nil) or has failed. Publishes queued by one
	// caller to one topic are stored in call order, behind any
	// synchronous publish queued before them and ahead of any queued
	// after. done runs on the goroutine that stores the topic: it must
	// not block. It returns false, having done nothing, when m cannot be
	// queued now (not sequenced, stream not ready yet, closed): the
	// caller publishes synchronously instead.
	PublishAsync(m *message.Message, done func(error)) bool
}

// PublishAsync implements AsyncPublisher in sequenced mode: m joins its
// topic's waiting publishes (the same queue a synchronous Publish joins,
// so the order of one caller's publishes is the order of its calls), and
// if no one is storing that topic a goroutine starts to.
func (b *NATS) PublishAsync(m *message.Message, done func(error)) bool {
	s := b.seq
	if s == nil || !s.ready.Load() || b.local.closed.Load() {
		return false
	}
	if tl, lead := s.enqueue(&pending{m: m, cb: done}); lead {
		go b.storeWaiting(tl, Subject(b.prefix, m.Topic))
	}
	return true
}
