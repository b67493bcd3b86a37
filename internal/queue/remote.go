package queue

import "github.com/heraldhq/herald/internal/message"

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

// Send queues m for one consumer of name: on this node if it has one (or
// without a Remote), else on a node of the cluster that has one, else
// here, waiting for a consumer. m must not be modified after.
func (qs *Queues) Send(name string, m *message.Message) error {
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
