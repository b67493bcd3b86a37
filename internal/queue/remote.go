package queue

import (
	"context"

	"github.com/heraldhq/herald/internal/message"
)

// Remote joins a node's queues with the other nodes' of a cluster, so that
// a queue message goes to one consumer in the whole cluster: a message
// sent on a node with no consumer of its queue goes to a node that has
// one.
type Remote interface {
	// Send hands m to another node with consumers of name, which queues it
	// there (SendLocal); false if no node took it.
	Send(name string, m *message.Message) bool
	// Interest says that this node now has (on) or no longer has (off)
	// consumers of name. It is called under the queue's lock, in order,
	// and must not block or call the queues.
	Interest(name string, on bool)
}

// Send is SendContext without a deadline of its own.
func (qs *Queues) Send(name string, m *message.Message) error {
	return qs.SendContext(context.Background(), name, m)
}

// SendContext queues m for one consumer of name: in the cluster's Shared
// store if there is one; else on this node if it has a consumer (or
// without a Remote), else on a node of the cluster that has one, else
// here, waiting for a consumer. m must not be modified after.
func (qs *Queues) SendContext(ctx context.Context, name string, m *message.Message) error {
	if qs.opts.Shared != nil {
		return qs.opts.Shared.Send(ctx, name, m)
	}
	if qs.opts.Remote != nil && !qs.hasConsumers(name) && qs.opts.Remote.Send(name, m) {
		return nil
	}
	return qs.SendLocal(name, m)
}

// hasConsumers reports whether name has a consumer on this node.
func (qs *Queues) hasConsumers(name string) bool {
	q, _ := qs.get(name, false)
	if q == nil {
		return false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.consumers) > 0
}
