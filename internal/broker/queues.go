package broker

import (
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/internal/message"
)

// queueSendTimeout bounds handing a queue message to another node.
const queueSendTimeout = 2 * time.Second

// QueueRelay carries STOMP queue messages between nodes (it implements
// queue.Remote): a node with consumers of a queue joins the NATS queue
// group of the queue's subject, so that NATS hands each message sent
// elsewhere to exactly one such node, which queues it for one of its
// consumers and answers "ok". A message no node takes stays where it was
// sent.
type QueueRelay struct {
	b     *NATS
	local func(name string, m *message.Message) error

	mu   sync.Mutex
	subs map[string]*nats.Subscription
}

// Queues returns the relay; local queues a message on this node.
func (b *NATS) Queues(local func(name string, m *message.Message) error) *QueueRelay {
	return &QueueRelay{b: b, local: local, subs: make(map[string]*nats.Subscription)}
}

func (r *QueueRelay) subject(name string) string { return Subject(r.b.prefix+".q", name) }

// Send implements queue.Remote.
func (r *QueueRelay) Send(name string, m *message.Message) bool {
	resp, err := r.b.nc.Request(r.subject(name), encodeEnvelope(nil, m, r.b.origin), queueSendTimeout)
	return err == nil && string(resp.Data) == "ok"
}

// Interest implements queue.Remote.
func (r *QueueRelay) Interest(name string, on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if sub := r.subs[name]; !on {
		if sub != nil {
			_ = sub.Unsubscribe()
			delete(r.subs, name)
		}
		return
	} else if sub != nil {
		return
	}
	sub, err := r.b.nc.QueueSubscribe(r.subject(name), "herald-queues", func(msg *nats.Msg) {
		env, err := decodeEnvelope(msg.Data)
		if err != nil || env.m.Topic != name {
			r.b.bad.Add(1)
			_ = msg.Respond([]byte("bad"))
			return
		}
		env.m.Publisher = ""
		if err := r.local(name, env.m); err != nil {
			_ = msg.Respond([]byte(err.Error()))
			return
		}
		_ = msg.Respond([]byte("ok"))
	})
	if err != nil {
		r.b.log.Warn("queue not shared with the cluster", "queue", name, "err", err)
		return
	}
	r.subs[name] = sub
}
