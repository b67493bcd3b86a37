package broker

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/store"
)

// retainedBucket is the JetStream key-value bucket of retained messages.
const retainedBucket = "HERALD_RETAINED"

// Retained returns a store.Retained shared by the whole cluster: a
// JetStream key-value bucket (one key per topic, the message's envelope as
// value) with mirror, this node's copy, kept current by a watcher. Match
// and Len read the mirror; Set and Remove write the bucket, and the mirror
// at once, so a subscriber on this node sees its own retained message
// immediately and every other node a moment later. Unsequenced, it
// returns mirror: retained messages stay per node.
func (b *NATS) Retained(mirror *store.MemoryRetained) store.Retained {
	if b.seq == nil {
		return mirror
	}
	r := &kvRetained{b: b, mirror: mirror, revs: make(map[string]uint64), topics: make(map[string]string), ready: make(chan struct{})}
	s := b.seq
	s.retMu.Lock()
	s.retained = r
	ok := s.streamOK
	s.retMu.Unlock()
	if ok {
		s.wg.Go(r.openRetrying)
	}
	return r
}

type kvRetained struct {
	b      *NATS
	mirror *store.MemoryRetained

	ready chan struct{} // closed once kv is set

	mu     sync.Mutex
	kv     nats.KeyValue     // nil until the bucket exists
	revs   map[string]uint64 // key -> newest revision applied to the mirror
	topics map[string]string // hashed key -> topic
}

// retainedKey is topic's key: "t" and its base64url form, or for long
// topics "h" and its SHA-256 (keys must stay short and use [-_A-Za-z0-9]).
func retainedKey(topic string) string {
	if len(topic) <= 480 {
		return "t" + base64.RawURLEncoding.EncodeToString([]byte(topic))
	}
	sum := sha256.Sum256([]byte(topic))
	return "h" + hex.EncodeToString(sum[:])
}

// bucket waits (StreamConfig.Retry at most) for the bucket.
func (r *kvRetained) bucket() nats.KeyValue {
	r.mu.Lock()
	kv := r.kv
	r.mu.Unlock()
	if kv != nil {
		return kv
	}
	s := r.b.seq
	select {
	case <-r.ready:
	case <-time.After(s.retry):
	case <-s.done:
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.kv
}

// Set implements store.Retained.
func (r *kvRetained) Set(m *message.Message) bool {
	if !r.mirror.Set(m) {
		return false
	}
	kv := r.bucket()
	if kv == nil {
		r.b.log.Warn("retained message kept on this node only: the cluster's bucket is not available", "topic", m.Topic)
		return true
	}
	key := retainedKey(m.Topic)
	var rev uint64
	var err error
	if len(m.Data) == 0 {
		err = kv.Delete(key)
	} else {
		rev, err = kv.Put(key, encodeEnvelope(nil, m, r.b.origin))
	}
	if err != nil {
		r.b.log.Warn("retained message kept on this node only", "topic", m.Topic, "err", err)
		return true
	}
	r.mu.Lock()
	if rev > r.revs[key] {
		r.revs[key] = rev
	}
	r.topics[key] = m.Topic
	r.mu.Unlock()
	return true
}

// Remove implements store.Retained.
func (r *kvRetained) Remove(topic string, m *message.Message) {
	held := false
	r.mirror.Match(topic, func(x *message.Message) { held = held || x == m })
	r.mirror.Remove(topic, m)
	if kv := r.bucket(); held && kv != nil {
		_ = kv.Delete(retainedKey(topic))
	}
}

// Match implements store.Retained.
func (r *kvRetained) Match(filter string, fn func(*message.Message)) { r.mirror.Match(filter, fn) }

// Len implements store.Retained.
func (r *kvRetained) Len() (int, int) { return r.mirror.Len() }

// openRetrying opens the bucket, retrying until it succeeds or the broker
// closes.
func (r *kvRetained) openRetrying() {
	s := r.b.seq
	for {
		err := r.open()
		if err == nil {
			close(r.ready)
			return
		}
		r.b.log.Debug("retained bucket not ready yet", "err", err)
		select {
		case <-s.done:
			return
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// open creates the bucket (with the stream's replicas) and starts the
// watcher.
func (r *kvRetained) open() error {
	s := r.b.seq
	cfg := &nats.KeyValueConfig{Bucket: retainedBucket, Description: "Herald retained messages", History: 1,
		Storage: s.cfg.Storage, Replicas: s.cfg.Replicas, MaxBytes: s.cfg.MaxBytes}
	kv, err := s.js.CreateKeyValue(cfg)
	if errors.Is(err, nats.ErrStreamNameAlreadyInUse) {
		if kv, err = s.js.KeyValue(retainedBucket); err == nil {
			if st, serr := kv.Status(); serr == nil {
				if have := st.(*nats.KeyValueBucketStatus).StreamInfo().Config.Storage; have != cfg.Storage {
					// Not retried: only a configuration change mends it.
					r.b.seq.fail(r.b, storageMismatch("bucket "+retainedBucket, "nats kv rm "+retainedBucket, have, cfg.Storage))
					return nil
				}
			}
		}
	}
	if err != nil {
		return err
	}
	w, err := kv.WatchAll()
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.kv = kv
	r.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer w.Stop()
		for {
			select {
			case <-s.done:
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e != nil {
					r.apply(e)
				}
			}
		}
	}()
	return nil
}

// apply brings the mirror up to date with one bucket entry.
func (r *kvRetained) apply(e nats.KeyValueEntry) {
	key := e.Key()
	r.mu.Lock()
	stale := e.Revision() <= r.revs[key]
	if !stale {
		r.revs[key] = e.Revision()
	}
	topic := r.topics[key]
	r.mu.Unlock()
	if stale {
		return
	}
	if e.Operation() != nats.KeyValuePut {
		if topic == "" && strings.HasPrefix(key, "t") {
			if b, err := base64.RawURLEncoding.DecodeString(key[1:]); err == nil {
				topic = string(b)
			}
		}
		if topic != "" {
			r.mirror.Set(&message.Message{Topic: topic}) // no data: deletes
		}
		return
	}
	env, err := decodeEnvelope(e.Value())
	if err != nil {
		r.b.bad.Add(1)
		return
	}
	m := env.m
	m.Publisher = ""
	m.Retain = true
	if m.Time.IsZero() {
		m.Time = env.time
	}
	r.mu.Lock()
	r.topics[key] = m.Topic
	r.mu.Unlock()
	r.mirror.Set(m)
}
