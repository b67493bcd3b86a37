package broker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/queue"
)

// QueueStreamConfig is the JetStream stream that holds the cluster's
// STOMP queues.
type QueueStreamConfig struct {
	Name     string // default "HERALD_QUEUES"
	Replicas int    // default: the topic stream's
	// Storage: default the topic stream's (NATS.Storage).
	Storage  Storage
	PerQueue int   // messages a queue holds, delivered or not; default 1000
	MaxBytes int64 // bytes all queues hold; default 64 MiB
	// AckWait is how long a message taken by a node may go without news
	// from it before the stream gives it to another node: a node that is
	// lost hands its messages on after this. A live node tells the stream
	// every AckWait/3 that it still holds what it holds. Default 6s; it
	// must be the same on every node.
	AckWait time.Duration
}

// Queue stream defaults.
const (
	defaultQueueAckWait = 6 * time.Second
	// queuePullWait bounds one pull request: a node with idle consumers
	// asks again this often.
	queuePullWait = 5 * time.Second
	// queuePullBatch bounds one pull.
	queuePullBatch = 256
	// queueInactive is how long a queue's consumer lives in the stream
	// after no node pulls from it any more.
	queueInactive = time.Hour
)

// JSQueues keeps the cluster's STOMP queues in a JetStream work-queue
// stream (it implements queue.Shared). A message sent on any node is
// stored in the stream under its queue's subject (prefix.wq. + Subject
// rules). Every node with consumers of a queue pulls from one durable
// pull consumer of that queue, shared by all nodes, so that the stream
// gives each message to one node; the node pulls only as many as its
// consumers can take (queue.Queues.Room), and acknowledges each in the
// stream when its consumer does (or at once for a consumer that
// acknowledges on delivery). A NACK, or a consumer that goes away, gives
// its messages back at once (a negative acknowledgement). A node that is
// lost stops telling the stream it holds its messages, and after AckWait
// the stream gives them to another node, marked redelivered.
type JSQueues struct {
	b       *NATS
	js      nats.JetStreamContext
	cfg     nats.StreamConfig
	ackWait time.Duration
	local   QueueLocal

	ready   chan struct{}
	ctx     context.Context // cancelled when the broker closes
	stopped atomic.Bool

	mu      sync.Mutex
	pullers map[string]*puller

	heldMu sync.Mutex
	held   map[*jsDelivery]struct{}
}

// puller takes one queue's messages for this node while it has consumers.
type puller struct {
	name   string
	wake   chan struct{}
	cancel context.CancelFunc
}

// ErrNoQueueStream is returned by JSQueues for a broker without
// JetStream.
var ErrNoQueueStream = errors.New("broker: queues need JetStream")

// QueueLocal is this node's side of the queues (queue.Queues).
type QueueLocal interface {
	// Deliver queues a pulled message for one of this node's consumers.
	Deliver(name string, m *message.Message, redelivered bool, r queue.Receipt) error
	// Room says how many more messages the consumers can take now.
	Room(name string) int
	// Release gives back what waits for consumers that cannot take it.
	Release(name string)
}

// JSQueues returns the cluster's queue store, which hands what it pulls
// to local. The stream is created in the background; Send waits for it.
func (b *NATS) JSQueues(cfg QueueStreamConfig, local QueueLocal) (*JSQueues, error) {
	s := b.seq
	if s == nil {
		return nil, ErrNoQueueStream
	}
	if cfg.Name == "" {
		cfg.Name = "HERALD_QUEUES"
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = s.cfg.Replicas
	}
	if cfg.PerQueue <= 0 {
		cfg.PerQueue = 1000
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 64 << 20
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = defaultQueueAckWait
	}
	if cfg.Storage == "" {
		cfg.Storage = b.Storage()
	}
	if cfg.Storage != MemoryStorage && cfg.Storage != FileStorage {
		return nil, fmt.Errorf("broker: queue stream storage %q: want memory or file", cfg.Storage)
	}
	storage := cfg.Storage.JetStream()
	ctx, cancel := context.WithCancel(context.Background())
	r := &JSQueues{
		b: b, js: s.js, ackWait: cfg.AckWait, local: local,
		ready: make(chan struct{}), ctx: ctx,
		pullers: make(map[string]*puller), held: make(map[*jsDelivery]struct{}),
		cfg: nats.StreamConfig{
			Name:                 cfg.Name,
			Description:          "Herald STOMP queues: each message to one consumer in the cluster",
			Subjects:             []string{b.prefix + ".wq.>"},
			Retention:            nats.WorkQueuePolicy,
			Storage:              storage,
			Replicas:             cfg.Replicas,
			MaxMsgsPerSubject:    int64(cfg.PerQueue),
			MaxBytes:             cfg.MaxBytes,
			Discard:              nats.DiscardNew,
			DiscardNewPerSubject: true,
		},
	}
	s.wg.Go(func() {
		<-s.done
		r.stopped.Store(true)
		cancel()
	})
	s.wg.Go(r.ensureStream)
	s.wg.Go(r.heartbeat)
	return r, nil
}

// subject is the stream subject of queue name.
func (r *JSQueues) subject(name string) string { return Subject(r.b.prefix+".wq", name) }

// consumerName is the durable consumer of queue name: a hash, as a
// queue's name may hold anything a subject does not allow in a name.
func consumerName(subject string) string {
	sum := sha256.Sum256([]byte(subject))
	return "q-" + hex.EncodeToString(sum[:16])
}

// ensureStream creates or updates the stream, retrying until it succeeds
// or the broker closes.
func (r *JSQueues) ensureStream() {
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(r.ctx, opTimeout)
		_, err := r.js.AddStream(&r.cfg, nats.Context(ctx))
		if errors.Is(err, nats.ErrStreamNameAlreadyInUse) {
			_, err = r.js.UpdateStream(&r.cfg, nats.Context(ctx))
		}
		cancel()
		if err == nil {
			close(r.ready)
			r.b.log.Info("cluster queue stream ready", "stream", r.cfg.Name, "replicas", r.cfg.Replicas)
			return
		}
		if attempt%20 == 19 {
			r.b.log.Warn("cluster queue stream not ready yet", "stream", r.cfg.Name, "err", err)
		}
		if !r.sleep(250 * time.Millisecond) {
			return
		}
	}
}

// sleep waits d; false if the broker closed meanwhile.
func (r *JSQueues) sleep(d time.Duration) bool {
	select {
	case <-r.ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// Send implements queue.Shared: it stores m in the stream, retrying while
// the stream has no leader (up to the broker's retry window, or ctx).
func (r *JSQueues) Send(ctx context.Context, name string, m *message.Message) error {
	ctx, cancel := context.WithTimeout(ctx, r.b.seq.retry)
	defer cancel()
	select {
	case <-r.ready:
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrStreamNotReady, ctx.Err())
	}
	msg := &nats.Msg{Subject: r.subject(name), Data: encodeEnvelope(nil, m, r.b.origin)}
	// One id for every attempt: an attempt that timed out may have been
	// stored, and the stream then takes the next as a duplicate.
	id := newID()
	for {
		actx, acancel := context.WithTimeout(ctx, opTimeout)
		_, err := r.js.PublishMsg(msg, nats.Context(actx), nats.MsgId(id))
		acancel()
		if err == nil {
			r.b.out.Add(1)
			return nil
		}
		if full := queueLimit(err); full != nil {
			return full
		}
		var apiErr *nats.APIError
		if errors.As(err, &apiErr) && !errors.Is(err, nats.ErrNoStreamResponse) {
			return fmt.Errorf("broker: queue %q: %w", name, err)
		}
		// No responders or a timeout: no stream leader (yet).
		r.b.seq.retries.Add(1)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrStreamNotReady, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// queueLimit maps the stream's refusals for its limits to the queue's
// errors (nil for any other error).
func queueLimit(err error) error {
	s := err.Error()
	switch {
	case strings.Contains(s, "maximum messages per subject exceeded"), strings.Contains(s, "maximum messages exceeded"):
		return fmt.Errorf("%w: %w", queue.ErrFull, err)
	case strings.Contains(s, "maximum bytes exceeded"), strings.Contains(s, "insufficient resources"):
		return fmt.Errorf("%w: %w", queue.ErrTooManyBytes, err)
	}
	return nil
}

// Interest implements queue.Shared: a puller per queue with consumers.
func (r *JSQueues) Interest(name string, on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.pullers[name]
	if !on {
		if p != nil {
			p.cancel()
			delete(r.pullers, name)
		}
		return
	}
	if p != nil || r.stopped.Load() {
		return
	}
	ctx, cancel := context.WithCancel(r.ctx)
	p = &puller{name: name, wake: make(chan struct{}, 1), cancel: cancel}
	r.pullers[name] = p
	r.b.seq.wg.Go(func() { r.pull(ctx, p) })
}

// Wake implements queue.Shared.
func (r *JSQueues) Wake(name string) {
	r.mu.Lock()
	p := r.pullers[name]
	r.mu.Unlock()
	if p != nil {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}
