package mqtt

import "errors"

// Framing errors. The codec (mochi-mqtt's packets) decodes a packet from
// its fixed header and body; finding where packets begin and end in a byte
// stream is ours.
var (
	errMalformedLength = errors.New("mqtt: malformed remaining length")
	errTooLarge        = errors.New("mqtt: packet larger than the maximum packet size")
)

// reader splits a byte stream into MQTT packets. Bytes may arrive split
// anywhere: a TCP read or a WebSocket message can hold part of a packet or
// several. The size limit is checked as soon as the fixed header is
// complete, before any of the body is buffered, so an oversized packet
// costs at most its five header bytes; the body buffer is allocated once,
// at its exact size.
type reader struct {
	max  int // largest whole packet, fixed header included; <= 0: no limit
	hdr  [5]byte
	hn   int    // header bytes collected
	body []byte // the body being collected, once the header is complete
	n    int    // body bytes collected
}

// buffered reports how many bytes of an incomplete packet are held.
func (r *reader) buffered() int { return r.hn + r.n }

// feed consumes p, calling fn for each complete packet with its first
// byte and its body. Each body is a fresh slice that fn may keep (the
// codec's strings point into it); an empty body is nil. An error from fn
// or from the framing stops feeding, and the reader must not be fed
// again.
func (r *reader) feed(p []byte, fn func(first byte, body []byte) error) error {
	for len(p) > 0 {
		if r.body != nil {
			k := copy(r.body[r.n:], p)
			r.n += k
			p = p[k:]
			if r.n < len(r.body) {
				return nil
			}
			first, body := r.hdr[0], r.body
			r.hn, r.body, r.n = 0, nil, 0
			if err := fn(first, body); err != nil {
				return err
			}
			continue
		}
		b := p[0]
		p = p[1:]
		r.hdr[r.hn] = b
		r.hn++
		if r.hn == 1 || b&0x80 != 0 {
			if r.hn == 5 { // a continuation bit on the fourth length byte
				return errMalformedLength
			}
			continue
		}
		// The remaining length (a Variable Byte Integer, at most four
		// bytes, so at most 268,435,455) is complete.
		rem, shift := 0, 0
		for _, c := range r.hdr[1:r.hn] {
			rem |= int(c&0x7f) << shift
			shift += 7
		}
		if r.max > 0 && r.hn+rem > r.max {
			return errTooLarge
		}
		if rem == 0 {
			first := r.hdr[0]
			r.hn = 0
			if err := fn(first, nil); err != nil {
				return err
			}
			continue
		}
		r.body = make([]byte, rem)
	}
	return nil
}
