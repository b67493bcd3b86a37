package queue

import (
	"encoding/binary"
	"fmt"

	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/store"
)

// With Options.Store, every accepted message is written through, and
// deleted once acknowledged (or handed to a consumer that acknowledges
// on delivery):
//
//	queue       name|id   redelivered flag, the message
//	queue.sent  name|id   present once delivered to a consumer that acknowledges
//
// Open loads them back: what was delivered and not acknowledged when the
// server stopped is queued again, marked redelivered.
const (
	bucketQueue = "queue"
	bucketSent  = "queue.sent"
)

const recordVersion = 1

func entryKey(name string, id uint64) []byte {
	b := binary.BigEndian.AppendUint16(make([]byte, 0, 10+len(name)), uint16(len(name)))
	return binary.BigEndian.AppendUint64(append(b, name...), id)
}

func splitEntryKey(k []byte) (name string, id uint64, err error) {
	if len(k) < 2 || len(k) != 2+int(binary.BigEndian.Uint16(k))+8 {
		return "", 0, fmt.Errorf("%w: queue key %x", store.ErrRecord, k)
	}
	n := 2 + int(binary.BigEndian.Uint16(k))
	return string(k[2:n]), binary.BigEndian.Uint64(k[n:]), nil
}

func entryRecord(e *Entry) []byte {
	return store.AppendMessage([]byte{recordVersion, b2b(e.Redelivered)}, e.Msg)
}

func decodeEntry(v []byte) (m *message.Message, redelivered bool, err error) {
	if len(v) < 2 || v[0] != recordVersion {
		return nil, false, fmt.Errorf("%w: queue record %x", store.ErrRecord, v[:min(len(v), 8)])
	}
	m, _, err = store.DecodeMessage(v[2:])
	return m, v[1] != 0, err
}

func b2b(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// keep writes e, a message just accepted into q.
func (q *Queue) keep(e *Entry) {
	if kv := q.qs.opts.Store; kv != nil {
		kv.Put(bucketQueue, entryKey(q.name, e.ID), entryRecord(e))
	}
}

// sent marks e delivered to a consumer that acknowledges.
func (q *Queue) sent(e *Entry) {
	if kv := q.qs.opts.Store; kv != nil && e.receipt == nil {
		kv.Put(bucketSent, entryKey(q.name, e.ID), []byte{recordVersion})
	}
}

// forget deletes e: acknowledged (in the Shared store for an entry
// taken from there).
func (q *Queue) forget(e *Entry) {
	if e.receipt != nil {
		e.receipt.Ack()
		return
	}
	if kv := q.qs.opts.Store; kv != nil {
		k := entryKey(q.name, e.ID)
		kv.Delete(bucketQueue, k)
		kv.Delete(bucketSent, k)
	}
}

// Open is New for queues with a Store: it loads the messages the store
// holds, in their order, those delivered before marked redelivered (all
// of them after a crash: see Options.Crashed).
func Open(o Options) (*Queues, error) {
	qs := New(o)
	kv := qs.opts.Store
	if kv == nil {
		return qs, nil
	}
	sent := map[string]bool{}
	if err := kv.Scan(bucketSent, func(k, _ []byte) error {
		sent[string(k)] = true
		return nil
	}); err != nil {
		return nil, fmt.Errorf("queue: loading: %w", err)
	}
	var maxID uint64
	err := kv.Scan(bucketQueue, func(k, v []byte) error {
		name, id, err := splitEntryKey(k)
		if err != nil {
			return err
		}
		m, redelivered, err := decodeEntry(v)
		if err != nil {
			return fmt.Errorf("queue %q message %d: %w", name, id, err)
		}
		q := qs.queues[name]
		if q == nil {
			q = &Queue{name: name, qs: qs}
			qs.queues[name] = q
		}
		e := &Entry{ID: id, Msg: m, Redelivered: redelivered || sent[string(k)] || o.Crashed, size: entrySize(m)}
		q.backlog = append(q.backlog, e)
		qs.bytes.Add(int64(e.size))
		maxID = max(maxID, id)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("queue: loading: %w", err)
	}
	qs.nextID.Store(maxID)
	return qs, nil
}

// Store is the store the queues write through to (nil: none).
func (qs *Queues) Store() store.KV { return qs.opts.Store }
