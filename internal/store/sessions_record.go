package store

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/heraldhq/herald/internal/message"
)

// Keys of SessionsBucket: uint16 length, the session id, a kind byte and,
// for a log entry, its number (big-endian, so a session's entries follow
// its meta record in key order, oldest first).
const (
	kindMeta = 0
	kindLog  = 1
)

func sessionKey(id string, kind byte, num uint64) []byte {
	b := binary.BigEndian.AppendUint16(make([]byte, 0, 11+len(id)), uint16(len(id)))
	b = append(append(b, id...), kind)
	if kind == kindLog {
		b = binary.BigEndian.AppendUint64(b, num)
	}
	return b
}

func splitSessionKey(k []byte) (id string, kind byte, num uint64, err error) {
	if len(k) < 3 {
		return "", 0, 0, fmt.Errorf("%w: session key %x", ErrRecord, k)
	}
	n := 2 + int(binary.BigEndian.Uint16(k))
	switch {
	case len(k) == n+1 && k[n] == kindMeta:
		return string(k[2:n]), kindMeta, 0, nil
	case len(k) == n+9 && k[n] == kindLog:
		return string(k[2:n]), kindLog, binary.BigEndian.Uint64(k[n+1:]), nil
	}
	return "", 0, 0, fmt.Errorf("%w: session key %x", ErrRecord, k)
}

// sessionRecord is what a session's meta record holds: everything but
// the log entries.
type sessionRecord struct {
	created, lastSeen time.Time
	lim               LogLimits
	acked             uint64
	seen, window      uint64 // client numbers applied (see FileSessions.Applied)
	ended             bool
	code              uint16
	reason            string
	subs              []string
	pos               map[string]message.Position
	owner             []byte
}

const sessionVersion = 1

func appendTime(b []byte, t time.Time) []byte {
	var n int64
	if !t.IsZero() {
		n = t.UnixNano()
	}
	return binary.AppendVarint(b, n)
}

func decodeTime(d *Decoder) time.Time {
	if n := d.Varint(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

func (r *sessionRecord) append(b []byte) []byte {
	b = append(b, sessionVersion)
	b = appendTime(b, r.created)
	b = appendTime(b, r.lastSeen)
	b = binary.AppendUvarint(b, uint64(r.lim.Messages))
	b = binary.AppendUvarint(b, uint64(r.lim.Bytes))
	b = binary.AppendUvarint(b, r.acked)
	b = binary.AppendUvarint(b, r.seen)
	b = binary.AppendUvarint(b, r.window)
	ended := byte(0)
	if r.ended {
		ended = 1
	}
	b = append(b, ended)
	b = binary.AppendUvarint(b, uint64(r.code))
	b = AppendString(b, r.reason)
	b = binary.AppendUvarint(b, uint64(len(r.subs)))
	for _, f := range r.subs {
		b = AppendString(b, f)
	}
	b = binary.AppendUvarint(b, uint64(len(r.pos)))
	for t, p := range r.pos {
		b = AppendString(AppendString(b, t), p.Epoch)
		b = binary.AppendUvarint(b, p.Seq)
	}
	return AppendBytes(b, r.owner)
}

// decodeSessionRecord decodes what sessionRecord.append wrote.
func decodeSessionRecord(b []byte) (*sessionRecord, error) {
	d := NewDecoder(b)
	if v := d.Byte(); v != sessionVersion && d.Err() == nil {
		return nil, fmt.Errorf("%w: session version %d", ErrRecord, v)
	}
	r := &sessionRecord{created: decodeTime(d), lastSeen: decodeTime(d)}
	msgs, bytes := d.Uvarint(), d.Uvarint()
	if msgs > math.MaxInt32 || bytes > math.MaxInt32 {
		return nil, fmt.Errorf("%w: session limits %d/%d", ErrRecord, msgs, bytes)
	}
	r.lim = LogLimits{Messages: int(msgs), Bytes: int(bytes)}
	r.acked, r.seen, r.window = d.Uvarint(), d.Uvarint(), d.Uvarint()
	r.ended = d.Byte() == 1
	code := d.Uvarint()
	if code > math.MaxUint16 {
		return nil, fmt.Errorf("%w: close code %d", ErrRecord, code)
	}
	r.code = uint16(code)
	r.reason = d.String()
	if n := d.Count(); n > 0 {
		r.subs = make([]string, n)
		for i := range r.subs {
			r.subs[i] = d.String()
		}
	}
	if n := d.Count(); n > 0 {
		r.pos = make(map[string]message.Position, n)
		for range n {
			t, e := d.String(), d.String()
			r.pos[t] = message.Position{Epoch: e, Seq: d.Uvarint()}
		}
	}
	if o := d.Bytes(); len(o) > 0 {
		r.owner = o
	}
	if d.Err() != nil {
		return nil, d.Err()
	}
	if len(d.Rest()) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after a session record", ErrRecord, len(d.Rest()))
	}
	return r, nil
}
