package durable

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// op is one queued write.
type op struct {
	bucket   string
	key, val []byte
	del      bool
}

type waiter struct {
	seq  uint64
	done func(error)
}

// committer is group commit: writers queue ops (never blocking), a
// goroutine applies all that is queued in one bbolt transaction (one
// fsync of data and one of meta) and then releases the barriers the
// commit covers.
type committer struct {
	b    *bolt.DB
	opts Options

	// cut orders batch boundaries against Atomic sections: a section
	// holds it shared, the committer takes it exclusively to cut a batch.
	cut sync.RWMutex

	mu        sync.Mutex
	ops       []op
	submitted uint64 // ops queued ever
	committed uint64 // ops durable
	waiters   []waiter
	err       error // sticky: a failed commit fails everything after it
	closed    bool

	queued atomic.Uint64 // submitted, readable without mu

	wake chan struct{}
	stop chan struct{}
	done chan struct{}
}

func (c *committer) start(b *bolt.DB, opts Options) {
	c.b, c.opts = b, opts
	c.wake = make(chan struct{}, 1)
	c.stop = make(chan struct{})
	c.done = make(chan struct{})
	go c.run()
}

// Put implements store.KV.
func (c *committer) Put(bucket string, key, val []byte) {
	c.queue(op{bucket: bucket, key: key, val: val})
}

// Delete implements store.KV.
func (c *committer) Delete(bucket string, key []byte) {
	c.queue(op{bucket: bucket, key: key, del: true})
}

func (c *committer) queue(o op) {
	c.mu.Lock()
	if c.closed || c.err != nil {
		c.mu.Unlock()
		return
	}
	c.ops = append(c.ops, o)
	c.submitted++
	c.queued.Add(1)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Queued counts the writes queued so far: a caller that sees it unchanged
// across an operation knows the operation wrote nothing, and need not
// wait for a commit before acknowledging it.
func (c *committer) Queued() uint64 { return c.queued.Load() }

// Atomic implements store.KV.
func (c *committer) Atomic() func() {
	c.cut.RLock()
	return c.cut.RUnlock
}

// Barrier implements store.KV.
func (c *committer) Barrier(done func(error)) {
	c.mu.Lock()
	err, seq := c.err, c.submitted
	if err == nil && c.closed && c.committed < seq {
		err = ErrClosed
	}
	if err != nil || c.committed >= seq {
		c.mu.Unlock()
		done(err)
		return
	}
	c.waiters = append(c.waiters, waiter{seq: seq, done: done})
	c.mu.Unlock()
}

// Wait blocks until everything queued so far is durable.
func (c *committer) Wait() error {
	ch := make(chan error, 1)
	c.Barrier(func(err error) { ch <- err })
	return <-ch
}

// Scan implements store.KV. fn gets copies it may keep.
func (c *committer) Scan(bucket string, fn func(key, val []byte) error) error {
	return guard(func() error {
		return c.b.View(func(tx *bolt.Tx) error {
			bk := tx.Bucket([]byte(bucket))
			if bk == nil {
				return nil
			}
			return bk.ForEach(func(k, v []byte) error {
				rec, err := unframe(bucket, k, v)
				if err != nil {
					return err
				}
				// Copies: bbolt's slices die with the transaction.
				return fn(bytes.Clone(k), bytes.Clone(rec))
			})
		})
	})
}

func (c *committer) run() {
	defer close(c.done)
	last := time.Now()
	for {
		select {
		case <-c.stop:
			c.commit()
			return
		case <-c.wake:
		}
		if c.opts.Policy == PolicyInterval {
			if d := time.Until(last.Add(c.opts.Interval)); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-t.C:
				case <-c.stop:
					t.Stop()
				}
			}
		}
		last = time.Now()
		c.commit()
	}
}

// commit applies what is queued in one transaction and releases the
// barriers it covers.
func (c *committer) commit() {
	c.cut.Lock()
	c.mu.Lock()
	batch, seq := c.ops, c.submitted
	c.ops = nil
	c.mu.Unlock()
	c.cut.Unlock()
	if len(batch) == 0 {
		return
	}
	start := time.Now()
	// Only the last write of a key in a batch matters (the commit is
	// atomic): a record put and deleted again before its commit, such as
	// a message its subscriber acknowledged at once, costs nothing.
	last := make(map[string]int, len(batch))
	for i, o := range batch {
		last[o.bucket+"\x00"+string(o.key)] = i
	}
	err := c.b.Update(func(tx *bolt.Tx) error {
		var name string
		var bk *bolt.Bucket
		for i, o := range batch {
			if last[o.bucket+"\x00"+string(o.key)] != i {
				continue
			}
			if bk == nil || o.bucket != name {
				var err error
				if bk, err = tx.CreateBucketIfNotExists([]byte(o.bucket)); err != nil {
					return fmt.Errorf("bucket %s: %w", o.bucket, err)
				}
				name = o.bucket
			}
			var err error
			if o.del {
				err = bk.Delete(o.key)
			} else {
				err = bk.Put(o.key, frame(o.bucket, o.key, o.val))
			}
			if err != nil {
				return fmt.Errorf("%s/%x: %w", o.bucket, o.key, err)
			}
		}
		return nil
	})
	if err != nil {
		err = fmt.Errorf("durable: commit: %w", err)
	}
	if c.opts.OnCommit != nil && err == nil {
		c.opts.OnCommit(time.Since(start), len(batch))
	}
	c.mu.Lock()
	var ready []waiter
	if err != nil {
		c.err = err
		ready, c.waiters = c.waiters, nil
	} else {
		c.committed = seq
		n := 0
		for _, w := range c.waiters {
			if w.seq <= seq {
				ready = append(ready, w)
			} else {
				c.waiters[n] = w
				n++
			}
		}
		clear(c.waiters[n:])
		c.waiters = c.waiters[:n]
	}
	c.mu.Unlock()
	for _, w := range ready {
		w.done(err)
	}
}

// stopAndFlush commits what is queued and stops the goroutine; later
// writes are dropped and later barriers fail with ErrClosed.
func (c *committer) stopAndFlush() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	close(c.stop)
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.waiters {
		go w.done(ErrClosed)
	}
	c.waiters = nil
	return c.err
}

// Err reports the failure that stopped the store, if any.
func (c *committer) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}
