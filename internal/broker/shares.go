package broker

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/topic"
)

// Shares serves MQTT shared subscriptions for a whole cluster: a share
// group ($share/name/filter) is one durable pull consumer on the topic
// stream, which every node with members of the group pulls from, so that
// JetStream hands each message to exactly one node, which hands it to one
// of its members. A node acknowledges a stream message once its members
// are done with what it holds (docs/cluster.md); until then it tells the
// stream it is still working on it, so a message is redelivered (to any
// node) only when the node that had it is gone or gave it back.
type Shares struct {
	b   *NATS
	cfg ShareConfig

	ctx    context.Context // cancelled when the broker closes
	cancel context.CancelFunc
	wg     sync.WaitGroup

	delivered, redelivered, givenBack atomic.Uint64
}

// ShareStats counts what this node's parts of share groups did.
type ShareStats struct {
	Delivered   uint64 // messages handed to a member here
	Redelivered uint64 // of which the stream had given out before (a lost node's, or given back)
	GivenBack   uint64 // stream messages handed back to the group (a member's session ended first)
}

// Stats returns the node's share-group counters.
func (s *Shares) Stats() ShareStats {
	return ShareStats{Delivered: s.delivered.Load(), Redelivered: s.redelivered.Load(), GivenBack: s.givenBack.Load()}
}

// ShareConfig tunes Shares; zero fields take the defaults.
type ShareConfig struct {
	// AckWait is how long the stream waits for a node's word on a
	// message before giving it to another node (the delay before the
	// messages of a lost node are redelivered). Default 5s.
	AckWait time.Duration
	// Inactive is how long a group's consumer outlives its last
	// member in the cluster. Default 1 minute.
	Inactive time.Duration
	// Held bounds the unacknowledged messages of a group a node holds
	// while one of its members is connected (a sixteenth of it while
	// none is): the rest go to the other nodes. Default 256.
	Held int
}

// Shares returns the cluster's share groups, or nil without JetStream
// (unsequenced): share groups then stay per node.
func (b *NATS) Shares(cfg ShareConfig) *Shares {
	if b.seq == nil {
		return nil
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = 5 * time.Second
	}
	if cfg.Inactive <= 0 {
		cfg.Inactive = time.Minute
	}
	if cfg.Held <= 0 {
		cfg.Held = 256
	}
	b.sharesMu.Lock()
	defer b.sharesMu.Unlock()
	if b.shares == nil {
		s := &Shares{b: b, cfg: cfg}
		s.ctx, s.cancel = context.WithCancel(context.Background())
		b.shares = s
	}
	return b.shares
}

// close stops every group's pulling and waits for it.
func (s *Shares) close() {
	s.cancel()
	s.wg.Wait()
}

// Join makes this node pull the group key ("$share/name/filter") until
// the returned leave is called (it does not wait). deliver gets each
// message whose topic filter matches, one at a time, and must call done
// exactly once, at once or later, from any goroutine: done(true) when the
// message is handled (delivered or dropped), done(false) to give it back
// to the group (another node or member gets it). online reports whether
// a member is connected on this node: a node whose members are all away
// holds fewer messages.
func (s *Shares) Join(key, filter string, deliver func(m *message.Message, done func(ok bool)), online func() bool) (leave func()) {
	ctx, cancel := context.WithCancel(s.ctx)
	j := &shareJoin{
		s: s, key: key, filter: filter, deliver: deliver, online: online,
		held:  make(map[*nats.Msg]*heldShare),
		freed: make(chan struct{}, 1),
	}
	s.wg.Go(func() { j.run(ctx) })
	s.wg.Go(func() { j.keepAlive(ctx) })
	return cancel
}

// shareJoin is one node's part of one share group.
type shareJoin struct {
	s       *Shares
	key     string
	filter  string
	deliver func(*message.Message, func(bool))
	online  func() bool

	mu    sync.Mutex
	held  map[*nats.Msg]*heldShare // stream messages not yet acknowledged
	freed chan struct{}            // a held message was settled
}

// heldShare counts the messages of one stream message (a bundle holds
// several) its members are not done with.
type heldShare struct {
	left int
	nak  bool
}

// run binds to the group's consumer and pulls, binding again after an
// error (no stream leader yet, the consumer was removed), until ctx ends.
func (j *shareJoin) run(ctx context.Context) {
	log := j.s.b.log.With("group", j.key)
	for attempt := 0; ctx.Err() == nil; attempt++ {
		sub, err := j.bind(ctx)
		if err == nil {
			attempt = 0
			err = j.pull(ctx, sub)
			_ = sub.Unsubscribe()
		}
		if ctx.Err() != nil {
			return
		}
		if attempt%20 == 19 {
			log.Warn("cluster share group not served yet", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// bind creates the group's consumer if it does not exist (the first
// member anywhere) and subscribes to pull from it.
func (j *shareJoin) bind(ctx context.Context) (*nats.Subscription, error) {
	s := j.s.b.seq
	name := shareConsumer(j.key)
	cfg := &nats.ConsumerConfig{
		Name:              name,
		Durable:           name,
		Description:       "Herald MQTT shared subscription " + j.key,
		DeliverPolicy:     nats.DeliverNewPolicy,
		AckPolicy:         nats.AckExplicitPolicy,
		AckWait:           j.s.cfg.AckWait,
		MaxDeliver:        -1,
		MaxAckPending:     -1,
		InactiveThreshold: j.s.cfg.Inactive,
	}
	if subj := shareSubjects(j.s.b.prefix, j.filter); len(subj) == 1 {
		cfg.FilterSubject = subj[0]
	} else {
		cfg.FilterSubjects = subj
	}
	opCtx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	info, err := s.js.ConsumerInfo(s.cfg.Name, name, nats.Context(opCtx))
	if errors.Is(err, nats.ErrConsumerNotFound) {
		info, err = s.js.AddConsumer(s.cfg.Name, cfg, nats.Context(opCtx))
		if errors.Is(err, nats.ErrConsumerMultipleFilterSubjectsNotSupported) {
			// A server before 2.10: one subject, every topic; the
			// filter is matched here anyway.
			cfg.FilterSubjects, cfg.FilterSubject = nil, j.s.b.prefix+".s.>"
			info, err = s.js.AddConsumer(s.cfg.Name, cfg, nats.Context(opCtx))
		}
		var apiErr *nats.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == nats.JSErrCodeConsumerAlreadyExists {
			info, err = s.js.ConsumerInfo(s.cfg.Name, name, nats.Context(opCtx)) // another node went first
		}
	}
	if err != nil {
		return nil, err
	}
	// No nats.Context here: it would end the subscription with opCtx.
	// The subject must be the consumer's single filter, if it has one.
	return s.js.PullSubscribe(info.Config.FilterSubject, name, nats.Bind(s.cfg.Name, name))
}

// pull fetches while this node has room, until ctx ends or the
// subscription fails.
func (j *shareJoin) pull(ctx context.Context, sub *nats.Subscription) error {
	var lastPull time.Time
	for {
		limit := j.s.cfg.Held
		online := j.online()
		if !online {
			limit = max(limit/16, 1)
		}
		j.mu.Lock()
		room := limit - len(j.held)
		j.mu.Unlock()
		// Members all away: leave the messages to the nodes whose members
		// are connected, while one of them is pulling.
		wait := room <= 0 || !online && j.othersPulling(ctx)
		if wait && time.Since(lastPull) < j.s.cfg.Inactive/3 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-j.freed:
			case <-time.After(time.Second): // online may have changed
			}
			continue
		}
		// Waiting for a while: pull one anyway, or the stream would take
		// the group for abandoned (InactiveThreshold).
		room = max(room, 1)
		lastPull = time.Now()
		// Messages come as they arrive, up to room of them, while the
		// request lasts: a second, so that a node whose members have all
		// gone away stops taking messages within about that.
		fctx, cancel := context.WithTimeout(ctx, time.Second)
		batch, err := sub.FetchBatch(min(room, 32), nats.Context(fctx))
		if err != nil {
			cancel()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) {
				continue
			}
			return err
		}
		for msg := range batch.Messages() {
			if ctx.Err() != nil {
				_ = msg.Nak() // leaving: let another member have it now
				continue
			}
			j.handle(msg)
		}
		err = batch.Error()
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) {
			return err
		}
	}
}

// othersPulling reports whether another node is waiting for the group's
// messages (this node has no request open now); it errs towards pulling.
func (j *shareJoin) othersPulling(ctx context.Context) bool {
	s := j.s.b.seq
	opCtx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	info, err := s.js.ConsumerInfo(s.cfg.Name, shareConsumer(j.key), nats.Context(opCtx))
	return err == nil && info.NumWaiting > 0
}

// handle delivers the messages of one stream message.
func (j *shareJoin) handle(msg *nats.Msg) {
	envs, err := decodeMessages(msg.Data)
	if err != nil {
		j.s.b.bad.Add(1)
		_ = msg.Term()
		return
	}
	redelivered := false
	if md, err := msg.Metadata(); err == nil && md.NumDelivered > 1 {
		redelivered = true
	}
	h := &heldShare{left: len(envs)}
	j.mu.Lock()
	j.held[msg] = h
	j.mu.Unlock()
	now := time.Now()
	for _, env := range envs {
		m := env.m
		if !topic.Match(j.filter, m.Topic) {
			j.settle(msg, h, true)
			continue
		}
		if env.origin != j.s.b.origin {
			m.Publisher = ""
		}
		// The publisher's clock, for message expiry, unless it is ahead.
		m.Time = now
		if !env.time.IsZero() && env.time.Before(now) {
			m.Time = env.time
		}
		j.s.delivered.Add(1)
		if redelivered {
			j.s.redelivered.Add(1)
		}
		var once sync.Once
		j.deliver(m, func(ok bool) { once.Do(func() { j.settle(msg, h, ok) }) })
	}
}

// settle records that one message of msg is done; the last one
// acknowledges msg, or gives it back if any was given back.
func (j *shareJoin) settle(msg *nats.Msg, h *heldShare, ok bool) {
	j.mu.Lock()
	h.left--
	h.nak = h.nak || !ok
	last := h.left == 0
	if last {
		delete(j.held, msg)
	}
	j.mu.Unlock()
	if !last {
		return
	}
	if h.nak {
		j.s.givenBack.Add(1)
		_ = msg.Nak()
	} else {
		_ = msg.Ack()
	}
	select {
	case j.freed <- struct{}{}:
	default:
	}
}

// keepAlive tells the stream, a few times per AckWait, that the held
// messages are still being worked on (after leave too, until the members
// are done with them); if this node is lost, it stops and the stream
// redelivers them to another node after AckWait.
func (j *shareJoin) keepAlive(ctx context.Context) {
	t := time.NewTicker(j.s.cfg.AckWait / 3)
	defer t.Stop()
	for {
		select {
		case <-j.s.ctx.Done():
			return // the broker closes: what is held goes elsewhere
		case <-t.C:
		}
		j.mu.Lock()
		if ctx.Err() != nil && len(j.held) == 0 {
			// Left, and the members are done with what they had.
			j.mu.Unlock()
			return
		}
		msgs := make([]*nats.Msg, 0, len(j.held))
		for msg := range j.held {
			msgs = append(msgs, msg)
		}
		j.mu.Unlock()
		for _, msg := range msgs {
			_ = msg.InProgress()
		}
	}
}
