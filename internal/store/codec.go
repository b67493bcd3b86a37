package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/heraldhq/herald/internal/message"
)

// ErrRecord: a stored record does not decode. Records are checksummed by
// the KV, so this means a bug or a record of a newer version.
var ErrRecord = errors.New("store: record does not decode")

// messageVersion is the first byte of an encoded message.
const messageVersion = 1

// AppendMessage appends the encoding of m for a KV: what a restarted
// server needs to deliver it again (topic, data, content type, headers,
// publisher, retain flag, sequence, epoch, time) and the cached
// encodings named by keys (protocol metadata such as MQTT's QoS and
// expiry, see message.Encoded), which travel with the message.
func AppendMessage(b []byte, m *message.Message, keys ...string) []byte {
	b = append(b, messageVersion)
	b = AppendString(b, m.Topic)
	b = AppendBytes(b, m.Data)
	b = AppendString(b, m.ContentType)
	b = binary.AppendUvarint(b, uint64(len(m.Headers)))
	for _, h := range m.Headers {
		b = AppendString(AppendString(b, h.Key), h.Value)
	}
	b = AppendString(b, m.Publisher)
	flags := byte(0)
	if m.Retain {
		flags |= 1
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, m.Seq)
	b = AppendString(b, m.Epoch)
	var t int64
	if !m.Time.IsZero() {
		t = m.Time.UnixNano()
	}
	b = binary.AppendVarint(b, t)
	var none = func(*message.Message) []byte { return nil }
	n := 0
	extra := make([][]byte, len(keys))
	for i, k := range keys {
		if e := m.Encoded(k, none); len(e) > 0 {
			extra[i] = e
			n++
		}
	}
	b = binary.AppendUvarint(b, uint64(n))
	for i, k := range keys {
		if extra[i] != nil {
			b = AppendBytes(AppendString(b, k), extra[i])
		}
	}
	return b
}

// DecodeMessage decodes what AppendMessage wrote and returns the rest of
// b. Cached encodings are restored only for the keys named.
func DecodeMessage(b []byte, keys ...string) (*message.Message, []byte, error) {
	d := Decoder{b: b}
	if v := d.Byte(); v != messageVersion && d.err == nil {
		return nil, nil, fmt.Errorf("%w: message version %d", ErrRecord, v)
	}
	m := &message.Message{Topic: d.String(), Data: d.Bytes(), ContentType: d.String()}
	if n := d.Count(); n > 0 {
		m.Headers = make([]message.Header, n)
		for i := range m.Headers {
			m.Headers[i] = message.Header{Key: d.String(), Value: d.String()}
		}
	}
	m.Publisher = d.String()
	m.Retain = d.Byte()&1 != 0
	m.Seq = d.Uvarint()
	m.Epoch = d.String()
	if t := d.Varint(); t != 0 {
		m.Time = time.Unix(0, t)
	}
	for range d.Count() {
		k, v := d.String(), d.Bytes()
		for _, want := range keys {
			if k == want && len(v) > 0 {
				m.Encoded(k, func(*message.Message) []byte { return v })
			}
		}
	}
	if d.err != nil {
		return nil, nil, d.err
	}
	return m, d.b, nil
}

// AppendString and AppendBytes append a length-prefixed value.
func AppendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func AppendBytes(b, v []byte) []byte {
	return append(binary.AppendUvarint(b, uint64(len(v))), v...)
}

// Decoder reads values appended with this file's functions; the first
// error sticks and later reads return zero values.
type Decoder struct {
	b   []byte
	err error
}

// NewDecoder returns a decoder of b.
func NewDecoder(b []byte) *Decoder { return &Decoder{b: b} }

// Err is the first error met; Rest what is left.
func (d *Decoder) Err() error   { return d.err }
func (d *Decoder) Rest() []byte { return d.b }

func (d *Decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrRecord, what)
	}
	d.b = nil
}

func (d *Decoder) Byte() byte {
	if len(d.b) < 1 {
		d.fail("short")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *Decoder) Uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *Decoder) Varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// Count reads a count of items, each at least one byte, so a bad count
// cannot make the caller allocate more than the record holds.
func (d *Decoder) Count() int {
	n := d.Uvarint()
	if n > uint64(len(d.b)) {
		d.fail("count beyond the record")
		return 0
	}
	return int(n)
}

func (d *Decoder) Bytes() []byte {
	n := d.Uvarint()
	if n > uint64(len(d.b)) {
		d.fail("length beyond the record")
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *Decoder) String() string { return string(d.Bytes()) }
