package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/internal/message"
)

// ErrNotSequenced is returned by NewSequencedNATS when the NATS server has
// no JetStream.
var ErrNotSequenced = errors.New("broker: JetStream is not available")

// ErrStreamNotReady is returned by a sequenced Publish while the stream
// cannot take it (no stream or no leader yet) after retrying.
var ErrStreamNotReady = errors.New("broker: the cluster's stream is not available")

// StreamConfig is the JetStream stream that sequences the cluster's topics.
type StreamConfig struct {
	Name      string        // default "HERALD"
	Replicas  int           // copies kept (1 or 3 usually); default 1
	PerTopic  int           // messages kept per topic (history); at least 1
	MaxAge    time.Duration // age limit of kept messages; 0: none
	Retry     time.Duration // how long a publish retries while the stream has no leader; default 10s
	Logger    *slog.Logger
	MaxMemory int64 // stream size limit in bytes (memory or file); default 256 MiB
	// Storage of the stream and of the retained bucket (storage.go);
	// default memory.
	Storage Storage
	// External: the NATS server is not ours; check that it has JetStream.
	External bool
}

// opTimeout bounds one JetStream request (a publish or a read).
const opTimeout = 2 * time.Second

// sequencer is the sequenced mode's state.
type sequencer struct {
	js      nats.JetStreamContext
	cfg     nats.StreamConfig
	retry   time.Duration
	ready   atomic.Bool
	readyCh chan struct{}
	tails   sync.Map // topic -> *tail
	retries atomic.Uint64
	done    chan struct{}
	wg      sync.WaitGroup

	// delivering is the stream sequence of the message being delivered
	// (or the next one once it is); 0 until the first arrives.
	delivering atomic.Uint64

	// fatal is set (and failCh closed) when the stream cannot be used
	// whatever the retries: its storage differs from the configured one.
	fatal  atomic.Pointer[error]
	failCh chan struct{}

	retMu    sync.Mutex
	retained *kvRetained // nil unless Retained was asked for
	streamOK bool        // the stream exists: Retained opens its bucket itself

	healthMu sync.Mutex
	healthAt time.Time
	health   StreamHealth
}

// tail is what a node knows of the end of one topic's stream, and the
// publishes waiting to be stored after it. One publisher at a time (busy)
// stores the waiting ones, all in one stream message (a bundle): the
// others' publishes wait for that round trip and share the next one, so a
// topic's publish rate is not bounded by one message per round trip.
type tail struct {
	mu      sync.Mutex
	known   bool
	stream  uint64 // stream sequence of the topic's last stream message
	seq     uint64 // the Herald Seq of its last message
	epoch   string
	waiting []*pending
	busy    bool
	used    time.Time // last publish; idle tails are forgotten (forgetIdle)
}

// pending is one publish waiting in its topic's tail: a synchronous one
// waits on done; an asynchronous one (PublishAsync) has cb called.
type pending struct {
	m    *message.Message
	err  error
	done chan struct{}
	cb   func(error)
}

// NewSequencedNATS returns a Broker in sequenced mode: topics are stored in
// a JetStream stream (memory storage, cfg.Replicas copies, cfg.PerTopic
// messages per topic) under prefix.s.>; the stream republishes what it
// stored on prefix.r.>, which every node receives. The stream is created
// (or updated) in the background until it succeeds: a clustered JetStream
// has no leader until enough nodes have joined. nc must have been made
// with nats.NoEcho(); the Broker owns it.
func NewSequencedNATS(ctx context.Context, nc *nats.Conn, prefix string, cfg StreamConfig) (*NATS, error) {
	if !nc.Opts.NoEcho {
		return nil, ErrEcho
	}
	js, err := nc.JetStream(nats.MaxWait(2 * time.Second))
	if err != nil {
		return nil, fmt.Errorf("broker: jetstream: %w", err)
	}
	if cfg.Name == "" {
		cfg.Name = "HERALD"
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 1
	}
	if cfg.Retry <= 0 {
		cfg.Retry = 10 * time.Second
	}
	if cfg.MaxMemory <= 0 {
		cfg.MaxMemory = 256 << 20
	}
	b := newNATS(nc, prefix, cfg.Logger)
	b.seq = &sequencer{
		js: js, retry: cfg.Retry, readyCh: make(chan struct{}), done: make(chan struct{}), failCh: make(chan struct{}),
		cfg: nats.StreamConfig{
			Name:              cfg.Name,
			Description:       "Herald topics: one sequence per topic for the whole cluster",
			Subjects:          []string{prefix + ".s.>"},
			Storage:           cfg.Storage.JetStream(),
			Replicas:          cfg.Replicas,
			MaxMsgsPerSubject: int64(max(cfg.PerTopic, 1)),
			MaxAge:            cfg.MaxAge,
			MaxBytes:          cfg.MaxMemory,
			Discard:           nats.DiscardOld,
			AllowDirect:       true,
			RePublish:         &nats.RePublish{Source: prefix + ".s.>", Destination: prefix + ".r.>"},
			Duplicates:        dedupWindow(cfg),
		},
	}
	if err := b.subscribe(prefix + ".r.>"); err != nil {
		return nil, err
	}
	if err := b.flush(); err != nil {
		return nil, err
	}
	// An external NATS without JetStream says so at once.
	if cfg.External {
		actx, cancel := context.WithTimeout(ctx, opTimeout)
		defer cancel()
		if _, err := js.AccountInfo(nats.Context(actx)); errors.Is(err, nats.ErrJetStreamNotEnabled) || errors.Is(err, nats.ErrJetStreamNotEnabledForAccount) {
			b.sub.Unsubscribe()
			return nil, fmt.Errorf("%w: %w", ErrNotSequenced, err)
		}
	}
	b.seq.wg.Go(b.ensureStream)
	b.seq.wg.Go(b.seq.forgetIdle)
	return b, nil
}

// tailIdle is how long a topic's tail is kept after its last publish from
// this node: a publisher that comes back reads the topic's end again.
const tailIdle = time.Minute

// forgetIdle drops the tails of topics this node has not published to
// for tailIdle, so that publishing to many topics over time does not grow
// memory for ever. A publish racing the drop may create a second tail for
// the topic; the stream's expected-sequence check keeps the two correct.
func (s *sequencer) forgetIdle() {
	t := time.NewTicker(tailIdle / 2)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case now := <-t.C:
			s.tails.Range(func(k, v any) bool {
				tl := v.(*tail)
				tl.mu.Lock()
				if !tl.busy && len(tl.waiting) == 0 && now.Sub(tl.used) > tailIdle {
					s.tails.Delete(k)
				}
				tl.mu.Unlock()
				return true
			})
		}
	}
}

// ensureStream creates or updates the stream, retrying until it succeeds
// or the broker closes.
func (b *NATS) ensureStream() {
	s := b.seq
	for attempt := 0; ; attempt++ {
		info, err := s.js.AddStream(&s.cfg)
		if errors.Is(err, nats.ErrStreamNameAlreadyInUse) {
			if old, ierr := s.js.StreamInfo(s.cfg.Name); ierr == nil && old.Config.Storage != s.cfg.Storage {
				s.fail(b, storageMismatch("stream "+s.cfg.Name, "nats stream rm "+s.cfg.Name, old.Config.Storage, s.cfg.Storage))
				return
			}
			info, err = s.js.UpdateStream(&s.cfg)
		}
		if err == nil {
			s.retMu.Lock()
			s.streamOK = true
			r := s.retained
			s.retMu.Unlock()
			if r != nil {
				s.wg.Go(r.openRetrying)
			}
			// What the stream held before it was ready here can only be
			// read; what comes after is republished to this node.
			s.delivering.CompareAndSwap(0, info.State.LastSeq+1)
			s.ready.Store(true)
			close(s.readyCh)
			b.log.Info("cluster stream ready", "stream", s.cfg.Name, "replicas", s.cfg.Replicas)
			return
		}
		if attempt%20 == 19 {
			b.log.Warn("cluster stream not ready yet", "stream", s.cfg.Name, "err", err)
		}
		select {
		case <-s.done:
			return
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// StreamHealth is the sequencing stream's replication as last seen.
type StreamHealth struct {
	Leader   string `json:"leader,omitempty"`
	Replicas int    `json:"replicas"` // configured copies
	Current  int    `json:"current"`  // copies up to date, the leader's included
}

// StreamHealth asks the stream how its copies are doing (at most every
// half second; in between it returns the last answer). Unsequenced, or
// before the stream exists, it returns the zero value.
func (b *NATS) StreamHealth() StreamHealth {
	s := b.seq
	if s == nil || !s.ready.Load() {
		return StreamHealth{}
	}
	s.healthMu.Lock()
	defer s.healthMu.Unlock()
	if time.Since(s.healthAt) < 500*time.Millisecond {
		return s.health
	}
	s.healthAt = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	h := StreamHealth{Replicas: s.cfg.Replicas}
	if info, err := s.js.StreamInfo(s.cfg.Name, nats.Context(ctx)); err == nil && info.Cluster != nil {
		h.Leader = info.Cluster.Leader
		if h.Leader != "" {
			h.Current = 1
		}
		for _, p := range info.Cluster.Replicas {
			if p.Current && !p.Offline {
				h.Current++
			}
		}
	} else if err == nil {
		h.Current = 1 // not clustered
	}
	s.health = h
	return h
}

// StreamReady reports whether the sequencing stream exists (always true
// unsequenced).
func (b *NATS) StreamReady() bool { return b.seq == nil || b.seq.ready.Load() }

func (s *sequencer) stop() {
	close(s.done)
	s.wg.Wait()
}

// publishSequenced stores m in the stream after its topic's last message
// and stamps m with the Seq and Epoch it got; m is delivered (to this node
// too) when the stream republishes it. Publishes to one topic that arrive
// while one is being stored wait, and go together in the next stream
// message (storeWaiting).
func (b *NATS) publishSequenced(ctx context.Context, m *message.Message) error {
	s := b.seq
	if !s.ready.Load() {
		t := time.NewTimer(s.retry)
		defer t.Stop()
		select {
		case <-s.readyCh:
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return ErrStreamNotReady
		case <-s.failCh:
			return fmt.Errorf("%w: %w", ErrStreamNotReady, *s.fatal.Load())
		case <-s.done:
			return ErrClosed
		}
	}
	p := &pending{m: m, done: make(chan struct{})}
	if tl, lead := s.enqueue(p); lead {
		b.storeWaiting(tl, Subject(b.prefix, m.Topic))
	}
	// Once queued, a publish is stored or fails as a whole with its
	// bundle (bounded by StreamConfig.Retry): giving up early on ctx
	// could report a failure for a message that is then delivered.
	<-p.done
	return p.err
}

// enqueue appends p to its topic's waiting publishes; lead says the
// caller must store them (no one else is).
func (s *sequencer) enqueue(p *pending) (tl *tail, lead bool) {
	v, _ := s.tails.LoadOrStore(p.m.Topic, new(tail))
	tl = v.(*tail)
	tl.mu.Lock()
	tl.used = time.Now()
	tl.waiting = append(tl.waiting, p)
	lead = !tl.busy
	tl.busy = true
	tl.mu.Unlock()
	return tl, lead
}

// storeWaiting stores the topic's waiting publishes, a bundle at a time,
// until none is left. Only one goroutine runs it per topic (tail.busy).
func (b *NATS) storeWaiting(tl *tail, subject string) {
	stream := b.prefix + ".s." + strings.TrimPrefix(subject, b.prefix+".")
	for {
		tl.mu.Lock()
		n, size := 0, 0
		for n < len(tl.waiting) && n < maxBundleMessages && (n == 0 || size+len(tl.waiting[n].m.Data) < maxBundleBytes/2) {
			size += len(tl.waiting[n].m.Data) + len(tl.waiting[n].m.Topic)
			n++
		}
		if n == 0 {
			tl.busy = false
			tl.mu.Unlock()
			return
		}
		batch := append([]*pending(nil), tl.waiting[:n]...)
		tl.waiting = tl.waiting[n:]
		tl.mu.Unlock()
		err := b.storeBundle(tl, stream, batch)
		for _, p := range batch {
			if p.cb != nil {
				p.cb(err)
				continue
			}
			p.err = err
			close(p.done)
		}
	}
}

// storeBundle stores batch as the topic's next messages. The node's view
// of the topic's end may be stale (another node published since): the
// stream then refuses (Nats-Expected-Last-Subject-Sequence) and the batch
// is stamped again after the topic's last message. Without a stream
// leader (starting, or a node was lost) it retries for StreamConfig.Retry.
// Only the tail's one storer touches its end fields.
func (b *NATS) storeBundle(tl *tail, subject string, batch []*pending) error {
	return b.storeBundleID(tl, subject, batch, newID())
}

// dedupWindow is how long the stream remembers a bundle's id: longer
// than a publish retries, within the age limit (JetStream's rule).
func dedupWindow(cfg StreamConfig) time.Duration {
	w := 2 * cfg.Retry
	if cfg.MaxAge > 0 && w > cfg.MaxAge {
		w = cfg.MaxAge
	}
	return w
}

// storeBundleID is storeBundle with the bundle's id, the same on every
// attempt: an attempt whose outcome was unknown (a time-out while the
// stream's leader changed) may have been stored, and the stream then
// recognises the next attempt as a duplicate instead of storing the
// bundle twice.
func (b *NATS) storeBundleID(tl *tail, subject string, batch []*pending, id string) error {
	s := b.seq
	ctx := context.Background()
	deadline := time.Now().Add(s.retry)
	envs := make([][]byte, len(batch))
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			s.retries.Add(1)
		}
		var err error
		if !tl.known {
			err = b.loadTail(ctx, tl, subject)
		}
		if err == nil {
			epoch := tl.epoch
			if epoch == "" {
				epoch = newID()
			}
			for i, p := range batch {
				p.m.Seq, p.m.Epoch = tl.seq+1+uint64(i), epoch
				envs[i] = encodeEnvelope(envs[i][:0], p.m, b.origin)
			}
			msg := nats.NewMsg(subject)
			msg.Data = appendBundle(nil, envs)
			opCtx, cancel := context.WithTimeout(ctx, opTimeout)
			var ack *nats.PubAck
			ack, err = s.js.PublishMsg(msg, nats.Context(opCtx), nats.MsgId(id), nats.ExpectLastSequencePerSubject(tl.stream))
			switch {
			case err == nil && ack.Duplicate: // an earlier attempt was stored
				if err = b.storedBefore(opCtx, tl, ack.Sequence, batch); err != nil {
					tl.known = false
				}
			case err == nil:
				tl.stream, tl.seq, tl.epoch = ack.Sequence, tl.seq+uint64(len(batch)), epoch
			default:
				tl.known = false // refused or unknown outcome: look again
			}
			cancel()
			if err == nil {
				b.out.Add(uint64(len(batch)))
				return nil
			}
			var apiErr *nats.APIError
			if errors.As(err, &apiErr) && apiErr.ErrorCode == nats.JSErrCodeStreamWrongLastSequence {
				continue // another node went first
			}
		}
		for _, p := range batch {
			p.m.Seq, p.m.Epoch = 0, ""
		}
		if b.local.closed.Load() || time.Now().After(deadline) {
			return fmt.Errorf("broker: sequenced publish: %w", err)
		}
		// No leader (election after a node loss), or a timeout: wait a little.
		select {
		case <-time.After(min(time.Duration(attempt+1)*50*time.Millisecond, 500*time.Millisecond)):
		case <-s.done:
			return ErrClosed
		}
	}
}

// storedBefore takes the positions of a bundle an earlier attempt stored
// at stream sequence seq (the stream recognised its id).
func (b *NATS) storedBefore(ctx context.Context, tl *tail, seq uint64, batch []*pending) error {
	raw, err := b.seq.js.GetMsg(b.seq.cfg.Name, seq, nats.DirectGet(), nats.Context(ctx))
	if err != nil {
		return err
	}
	envs, err := decodeMessages(raw.Data)
	if err != nil {
		return err
	}
	if len(envs) != len(batch) {
		return fmt.Errorf("broker: the stored bundle has %d messages, not %d", len(envs), len(batch))
	}
	for i, p := range batch {
		p.m.Seq, p.m.Epoch = envs[i].m.Seq, envs[i].m.Epoch
	}
	last := envs[len(envs)-1].m
	if seq >= tl.stream { // nothing newer of the topic is known here
		tl.stream, tl.seq, tl.epoch, tl.known = seq, last.Seq, last.Epoch, true
	} else {
		tl.known = false
	}
	return nil
}

// loadTail reads the topic's last stored message.
func (b *NATS) loadTail(ctx context.Context, tl *tail, subject string) error {
	opCtx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	raw, err := b.seq.js.GetLastMsg(b.seq.cfg.Name, subject, nats.DirectGet(), nats.Context(opCtx))
	switch {
	case errors.Is(err, nats.ErrMsgNotFound):
		tl.stream, tl.seq, tl.epoch = 0, 0, ""
	case err != nil:
		return err
	default:
		envs, derr := decodeMessages(raw.Data)
		if derr != nil {
			return derr
		}
		last := envs[len(envs)-1].m
		tl.stream, tl.seq, tl.epoch = raw.Sequence, last.Seq, last.Epoch
	}
	tl.known = true
	return nil
}

// TopicTail returns the Seq and Epoch of the topic's last message in the
// stream (ok false if it has none or the stream cannot be read now).
func (b *NATS) TopicTail(topic string) (seq uint64, epoch string, ok bool) {
	if b.seq == nil || !b.seq.ready.Load() {
		return 0, "", false
	}
	var tl tail
	if err := b.loadTail(context.Background(), &tl, b.prefix+".s."+strings.TrimPrefix(Subject(b.prefix, topic), b.prefix+".")); err != nil || tl.seq == 0 {
		return 0, "", false
	}
	return tl.seq, tl.epoch, true
}
