package broker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/heraldhq/herald/internal/message"
)

// The envelope is how a message crosses between nodes: the publisher's
// fields and, when the cluster sequences topics (JetStream), the topic's
// Seq and Epoch; never the node-local ID. Layout, with uvarint lengths and
// counts:
//
//	'H' 1                      magic and version
//	flags                      bit 0: Retain
//	uvarint  publish time, Unix nanoseconds (informational)
//	uvarint  Seq (0: not sequenced, the receiving node stamps it)
//	string   Epoch
//	string   origin (the publishing broker's id)
//	string   Publisher (meaningful on the origin node only)
//	string   topic
//	string   content type
//	uvarint  header count, then key, value strings
//	rest     data
//
// A string is a uvarint length and the bytes.
const (
	envMagic   = 'H'
	envVersion = 1
	flagRetain = 1
)

// maxEnvHeaders bounds the header count a decoder accepts, so a corrupt
// count cannot make it allocate wildly.
const maxEnvHeaders = 1 << 16

// ErrEnvelope is returned by decodeEnvelope for bytes that are not an
// envelope.
var ErrEnvelope = errors.New("broker: bad envelope")

// encodeEnvelope appends m's envelope to b, from origin.
func encodeEnvelope(b []byte, m *message.Message, origin string) []byte {
	var flags byte
	if m.Retain {
		flags |= flagRetain
	}
	b = append(b, envMagic, envVersion, flags)
	var t uint64
	if !m.Time.IsZero() {
		t = uint64(m.Time.UnixNano())
	}
	b = binary.AppendUvarint(b, t)
	b = binary.AppendUvarint(b, m.Seq)
	b = appendString(b, m.Epoch)
	b = appendString(b, origin)
	b = appendString(b, m.Publisher)
	b = appendString(b, m.Topic)
	b = appendString(b, m.ContentType)
	b = binary.AppendUvarint(b, uint64(len(m.Headers)))
	for _, h := range m.Headers {
		b = appendString(b, h.Key)
		b = appendString(b, h.Value)
	}
	return append(b, m.Data...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// envelope is a decoded envelope.
type envelope struct {
	m      *message.Message // ID 0; Seq and Epoch as sent; Publisher as sent
	time   time.Time        // the publisher's clock
	origin string
}

// decodeEnvelope returns what b carries. The message does not alias b.
func decodeEnvelope(b []byte) (envelope, error) {
	if len(b) < 3 || b[0] != envMagic {
		return envelope{}, fmt.Errorf("%w: no magic", ErrEnvelope)
	}
	if b[1] != envVersion {
		return envelope{}, fmt.Errorf("%w: version %d", ErrEnvelope, b[1])
	}
	d := decoder{b: b[3:]}
	m := &message.Message{Retain: b[2]&flagRetain != 0}
	ns := d.uvarint()
	m.Seq = d.uvarint()
	m.Epoch = d.string()
	origin := d.string()
	m.Publisher = d.string()
	m.Topic = d.string()
	m.ContentType = d.string()
	n := d.uvarint()
	if n > maxEnvHeaders || n > uint64(len(d.b)) {
		return envelope{}, fmt.Errorf("%w: %d headers", ErrEnvelope, n)
	}
	if n > 0 {
		m.Headers = make([]message.Header, n)
		for i := range m.Headers {
			m.Headers[i] = message.Header{Key: d.string(), Value: d.string()}
		}
	}
	if d.err != nil {
		return envelope{}, d.err
	}
	if len(d.b) > 0 {
		m.Data = append([]byte(nil), d.b...)
	}
	var t time.Time
	if ns != 0 {
		t = time.Unix(0, int64(ns))
	}
	return envelope{m: m, time: t, origin: origin}, nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = fmt.Errorf("%w: truncated", ErrEnvelope)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.err = fmt.Errorf("%w: truncated", ErrEnvelope)
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// A bundle is several envelopes stored as one stream message, so that a
// topic's publishes waiting behind one JetStream round trip share the next
// (group commit). Layout: 'B' 1, uvarint count, then count times a uvarint
// length and an envelope.
const (
	bundleMagic   = 'B'
	bundleVersion = 1
	// maxBundle bounds a bundle's messages and bytes; an external NATS
	// refuses payloads over 1 MiB by default.
	maxBundleMessages = 256
	maxBundleBytes    = 900 << 10
)

// appendBundle appends a bundle of the given envelopes to b.
func appendBundle(b []byte, envs [][]byte) []byte {
	b = append(b, bundleMagic, bundleVersion)
	b = binary.AppendUvarint(b, uint64(len(envs)))
	for _, e := range envs {
		b = binary.AppendUvarint(b, uint64(len(e)))
		b = append(b, e...)
	}
	return b
}

// decodeMessages returns the envelopes b carries: a bundle's, or a single
// envelope.
func decodeMessages(b []byte) ([]envelope, error) {
	if len(b) == 0 || b[0] != bundleMagic {
		env, err := decodeEnvelope(b)
		if err != nil {
			return nil, err
		}
		return []envelope{env}, nil
	}
	if len(b) < 2 || b[1] != bundleVersion {
		return nil, fmt.Errorf("%w: bundle version", ErrEnvelope)
	}
	d := decoder{b: b[2:]}
	n := d.uvarint()
	if d.err != nil || n == 0 || n > maxBundleMessages || n > uint64(len(d.b)) {
		return nil, fmt.Errorf("%w: bundle of %d", ErrEnvelope, n)
	}
	out := make([]envelope, 0, n)
	for range n {
		l := d.uvarint()
		if d.err != nil || l > uint64(len(d.b)) {
			return nil, fmt.Errorf("%w: truncated bundle", ErrEnvelope)
		}
		env, err := decodeEnvelope(d.b[:l])
		if err != nil {
			return nil, err
		}
		out = append(out, env)
		d.b = d.b[l:]
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: bytes after the bundle", ErrEnvelope)
	}
	return out, nil
}
