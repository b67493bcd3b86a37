package wsframe

import (
	"compress/flate"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
)

// DeflateResponse is the Sec-WebSocket-Extensions value sent when
// permessage-deflate is accepted. Disabling context takeover both ways keeps
// no compression state per connection (idle memory) and makes compressed
// broadcast payloads identical for every subscriber.
const DeflateResponse = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

// NegotiateDeflate picks the first acceptable permessage-deflate offer from
// the client's Sec-WebSocket-Extensions header values and returns the
// response header value. Offers with unknown, duplicate or malformed
// parameters are skipped, as are offers limiting our window
// (server_max_window_bits < 15): compress/flate always uses a 32 KiB window.
// An offer with server_max_window_bits=15 is accepted and the parameter is
// echoed, as RFC 7692 section 7.1.2.1 requires.
func NegotiateDeflate(headers []string) (response string, ok bool) {
	for _, h := range headers {
		for _, ext := range splitQuoted(h, ',') {
			if resp, ok := acceptDeflateOffer(ext); ok {
				return resp, true
			}
		}
	}
	return "", false
}

func acceptDeflateOffer(ext string) (string, bool) {
	parts := splitQuoted(ext, ';')
	if !strings.EqualFold(strings.TrimSpace(parts[0]), "permessage-deflate") {
		return "", false
	}
	seen := make(map[string]bool, len(parts))
	echoServerBits := false
	for _, param := range parts[1:] {
		name, value, hasValue := strings.Cut(param, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" || seen[name] {
			return "", false // RFC 7692 section 5: decline duplicates
		}
		seen[name] = true
		if hasValue {
			var ok bool
			if value, ok = paramValue(value); !ok {
				return "", false
			}
		}
		switch name {
		case "server_no_context_takeover", "client_no_context_takeover":
			if hasValue {
				return "", false
			}
		case "server_max_window_bits":
			if !hasValue || !validWindowBits(value) || value != "15" {
				return "", false
			}
			echoServerBits = true
		case "client_max_window_bits":
			// A bare parameter only says the client supports it; a value is
			// a hint. Either way we inflate with a full window, so omitting
			// it from the response is correct.
			if hasValue && !validWindowBits(value) {
				return "", false
			}
		default:
			return "", false
		}
	}
	if echoServerBits {
		return DeflateResponse + "; server_max_window_bits=15", true
	}
	return DeflateResponse, true
}

// paramValue unquotes a token or quoted-string parameter value. Escapes are
// rejected: no valid permessage-deflate value needs one.
func paramValue(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	if v == "" || strings.ContainsAny(v, "\"\\ \t") {
		return "", false
	}
	return v, true
}

func validWindowBits(v string) bool {
	if len(v) == 0 || len(v) > 2 || v[0] == '0' {
		return false // digits only, no leading zeros (RFC 7692 section 7.1.2)
	}
	n, err := strconv.Atoi(v)
	return err == nil && n >= 8 && n <= 15
}

// splitQuoted splits s on sep outside double-quoted strings.
func splitQuoted(s string, sep byte) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case sep:
			if !quoted {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// compressLevel favours latency: messages are small and frequent, and with no
// context takeover higher levels gain little.
const compressLevel = flate.BestSpeed

// compressor adapts a pooled flate.Writer to append to a caller's slice.
type compressor struct {
	fw  *flate.Writer
	out []byte
}

func (c *compressor) Write(p []byte) (int, error) {
	c.out = append(c.out, p...)
	return len(p), nil
}

var compressorPool = sync.Pool{New: func() any {
	c := new(compressor)
	c.fw, _ = flate.NewWriter(c, compressLevel) // error only for a bad level
	return c
}}

// deflateTail is the empty stored block that ends a sync flush. Senders strip
// it (RFC 7692 section 7.2.1) and receivers put it back.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff}

// Compress appends the permessage-deflate payload of a whole message to dst.
// Every message is compressed independently (no context takeover), so the
// result can be sent unchanged to every subscriber, in a frame with RSV1 set.
func Compress(dst, payload []byte) []byte {
	c := compressorPool.Get().(*compressor)
	c.out = dst
	c.fw.Reset(c)
	// Writes to c cannot fail, so neither can the flate writer.
	_, _ = c.fw.Write(payload)
	_ = c.fw.Flush()
	out := c.out
	c.out = nil // don't keep the caller's buffer alive in the pool
	compressorPool.Put(c)
	// Flush always ends with the sync marker; strip it.
	return out[:len(out)-len(deflateTail)]
}

// inflateInput feeds the message payload and then inflateEOF to the flate
// reader. It implements io.ByteReader so flate.Reader does not wrap it in a
// bufio.Reader (an allocation per message).
type inflateInput struct {
	p, tail []byte
}

// inflateEOF restores the stripped sync marker and adds a final empty block,
// so the flate reader reports a clean io.EOF at the end of the message.
var inflateEOF = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

func (in *inflateInput) Read(b []byte) (int, error) {
	if len(in.p) == 0 {
		in.p, in.tail = in.tail, nil
		if len(in.p) == 0 {
			return 0, io.EOF
		}
	}
	n := copy(b, in.p)
	in.p = in.p[n:]
	return n, nil
}

func (in *inflateInput) ReadByte() (byte, error) {
	if len(in.p) == 0 {
		in.p, in.tail = in.tail, nil
		if len(in.p) == 0 {
			return 0, io.EOF
		}
	}
	b := in.p[0]
	in.p = in.p[1:]
	return b, nil
}

type inflater struct {
	in inflateInput
	fr io.ReadCloser // also a flate.Resetter
}

var inflaterPool = sync.Pool{New: func() any {
	f := new(inflater)
	f.fr = flate.NewReader(&f.in)
	return f
}}

// Inflate appends the decompressed form of a permessage-deflate payload to
// dst. Output beyond maxSize bytes is never produced: the result buffer is capped
// at maxSize+1, so a zip bomb costs at most that much memory, and ErrTooBig is
// returned. Malformed input yields an error wrapping ErrCorrupt. On error dst
// is returned with its original length.
func Inflate(dst, payload []byte, maxSize int) ([]byte, error) {
	f := inflaterPool.Get().(*inflater)
	defer inflaterPool.Put(f)
	f.in = inflateInput{p: payload, tail: inflateEOF}
	defer func() { f.in = inflateInput{} }() // drop references to payload
	if err := f.fr.(flate.Resetter).Reset(&f.in, nil); err != nil {
		return dst, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	start := len(dst)
	maxSize = min(max(maxSize, 0), math.MaxInt-1-start) // keep limit from overflowing
	limit := start + maxSize + 1                        // one byte more than allowed detects overflow
	for {
		if len(dst) == cap(dst) {
			dst = growCapped(dst, 2*len(payload), limit)
		}
		n, err := f.fr.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if len(dst)-start > maxSize {
			return dst[:start], ErrTooBig
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst[:start], fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
	}
}

// growCapped returns b with spare capacity: at least double, at least hint
// and 512 bytes, but never more than limit in total. It needs len(b) < limit.
func growCapped(b []byte, hint, limit int) []byte {
	c := max(2*cap(b), len(b)+hint, len(b)+512)
	c = min(c, limit)
	nb := make([]byte, len(b), c)
	copy(nb, b)
	return nb
}
