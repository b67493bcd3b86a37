package broker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/internal/message"
)

// sessionsBucket is the JetStream key-value bucket of MQTT persistent
// sessions (internal/mqtt cluster.go): one key per client identifier.
const sessionsBucket = "HERALD_SESSIONS"

// ErrNoSession is returned by Sessions.Get for a client identifier the
// bucket does not hold.
var ErrNoSession = errors.New("broker: no such session")

// ErrSessionMoved is returned by a conditional write or delete when the
// record changed since the revision given: another node owns it now.
var ErrSessionMoved = errors.New("broker: session record changed")

// Sessions keeps MQTT persistent sessions for the whole cluster: records
// in a replicated key-value bucket (the stream's replicas and storage),
// written with compare-and-set on the revision, so that only the node
// that last wrote a record can write it again; a release request to the
// node that owns a session; and a replay of the topic stream after a
// position.
type Sessions struct {
	b *NATS

	mu sync.Mutex
	kv nats.KeyValue // nil until opened
}

// Sessions returns the cluster's session store, nil unsequenced (no
// JetStream: sessions stay per node).
func (b *NATS) Sessions() *Sessions {
	if b.seq == nil {
		return nil
	}
	s := &Sessions{b: b}
	// The bucket is made now, not by the first client that needs it.
	b.seq.wg.Go(func() {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			select {
			case <-b.seq.done:
				cancel()
			case <-ctx.Done():
			}
		}()
		if _, err := s.bucket(ctx); err != nil && !errors.Is(err, ErrClosed) && ctx.Err() == nil {
			b.log.Warn("MQTT sessions bucket not ready", "err", err)
		}
	})
	return s
}

// Owner is this node's identity in session records.
func (s *Sessions) Owner() string { return s.b.origin }

// bucket opens (creating it if need be) the bucket, waiting for the
// stream like every JetStream use, within ctx.
func (s *Sessions) bucket(ctx context.Context) (nats.KeyValue, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.kv != nil {
		return s.kv, nil
	}
	sq := s.b.seq
	select {
	case <-sq.readyCh:
	case <-ctx.Done():
		return nil, fmt.Errorf("broker: sessions: %w", ErrStreamNotReady)
	case <-sq.done:
		return nil, ErrClosed
	}
	cfg := &nats.KeyValueConfig{Bucket: sessionsBucket, Description: "Herald MQTT persistent sessions", History: 1,
		Storage: sq.cfg.Storage, Replicas: sq.cfg.Replicas}
	for {
		kv, err := sq.js.CreateKeyValue(cfg)
		if errors.Is(err, nats.ErrStreamNameAlreadyInUse) {
			kv, err = sq.js.KeyValue(sessionsBucket)
		}
		if err == nil {
			s.kv = kv
			return kv, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("broker: sessions bucket: %w", err)
		case <-sq.done:
			return nil, ErrClosed
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Get returns the record of client id cid and its revision.
func (s *Sessions) Get(ctx context.Context, cid string) ([]byte, uint64, error) {
	kv, err := s.bucket(ctx)
	if err != nil {
		return nil, 0, err
	}
	var e nats.KeyValueEntry
	err = retry(ctx, func() error {
		e, err = kv.Get(retainedKey(cid))
		return err
	})
	switch {
	case errors.Is(err, nats.ErrKeyNotFound):
		return nil, 0, ErrNoSession
	case err != nil:
		return nil, 0, fmt.Errorf("broker: session get: %w", err)
	}
	return e.Value(), e.Revision(), nil
}

// Put writes cid's record if its revision is still rev (0: if there is
// none), and returns the new revision; ErrSessionMoved if not.
func (s *Sessions) Put(ctx context.Context, cid string, rec []byte, rev uint64) (uint64, error) {
	kv, err := s.bucket(ctx)
	if err != nil {
		return 0, err
	}
	key := retainedKey(cid)
	var n uint64
	err = retry(ctx, func() error {
		if rev == 0 {
			n, err = kv.Create(key, rec)
		} else {
			n, err = kv.Update(key, rec, rev)
		}
		return err
	})
	if wrongRevision(err) {
		return 0, ErrSessionMoved
	}
	if err != nil {
		return 0, fmt.Errorf("broker: session put: %w", err)
	}
	return n, nil
}

// Delete removes cid's record if its revision is still rev (0: whatever
// it is).
func (s *Sessions) Delete(ctx context.Context, cid string, rev uint64) error {
	kv, err := s.bucket(ctx)
	if err != nil {
		return err
	}
	var opts []nats.DeleteOpt
	if rev != 0 {
		opts = append(opts, nats.LastRevision(rev))
	}
	err = retry(ctx, func() error { return kv.Delete(retainedKey(cid), opts...) })
	if wrongRevision(err) {
		return ErrSessionMoved
	}
	if err != nil {
		return fmt.Errorf("broker: session delete: %w", err)
	}
	return nil
}

// ServeRelease answers the release requests sent to this node: fn
// releases the session of a client id (closing its connection and
// writing its final record) and returns when that is done.
func (s *Sessions) ServeRelease(fn func(cid string)) error {
	_, err := s.b.nc.Subscribe(s.b.prefix+".ctl.mqtt-release."+s.b.origin, func(msg *nats.Msg) {
		fn(string(msg.Data))
		_ = msg.Respond(nil)
	})
	if err != nil {
		return fmt.Errorf("broker: serve release: %w", err)
	}
	return s.b.nc.Flush()
}

// Release asks node owner to release cid's session and waits for it
// (within ctx). It reports whether the owner answered: false when the
// owner is gone (no responders) or did not answer in time.
func (s *Sessions) Release(ctx context.Context, owner, cid string) bool {
	_, err := s.b.nc.RequestWithContext(ctx, s.b.prefix+".ctl.mqtt-release."+owner, []byte(cid))
	return err == nil
}

// Delivered is the stream sequence up to which this node has delivered
// every stream message to its router.
func (s *Sessions) Delivered() uint64 {
	if d := s.b.seq.delivering.Load(); d > 0 {
		return d - 1
	}
	return 0
}

// Replay calls fn, in stream order, with every message the stream holds
// after stream sequence after, up to its last message when Replay
// starts, which it returns. Messages carry Stream, Seq, Epoch and Time
// (the publisher's); Publisher is cleared.
//
// Messages older than the stream keeps (PerTopic stream messages per
// topic) cannot be replayed: full lists the topics whose every held
// message is after after while the stream holds as many of them as it
// keeps, so that some it discarded may have been after after too. A
// stream that started again (its end is before after) is replayed whole,
// and logged.
func (s *Sessions) Replay(ctx context.Context, after uint64, fn func(*message.Message)) (last uint64, full []string, err error) {
	sq := s.b.seq
	select {
	case <-sq.readyCh:
	case <-ctx.Done():
		return 0, nil, fmt.Errorf("broker: replay: %w", ErrStreamNotReady)
	}
	// Each step is bounded by opTimeout: without a stream leader (a node
	// was just lost) a request gets no answer, and the caller tries again.
	octx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	info, err := sq.js.StreamInfo(sq.cfg.Name, nats.Context(octx))
	if err != nil {
		return 0, nil, fmt.Errorf("broker: replay: %w", err)
	}
	st := info.State
	if st.LastSeq < after {
		s.b.log.Warn("the cluster stream started again: a session's messages from before cannot be replayed", "position", after, "stream_last", st.LastSeq)
		after = 0
	}
	last = st.LastSeq
	if st.Msgs == 0 || last <= after {
		return max(last, after), nil, nil
	}
	sub, err := sq.js.SubscribeSync(s.b.prefix+".s.>", nats.OrderedConsumer(), nats.StartSequence(after+1), nats.BindStream(sq.cfg.Name), nats.Context(octx))
	if err != nil {
		return 0, nil, fmt.Errorf("broker: replay: %w", err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	perSubject := map[string]int64{}
	defer func() {
		for subj, n := range perSubject {
			if n >= sq.cfg.MaxMsgsPerSubject {
				full = append(full, subj)
			}
		}
	}()
	for {
		mctx, mcancel := context.WithTimeout(ctx, opTimeout)
		msg, err := sub.NextMsgWithContext(mctx)
		mcancel()
		if err != nil {
			return 0, nil, fmt.Errorf("broker: replay: %w", err)
		}
		md, err := msg.Metadata()
		if err != nil {
			return 0, nil, fmt.Errorf("broker: replay: %w", err)
		}
		seq := md.Sequence.Stream
		if seq > last {
			return last, full, nil
		}
		envs, derr := decodeMessages(msg.Data)
		if derr != nil {
			s.b.bad.Add(1)
		}
		for i, e := range envs {
			m := e.m
			if i == 0 {
				perSubject[m.Topic]++
			}
			m.Stream, m.Publisher, m.Time = seq, "", e.time
			if m.Time.IsZero() {
				m.Time = md.Timestamp
			}
			fn(m)
		}
		if seq >= last || md.NumPending == 0 {
			return last, full, nil
		}
	}
}

// retry runs op again while the bucket cannot answer (no leader or no
// replica yet: just created, or a node was lost), until ctx ends.
func retry(ctx context.Context, op func() error) error {
	for wait := 20 * time.Millisecond; ; wait = min(2*wait, 500*time.Millisecond) {
		err := op()
		if !errors.Is(err, nats.ErrNoResponders) && !errors.Is(err, nats.ErrNoStreamResponse) && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// wrongRevision reports whether err is a refused compare-and-set. The
// server's refusal reaches nats.go's KV calls in several forms (an API
// error 10071, ErrKeyExists, or, after its own retry of a publish, a
// plain "wrong last sequence"), so all are checked.
func wrongRevision(err error) bool {
	if err == nil {
		return false
	}
	var apiErr *nats.APIError
	return errors.Is(err, nats.ErrKeyExists) ||
		errors.As(err, &apiErr) && apiErr.ErrorCode == nats.JSErrCodeStreamWrongLastSequence ||
		strings.Contains(err.Error(), "wrong last sequence")
}
