package mqtt

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/heraldhq/herald/internal/store"
)

// Persistent sessions (sessions with an expiry interval) are written
// through to Options.Store, one record per fact, so that each change is
// one small write:
//
//	mqtt.session  cid              expiry, when it went offline, subscriptions
//	mqtt.msg      cid|seq          a QoS 1/2 message queued or in flight
//	mqtt.state    cid|seq          its packet identifier, and whether PUBREC came
//	mqtt.rx       cid|pid          an inbound QoS 2 identifier awaiting PUBREL
//
// The session's memory state stays what serves; the records are read
// back only by restore, at start-up.
const (
	bucketSession = "mqtt.session"
	bucketMsg     = "mqtt.msg"
	bucketState   = "mqtt.state"
	bucketRx      = "mqtt.rx"
)

// PersistKeys are the cached encodings a store keeps with an MQTT
// message (its QoS, expiry and forwarded properties): pass them to
// store.NewFileRetained.
var PersistKeys = []string{keyMeta}

const recordVersion = 1

// cidKey is a key prefix naming a client identifier: length, then bytes,
// so that one client's records sort together and no identifier is a
// prefix of another's keys.
func cidKey(cid string, extra int) []byte {
	b := make([]byte, 2, 2+len(cid)+extra)
	binary.BigEndian.PutUint16(b, uint16(len(cid)))
	return append(b, cid...)
}

func msgKey(cid string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(cidKey(cid, 8), seq)
}

func rxKey(cid string, pid uint16) []byte {
	return binary.BigEndian.AppendUint16(cidKey(cid, 2), pid)
}

// splitKey returns the client identifier of a key and what follows it.
func splitKey(k []byte) (string, []byte, error) {
	if len(k) < 2 || len(k) < 2+int(binary.BigEndian.Uint16(k)) {
		return "", nil, fmt.Errorf("%w: key %x", store.ErrRecord, k)
	}
	n := 2 + int(binary.BigEndian.Uint16(k))
	return string(k[2:n]), k[n:], nil
}

// kvLocked is the store for ss's records, nil when ss keeps none: no
// store, or a session that ends with its connection.
func (ss *session) kvLocked() store.KV {
	if ss.expiry == 0 {
		return nil
	}
	return ss.a.opts.Store
}

// saveLocked writes the session record; offline is when its connection
// went (zero: connected).
func (ss *session) saveLocked(offline time.Time) {
	ss.clusterSaveLocked(offline)
	kv := ss.kvLocked()
	if kv == nil || ss.ended {
		return
	}
	ss.stored = true
	kv.Put(bucketSession, []byte(ss.id), ss.appendRecord(nil, offline))
}

func (ss *session) appendRecord(b []byte, offline time.Time) []byte {
	b = append(b, recordVersion)
	b = binary.AppendUvarint(b, uint64(ss.expiry))
	var off int64
	if !offline.IsZero() {
		off = offline.Unix()
	}
	b = binary.AppendVarint(b, off)
	all := append(append([]*subscription(nil), ss.subs...), ss.shared...)
	b = binary.AppendUvarint(b, uint64(len(all)))
	for _, s := range all {
		b = store.AppendString(b, s.filter)
		b = store.AppendString(b, s.share)
		flags := byte(0)
		if s.noLocal {
			flags |= 1
		}
		if s.rap {
			flags |= 2
		}
		b = append(b, s.qos, flags, s.handling)
		b = binary.AppendUvarint(b, uint64(s.id))
	}
	return b
}

// sessionRecord is a decoded session record.
type sessionRecord struct {
	expiry  uint32
	offline time.Time
	subs    []*subscription
}

func decodeSession(v []byte) (sessionRecord, error) {
	d := store.NewDecoder(v)
	var r sessionRecord
	if ver := d.Byte(); ver != recordVersion && d.Err() == nil {
		return r, fmt.Errorf("%w: session version %d", store.ErrRecord, ver)
	}
	r.expiry = uint32(min(d.Uvarint(), 1<<32-1))
	if off := d.Varint(); off != 0 {
		r.offline = time.Unix(off, 0)
	}
	for range d.Count() {
		s := &subscription{filter: d.String(), share: d.String()}
		s.qos = min(d.Byte(), 2)
		flags := d.Byte()
		s.noLocal, s.rap = flags&1 != 0, flags&2 != 0
		s.handling = d.Byte()
		s.id = int(min(d.Uvarint(), 268_435_455))
		r.subs = append(r.subs, s)
	}
	return r, d.Err()
}

// keepLocked gives e a sequence number and writes it.
func (ss *session) keepLocked(e *outMsg) {
	kv := ss.kvLocked()
	if kv == nil {
		return
	}
	ss.seq++
	e.seq = ss.seq
	kv.Put(bucketMsg, msgKey(ss.id, e.seq), outRecord(e))
}

// outRecord is the mqtt.msg record of e.
func outRecord(e *outMsg) []byte {
	b := []byte{recordVersion, e.qos, b2b(e.retain)}
	b = binary.AppendUvarint(b, uint64(len(e.ids)))
	for _, id := range e.ids {
		b = binary.AppendUvarint(b, uint64(id))
	}
	return store.AppendMessage(b, e.m, keyMeta)
}

// markLocked records e's packet identifier and PUBREC state.
func (ss *session) markLocked(e *outMsg) {
	if e.seq == 0 || ss.a.opts.Store == nil {
		return
	}
	b := binary.BigEndian.AppendUint16([]byte{recordVersion}, e.pid)
	ss.a.opts.Store.Put(bucketState, msgKey(ss.id, e.seq), append(b, b2b(e.rel)))
}

// forgetLocked deletes e's records: its flow has ended.
func (ss *session) forgetLocked(e *outMsg) {
	if e.seq == 0 || ss.a.opts.Store == nil {
		return
	}
	k := msgKey(ss.id, e.seq)
	ss.a.opts.Store.Delete(bucketMsg, k)
	ss.a.opts.Store.Delete(bucketState, k)
}

// rxLocked records (add) or deletes an inbound QoS 2 identifier.
func (ss *session) rxLocked(pid uint16, add bool) {
	kv := ss.kvLocked()
	if kv == nil {
		return
	}
	if add {
		kv.Put(bucketRx, rxKey(ss.id, pid), []byte{recordVersion})
	} else {
		kv.Delete(bucketRx, rxKey(ss.id, pid))
	}
}

// eraseLocked deletes every record of an ended session.
func (ss *session) eraseLocked() {
	ss.clusterEraseLocked()
	kv := ss.a.opts.Store
	if kv == nil || !ss.stored {
		return
	}
	for i := range ss.inflight.len() {
		ss.forgetLocked(ss.inflight.at(i))
	}
	for i := range ss.pending.len() {
		ss.forgetLocked(ss.pending.at(i))
	}
	for pid := range ss.rx {
		kv.Delete(bucketRx, rxKey(ss.id, pid))
	}
	kv.Delete(bucketSession, []byte(ss.id))
	ss.stored = false
}

func b2b(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// decodeOut decodes a mqtt.msg record.
func decodeOut(v []byte) (outMsg, error) {
	d := store.NewDecoder(v)
	var e outMsg
	if ver := d.Byte(); ver != recordVersion && d.Err() == nil {
		return e, fmt.Errorf("%w: message version %d", store.ErrRecord, ver)
	}
	e.qos = d.Byte()
	e.retain = d.Byte() != 0
	for range d.Count() {
		e.ids = append(e.ids, int(min(d.Uvarint(), 268_435_455)))
	}
	if err := d.Err(); err != nil {
		return e, err
	}
	if e.qos < 1 || e.qos > 2 {
		return e, fmt.Errorf("%w: QoS %d", store.ErrRecord, e.qos)
	}
	m, _, err := store.DecodeMessage(d.Rest(), keyMeta)
	e.m = m
	return e, err
}

// decodeState decodes a mqtt.state record.
func decodeState(v []byte) (pid uint16, rel bool, err error) {
	if len(v) != 4 || v[0] != recordVersion {
		return 0, false, fmt.Errorf("%w: state %x", store.ErrRecord, v)
	}
	return binary.BigEndian.Uint16(v[1:]), v[3] != 0, nil
}
