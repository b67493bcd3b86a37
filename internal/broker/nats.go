package broker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/internal/message"
)

// ErrEcho is returned by NewNATS for a connection without NoEcho: the
// node would receive its own publishes back and deliver them twice.
var ErrEcho = errors.New("broker: NATS connection must be made with nats.NoEcho()")

// NATS is the Broker of a cluster: a publish is delivered at once to this
// node's subscribers (synchronously, as Memory does, so the router's
// ordering and replay guarantees hold locally) and sent once over NATS to
// every other node, where it arrives unstamped (ID 0) for that node's
// router to place in its own stream of the topic.
//
// Exactly once: the connection is made with NoEcho, so NATS never hands a
// node its own publish back; the local copy is the only one. Order: one
// connection and one subscription per node, so a node receives another
// node's publishes in the order they were sent, and the router sends a
// topic's messages in sequence order.
type NATS struct {
	nc     *nats.Conn
	sub    *nats.Subscription
	prefix string
	local  Memory

	closeOnce sync.Once
	out, in   atomic.Uint64
	bad       atomic.Uint64
}

var _ Broker = (*NATS)(nil)

// NATSStats counts what crossed between this node and the others.
type NATSStats struct {
	Out, In uint64 // messages sent to and received from other nodes
	Bad     uint64 // received messages that could not be decoded
	Dropped uint64 // received messages NATS dropped because this node fell behind
}

// NewNATS returns a Broker publishing on subjects under prefix (see
// Subject) over nc, which must have been made with nats.NoEcho(). The
// Broker owns nc from then on: Close closes it.
func NewNATS(nc *nats.Conn, prefix string) (*NATS, error) {
	if !nc.Opts.NoEcho {
		return nil, ErrEcho
	}
	b := &NATS{nc: nc, prefix: prefix}
	sub, err := nc.Subscribe(prefix+".>", b.receive)
	if err != nil {
		return nil, fmt.Errorf("broker: subscribe: %w", err)
	}
	// Generous limits: a node that falls this far behind drops (counted
	// in Stats) rather than growing without bound.
	if err := sub.SetPendingLimits(1<<20, 256<<20); err != nil {
		sub.Unsubscribe()
		return nil, fmt.Errorf("broker: pending limits: %w", err)
	}
	// The subscription must have reached the server before this node
	// counts as joined, or the first publishes of its peers could miss it.
	if err := nc.Flush(); err != nil {
		sub.Unsubscribe()
		return nil, fmt.Errorf("broker: flush: %w", err)
	}
	b.sub = sub
	return b, nil
}

// Publish sends m to the other nodes, then delivers it to this node's
// subscribers. If sending fails, nobody receives m.
func (b *NATS) Publish(ctx context.Context, m *message.Message) error {
	if b.local.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	env := encodeEnvelope(make([]byte, 0, 64+len(m.Topic)+len(m.Data)), m)
	if err := b.nc.Publish(Subject(b.prefix, m.Topic), env); err != nil {
		if errors.Is(err, nats.ErrConnectionClosed) {
			return ErrClosed
		}
		return fmt.Errorf("broker: nats publish: %w", err)
	}
	b.out.Add(1)
	return b.local.Publish(ctx, m)
}

// receive is the subscription's handler: NATS calls it for one message at
// a time, in arrival order.
func (b *NATS) receive(msg *nats.Msg) {
	m, _, err := decodeEnvelope(msg.Data)
	if err != nil {
		b.bad.Add(1)
		return
	}
	b.in.Add(1)
	_ = b.local.Publish(context.Background(), m)
}

// Subscribe implements Broker: deliver receives this node's publishes and,
// unstamped, the other nodes'.
func (b *NATS) Subscribe(deliver func(*message.Message)) (cancel func()) {
	return b.local.Subscribe(deliver)
}

// Stats returns the cross-node counters.
func (b *NATS) Stats() NATSStats {
	s := NATSStats{Out: b.out.Load(), In: b.in.Load(), Bad: b.bad.Load()}
	if b.sub != nil {
		if n, err := b.sub.Dropped(); err == nil {
			s.Dropped = uint64(n)
		}
	}
	return s
}

// Connected reports whether the NATS connection is up.
func (b *NATS) Connected() bool { return b.nc.IsConnected() }

// Close flushes what this node sent (for up to two seconds), stops
// receiving and closes the connection. It is idempotent.
func (b *NATS) Close() error {
	b.closeOnce.Do(func() {
		b.local.Close()
		if b.nc.IsConnected() {
			_ = b.nc.FlushTimeout(2 * time.Second)
		}
		if b.sub != nil {
			_ = b.sub.Unsubscribe()
		}
		b.nc.Close()
	})
	return nil
}

// ConnectedURL is the NATS server the connection is on (credentials
// redacted), "" when disconnected.
func (b *NATS) ConnectedURL() string { return b.nc.ConnectedUrlRedacted() }

// Flush waits until the NATS server has everything this node sent (a
// round trip), or ctx ends.
func (b *NATS) Flush(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok { // nats.go insists on one
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	return b.nc.FlushWithContext(ctx)
}
