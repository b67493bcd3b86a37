package router

import (
	"context"
	"time"

	"github.com/heraldhq/herald/internal/broker"
	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/topic"
)

// PublishAsync is Publish without waiting for a cluster's stream to store
// m: with a sequencing broker that can (broker.AsyncPublisher) it queues
// m after the publishes already queued to its topic and returns at once,
// and done reports the outcome when the stream has answered. Otherwise
// (one node, or the stream not ready yet) it publishes synchronously
// under ctx and calls done before returning. done is called exactly once;
// it may run on the broker's goroutine and must not block. m belongs to
// the router from the call on, as with Publish.
func (r *Router) PublishAsync(ctx context.Context, m *message.Message, done func(error)) {
	if r.sequenced && m != nil && m.ID == 0 && !r.closed.Load() && topic.ValidName(m.Topic) == nil {
		if ap, ok := r.broker.(broker.AsyncPublisher); ok {
			m.ID = r.nextID.Add(1)
			m.Time = r.now()
			queued := ap.PublishAsync(m, func(err error) {
				if err != nil {
					m.ID, m.Seq, m.Epoch, m.Time = 0, 0, "", time.Time{}
				} else {
					r.published.Add(1)
				}
				done(err)
			})
			if queued {
				return
			}
			m.ID, m.Time = 0, time.Time{}
		}
	}
	done(r.Publish(ctx, m))
}

// Sequenced reports whether a cluster's stream stamps and stores
// publishes (a publish then waits for a round trip: PublishAsync is worth
// using).
func (r *Router) Sequenced() bool { return r.sequenced }
