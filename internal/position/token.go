// Package position is the resume token: a client's place in every topic
// it follows, as one compact, URL-safe string that every transport takes
// the same way (a WebSocket or long-poll `subscribe` with `since`, an SSE
// event `id` and the browser's `Last-Event-ID`).
//
// # Format, version 1
//
// The token is the unpadded base64url encoding of
//
//	0x01                      version
//	uvarint count             number of topics, at most MaxEntries
//	count × {
//	    uvarint shared        bytes shared with the previous topic's name
//	    uvarint n, n bytes    the rest of the topic's name
//	    uvarint n, n bytes    epoch
//	    uvarint seq           last sequence number seen
//	}
//
// Topics are in increasing byte order, so names that share a prefix
// ("orders/41", "orders/42") cost only their difference. Every value has
// exactly one encoding: Decode rejects anything Encode would not produce
// (unsorted or repeated topics, a shorter shared prefix than possible,
// over-long varints, padding), so a token can be compared as a string.
// herald.js implements the same format.
package position

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/topic"
)

// Version is the format Encode writes and the only one Decode reads.
const Version = 1

// Limits keep a token small enough for an HTTP header (proxies commonly
// allow 8 KiB per header line) and cheap to decode.
const (
	MaxLen      = 4096 // encoded characters
	MaxEntries  = 64   // topics per token
	MaxEpochLen = 64   // bytes of an epoch
)

// ErrMalformed is returned for a string that is not a valid token.
var ErrMalformed = errors.New("position: malformed resume token")

// ErrTooLarge is returned by Encode when the positions exceed the limits.
var ErrTooLarge = errors.New("position: too many or too long positions for a resume token")

var enc = base64.RawURLEncoding.Strict()

// Entry is one topic's position.
type Entry struct {
	Topic string
	Pos   message.Position
}

// Encode returns the token of pos. Topics that are not valid names, or
// epochs that are not valid UTF-8 of at most MaxEpochLen bytes, make it
// fail with ErrMalformed; exceeding MaxEntries or MaxLen with ErrTooLarge.
func Encode(pos map[string]message.Position) (string, error) {
	entries := make([]Entry, 0, len(pos))
	for t, p := range pos {
		entries = append(entries, Entry{t, p})
	}
	slices.SortFunc(entries, func(a, b Entry) int { return strings.Compare(a.Topic, b.Topic) })
	b, err := AppendEntries(nil, entries)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// AppendEntries appends the token of entries, which must be sorted by
// topic with no repeats, to dst. It is Encode without the map and the
// sort, for callers that keep their positions sorted (an SSE stream
// writes a token into every event).
func AppendEntries(dst []byte, entries []Entry) ([]byte, error) {
	if len(entries) > MaxEntries {
		return dst, ErrTooLarge
	}
	raw := make([]byte, 0, 2+len(entries)*32)
	raw = append(raw, Version)
	raw = binary.AppendUvarint(raw, uint64(len(entries)))
	prev := ""
	for i, e := range entries {
		if err := check(e); err != nil {
			return dst, err
		}
		if i > 0 && e.Topic <= prev {
			return dst, fmt.Errorf("%w: topics not in increasing order (%q after %q)", ErrMalformed, e.Topic, prev)
		}
		shared := commonPrefix(prev, e.Topic)
		raw = binary.AppendUvarint(raw, uint64(shared))
		raw = appendString(raw, e.Topic[shared:])
		raw = appendString(raw, e.Pos.Epoch)
		raw = binary.AppendUvarint(raw, e.Pos.Seq)
		prev = e.Topic
	}
	if enc.EncodedLen(len(raw)) > MaxLen {
		return dst, ErrTooLarge
	}
	return enc.AppendEncode(dst, raw), nil
}

// Decode parses a token. Any deviation from the format, including a
// non-canonical encoding, is ErrMalformed.
func Decode(s string) (map[string]message.Position, error) {
	entries, err := DecodeEntries(s)
	if err != nil {
		return nil, err
	}
	out := make(map[string]message.Position, len(entries))
	for _, e := range entries {
		out[e.Topic] = e.Pos
	}
	return out, nil
}

// DecodeEntries is Decode returning the entries in token (topic) order.
func DecodeEntries(s string) ([]Entry, error) {
	if len(s) == 0 || len(s) > MaxLen {
		return nil, fmt.Errorf("%w: length %d", ErrMalformed, len(s))
	}
	raw, err := enc.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64url", ErrMalformed)
	}
	r := reader{b: raw}
	if v := r.byte(); v != Version {
		return nil, fmt.Errorf("%w: version %d", ErrMalformed, v)
	}
	count := r.uvarint()
	if r.err != nil || count > MaxEntries {
		return nil, fmt.Errorf("%w: bad entry count", ErrMalformed)
	}
	entries := make([]Entry, 0, count)
	prev := ""
	for range count {
		shared := r.uvarint()
		suffix := r.bytes()
		epoch := r.bytes()
		seq := r.uvarint()
		if r.err != nil {
			return nil, r.err
		}
		if shared > uint64(len(prev)) {
			return nil, fmt.Errorf("%w: shared prefix longer than the previous topic", ErrMalformed)
		}
		e := Entry{Topic: prev[:shared] + string(suffix), Pos: message.Position{Epoch: string(epoch), Seq: seq}}
		if err := check(e); err != nil {
			return nil, err
		}
		entries = append(entries, e)
		prev = e.Topic
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(r.b))
	}
	// One encoding per value: whatever Encode would write differently
	// (order, shared prefix, varint length) is refused.
	again, err := AppendEntries(nil, entries)
	if err != nil || string(again) != s {
		return nil, fmt.Errorf("%w: not in canonical form", ErrMalformed)
	}
	return entries, nil
}

func check(e Entry) error {
	if err := topic.ValidName(e.Topic); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(e.Pos.Epoch) > MaxEpochLen || !utf8.ValidString(e.Pos.Epoch) {
		return fmt.Errorf("%w: bad epoch for %q", ErrMalformed, e.Topic)
	}
	return nil
}

func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// reader consumes a decoded token, remembering the first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrMalformed, what)
	}
	r.b = nil
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.fail("empty")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.fail("string runs past the end")
		return nil
	}
	s := r.b[:n]
	r.b = r.b[n:]
	return bytes.Clone(s)
}
