package herald

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/internal/durable"
	"github.com/heraldhq/herald/internal/metrics"
	"github.com/heraldhq/herald/internal/mqtt"
	"github.com/heraldhq/herald/internal/queue"
	"github.com/heraldhq/herald/internal/store"
)

// DurabilityPolicy is when writes to the data directory are made durable
// (fsync), and so when persisted messages are acknowledged.
type DurabilityPolicy uint8

const (
	// SyncEach: every acknowledgement waits for a commit of its own
	// write; writes arriving together share one commit (group commit).
	// The default.
	SyncEach DurabilityPolicy = iota
	// GroupInterval commits at most once per Durability.Interval: fewer
	// fsyncs under load, up to one interval more acknowledgement
	// latency. Nothing acknowledged is lost either way.
	GroupInterval
)

// Durability configures the data directory (Options.DataDir).
type Durability struct {
	Policy   DurabilityPolicy
	Interval time.Duration // GroupInterval's period; default 5ms
	// Topics are topic filters whose history is kept on disk, so that
	// positions in them resume across restarts ("sensors/#"). Other
	// topics' history stays in memory.
	Topics []string
}

// openDurable opens opts.DataDir's store and the stores built on it, for
// Open; nil without a data directory.
func openDurable(opts Options) (*durableState, error) {
	if opts.DataDir == "" {
		return nil, nil
	}
	d := &durableState{}
	pol := durable.PolicySync
	if opts.Durability.Policy == GroupInterval {
		pol = durable.PolicyInterval
	}
	db, err := durable.Open(opts.DataDir, durable.Options{Policy: pol, Interval: opts.Durability.Interval, OnCommit: d.observe})
	if err != nil {
		return nil, fmt.Errorf("herald: data directory: %w", err)
	}
	d.db = db
	fail := func(err error) (*durableState, error) {
		db.Close()
		return nil, fmt.Errorf("herald: data directory %s: %w", opts.DataDir, err)
	}
	size, ttl := historyLimits(opts)
	if d.history, err = store.NewFileHistory(db, size, ttl, opts.Durability.Topics); err != nil {
		return fail(err)
	}
	maxRet, maxRetBytes := opts.MQTT.MaxRetainedMessages, opts.MQTT.MaxRetainedBytes
	if maxRet <= 0 {
		maxRet = 10_000
	}
	if maxRetBytes <= 0 {
		maxRetBytes = 64 << 20
	}
	if d.retained, err = store.NewFileRetained(db, maxRet, maxRetBytes, mqtt.PersistKeys...); err != nil {
		return fail(err)
	}
	if d.sessions, err = store.NewFileSessions(db); err != nil {
		return fail(err)
	}
	return d, nil
}

// loadErr reports what failed while the server loaded its state from the
// store (sessions, queues); the server must then not run.
func (d *durableState) loadErr(dir string) error {
	if d == nil || d.err == nil {
		return nil
	}
	return fmt.Errorf("herald: data directory %s: %w", dir, d.err)
}

// durableState is what Open hands the server it builds: the store and
// the stores built on it.
type durableState struct {
	db       *durable.DB
	history  *store.FileHistory
	retained *store.FileRetained
	sessions *store.FileSessions // long polling and streaming (longpoll_durable.go)
	err      error               // from loading sessions or queues in New

	commits atomic.Pointer[metrics.Histogram]
	records atomic.Pointer[metrics.Counter]
}

func (d *durableState) observe(took time.Duration, n int) {
	if h := d.commits.Load(); h != nil {
		h.Observe(took.Seconds())
		d.records.Load().Add(float64(n))
	}
}

// historyStore is the router's History: nil (memory) without a data
// directory.
func (d *durableState) historyStore() store.History {
	if d == nil {
		return nil
	}
	return d.history
}

// registerMetrics adds the store's figures to r.
func (d *durableState) registerMetrics(r *metrics.Registry) {
	if d == nil {
		return
	}
	r.GaugeFunc("herald_store_size_bytes", "Size of the data directory's store file.", func() float64 { return float64(d.db.Size()) })
	d.records.Store(r.Counter("herald_store_records_written_total", "Records written to the store (puts and deletes)."))
	d.commits.Store(r.Histogram("herald_store_commit_seconds", "Store commit (transaction and fsync) latency; one commit covers many writes.", metrics.LatencyBuckets()))
}

// mqttStores sets the MQTT adapter's stores.
func (d *durableState) mqttStores(o *mqtt.Options) {
	if d != nil {
		o.Store = d.db
		if o.Retained == nil { // a cluster's retained store is shared by every node: it wins
			o.Retained = d.retained
		}
	}
}

// openQueues returns the STOMP queues, loaded from the store if there is
// one.
func (d *durableState) openQueues(o queue.Options) *queue.Queues {
	if d == nil {
		return queue.New(o)
	}
	o.Store, o.Crashed = d.db, d.db.Crashed()
	qs, err := queue.Open(o)
	if err != nil {
		d.err = errors.Join(d.err, err)
		return queue.New(queue.Options{})
	}
	return qs
}

// openMQTT returns the MQTT adapter, its sessions loaded from the store
// if there is one.
func (d *durableState) openMQTT(s *Server, o mqtt.Options) *mqtt.Adapter {
	if d == nil {
		return mqtt.New(s.core, o)
	}
	d.mqttStores(&o)
	a, err := mqtt.Open(s.core, o)
	if err != nil {
		d.err = errors.Join(d.err, err)
		o.Store, o.Retained = nil, nil
		return mqtt.New(s.core, o)
	}
	return a
}

// wait returns once what was written so far is durable, or ctx ends; at
// once without a data directory.
func (d *durableState) wait(ctx context.Context) error {
	if d == nil {
		return nil
	}
	done := make(chan error, 1)
	d.db.Barrier(func(err error) { done <- err })
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("herald: store: %w", err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close closes the store after the server has stopped writing to it.
func (d *durableState) close() error {
	if d == nil {
		return nil
	}
	return d.db.Close()
}
