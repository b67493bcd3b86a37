package broker

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/internal/message"
)

// ErrEcho is returned by NewNATS for a connection without NoEcho: the
// node would receive its own publishes back and deliver them twice.
var ErrEcho = errors.New("broker: NATS connection must be made with nats.NoEcho()")

// Sequencer is implemented by a Broker that gives each topic one sequence
// for the whole cluster: its Publish stamps Seq and Epoch on the message
// and does not deliver it; every message, this node's included, reaches
// Subscribe's callbacks later, stamped, in the topic's order, as a new
// *message.Message with ID 0.
type Sequencer interface {
	Broker
	Sequenced() bool
	// TopicTail is the Seq and Epoch of the topic's newest message in the
	// cluster (ok false if unknown): a node that is behind it waits to
	// catch up before it answers a resume.
	TopicTail(topic string) (seq uint64, epoch string, ok bool)
}

// NATS is the Broker of a cluster. It works in one of two modes.
//
// Unsequenced (NewNATS): a publish is delivered at once to this node's
// subscribers (synchronously, as Memory does, so the router's ordering and
// replay guarantees hold locally) and sent once over NATS to every other
// node, where it arrives unstamped (ID 0, Seq 0) for that node's router to
// place in its own stream of the topic. The connection is made with
// NoEcho, so NATS never hands a node its own publish back: the local copy
// is the only one. One connection and one subscription per node keep each
// publisher's order.
//
// Sequenced (NewSequencedNATS, sequenced.go): publishes go through a
// JetStream stream that assigns each topic's sequence once for the whole
// cluster, and every node, this one included, receives what the stream
// stored, in order, with the same Seq and Epoch.
type NATS struct {
	nc     *nats.Conn
	sub    *nats.Subscription
	prefix string
	origin string // this broker's id, in every envelope it sends
	local  Memory
	log    *slog.Logger

	seq *sequencer // nil when unsequenced

	sharesMu sync.Mutex
	shares   *Shares // nil until Shares is called (shares.go)

	closeOnce sync.Once
	out, in   atomic.Uint64
	bad       atomic.Uint64
}

var _ Sequencer = (*NATS)(nil)

// NATSStats counts what crossed between this node and the others.
type NATSStats struct {
	Out     uint64 `json:"out"`               // messages this node sent
	In      uint64 `json:"in"`                // messages received from other nodes
	Bad     uint64 `json:"bad"`               // received messages that could not be decoded
	Dropped uint64 `json:"dropped"`           // received messages NATS dropped because this node fell behind
	Retries uint64 `json:"retries,omitempty"` // sequenced publishes tried again (another node went first, or no stream leader)
}

// NewNATS returns an unsequenced Broker publishing on subjects under
// prefix (see Subject) over nc, which must have been made with
// nats.NoEcho(). The Broker owns nc from then on: Close closes it.
func NewNATS(nc *nats.Conn, prefix string) (*NATS, error) {
	if !nc.Opts.NoEcho {
		return nil, ErrEcho
	}
	b := newNATS(nc, prefix, nil)
	if err := b.subscribe(prefix + ".t.>"); err != nil {
		return nil, err
	}
	// Hashed subjects (long topics) travel under .h.
	if _, err := nc.Subscribe(prefix+".h.>", b.receive); err != nil {
		b.sub.Unsubscribe()
		return nil, fmt.Errorf("broker: subscribe: %w", err)
	}
	return b, b.flush()
}

func newNATS(nc *nats.Conn, prefix string, log *slog.Logger) *NATS {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &NATS{nc: nc, prefix: prefix, origin: newID(), log: log}
}

// subscribe receives subject (a wildcard) into receive.
func (b *NATS) subscribe(subject string) error {
	sub, err := b.nc.Subscribe(subject, b.receive)
	if err != nil {
		return fmt.Errorf("broker: subscribe: %w", err)
	}
	// Generous limits: a node that falls this far behind drops (counted
	// in Stats) rather than growing without bound.
	if err := sub.SetPendingLimits(1<<20, 256<<20); err != nil {
		sub.Unsubscribe()
		return fmt.Errorf("broker: pending limits: %w", err)
	}
	b.sub = sub
	return nil
}

// flush makes sure the subscriptions reached the server before this node
// counts as joined, or the first publishes of its peers could miss them.
func (b *NATS) flush() error {
	if err := b.nc.Flush(); err != nil {
		b.nc.Close()
		return fmt.Errorf("broker: flush: %w", err)
	}
	return nil
}

// Sequenced reports whether the cluster stamps Seq and Epoch (JetStream).
func (b *NATS) Sequenced() bool { return b.seq != nil }

// Publish sends m to the other nodes. Unsequenced, it then delivers m to
// this node's subscribers; if sending fails, nobody receives m. Sequenced,
// see publishSequenced.
func (b *NATS) Publish(ctx context.Context, m *message.Message) error {
	if b.local.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.seq != nil {
		return b.publishSequenced(ctx, m)
	}
	env := encodeEnvelope(make([]byte, 0, 64+len(m.Topic)+len(m.Data)), m, b.origin)
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
// a time, in arrival order. A message gets to the router with ID 0; the
// Publisher (for no-local) only if it was published on this node.
func (b *NATS) receive(msg *nats.Msg) {
	envs, err := decodeMessages(msg.Data)
	if err != nil {
		b.bad.Add(1)
		return
	}
	if b.seq != nil {
		// History reads of the stream stop before this message: it and
		// what follows arrive here, so nothing is delivered twice.
		if n, err := strconv.ParseUint(msg.Header.Get(nats.JSSequence), 10, 64); err == nil {
			b.seq.delivering.Store(n)
			defer b.seq.delivering.Store(n + 1)
			for _, env := range envs {
				env.m.Stream = n
			}
		}
	}
	for _, env := range envs {
		m := env.m
		if env.origin != b.origin {
			m.Publisher = ""
			b.in.Add(1)
		}
		if b.seq != nil && m.Seq == 0 {
			b.bad.Add(1) // not from the stream
			continue
		}
		_ = b.local.Publish(context.Background(), m)
	}
}

// Subscribe implements Broker.
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
	if b.seq != nil {
		s.Retries = b.seq.retries.Load()
	}
	return s
}

// Connected reports whether the NATS connection is up.
func (b *NATS) Connected() bool { return b.nc.IsConnected() }

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

// Close flushes what this node sent (for up to two seconds), stops
// receiving and closes the connection. It is idempotent.
func (b *NATS) Close() error {
	b.closeOnce.Do(func() {
		b.sharesMu.Lock()
		if b.shares != nil {
			b.shares.close()
		}
		b.sharesMu.Unlock()
		if b.seq != nil {
			b.seq.stop()
		}
		b.local.Close()
		if b.nc.IsConnected() {
			_ = b.nc.FlushTimeout(2 * time.Second)
		}
		b.nc.Close()
	})
	return nil
}

// newID returns a random id: 72 bits, 12 URL-safe characters (an origin
// or an epoch).
func newID() string {
	var b [9]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
