package wsframe

import "unicode/utf8"

// utf8Stream validates UTF-8 delivered in pieces (fragments, or parts of a
// frame split across reads) so that an invalid sequence fails as soon as its
// bytes arrive, not when the message completes. Only an incomplete sequence
// at the end of a piece is carried over; everything else goes through
// utf8.Valid, which is much faster than a byte-at-a-time automaton.
type utf8Stream struct {
	pend [utf8.UTFMax]byte
	n    uint8
}

// seqLen is the encoded length announced by lead byte b, or 0 if b cannot
// start a sequence.
func seqLen(b byte) int {
	switch {
	case b < 0x80:
		return 1
	case b < 0xC2:
		return 0
	case b < 0xE0:
		return 2
	case b < 0xF0:
		return 3
	case b < 0xF5:
		return 4
	}
	return 0
}

// validPrefix reports whether b (shorter than its sequence) can still be
// completed into a valid encoding. This rejects overlongs, surrogates and
// values above U+10FFFF at the earliest byte, like utf8.Valid would.
func validPrefix(b []byte) bool {
	if seqLen(b[0]) <= len(b) {
		return false
	}
	if len(b) >= 2 {
		lo, hi := byte(0x80), byte(0xBF)
		switch b[0] {
		case 0xE0:
			lo = 0xA0
		case 0xED:
			hi = 0x9F
		case 0xF0:
			lo = 0x90
		case 0xF4:
			hi = 0x8F
		}
		if b[1] < lo || b[1] > hi {
			return false
		}
	}
	if len(b) == 3 && b[2]&0xC0 != 0x80 {
		return false
	}
	return true
}

// write validates the next piece and reports whether the text so far is a
// valid UTF-8 prefix.
func (s *utf8Stream) write(p []byte) bool {
	if s.n > 0 {
		want := seqLen(s.pend[0])
		k := copy(s.pend[s.n:want], p)
		s.n += uint8(k)
		p = p[k:]
		if int(s.n) < want {
			return validPrefix(s.pend[:s.n])
		}
		if !utf8.Valid(s.pend[:s.n]) {
			return false
		}
		s.n = 0
	}
	// Find a trailing sequence that is cut short; at most 3 bytes back.
	body := p
	for i := len(p) - 1; i >= 0 && i >= len(p)-(utf8.UTFMax-1); i-- {
		if p[i]&0xC0 == 0x80 {
			continue // continuation byte: keep looking for the lead
		}
		if l := seqLen(p[i]); l > len(p)-i {
			if !validPrefix(p[i:]) {
				return false
			}
			body = p[:i]
			s.n = uint8(copy(s.pend[:], p[i:]))
		}
		break
	}
	return utf8.Valid(body)
}

// complete reports whether no sequence is left unfinished; call it at the
// end of the message.
func (s *utf8Stream) complete() bool { return s.n == 0 }
