package wsframe

import (
	"encoding/binary"
	"errors"
	"sync"
	"unicode/utf8"
)

// DefaultMaxMessage is the message size limit used when MaxMessage is 0.
const DefaultMaxMessage = 64 << 10

// Reader is an incremental parser for the frames a client sends to the
// server; they must be masked. The zero value is ready to use. A Reader is
// not safe for concurrent use.
type Reader struct {
	// MaxMessage bounds a reassembled data message, both as received and
	// after decompression; larger messages fail with CloseMessageTooBig.
	// Zero or negative means DefaultMaxMessage.
	MaxMessage int
	// Deflate reports that permessage-deflate was negotiated (no context
	// takeover both ways), which allows RSV1 on the first frame of a data
	// message.
	Deflate bool

	p parser
}

// Feed consumes p, any chunk of the byte stream, and calls fn for every
// complete message in stream order: data messages (OpText, OpBinary) after
// reassembly and decompression, and control frames (OpPing, OpPong, OpClose)
// as soon as they complete, including between fragments of a data message.
// For OpClose the payload is the raw, already validated close payload; see
// ParseClosePayload.
//
// Feed unmasks p in place, so the caller must not rely on its contents
// afterwards. payload is only valid during the call (it may alias p or an
// internal buffer); fn must copy what it keeps and must not call Feed.
// Bytes of an incomplete frame are kept until the next call.
//
// A protocol violation returns a *CloseError. If fn returns an error, Feed
// stops and returns it. Either way the Reader is dead afterwards: later calls
// return the same error. After OpClose the caller should stop feeding.
func (r *Reader) Feed(p []byte, fn func(op byte, payload []byte) error) error {
	return r.p.feed(p, fn, config{max: r.MaxMessage, deflate: r.Deflate, masked: true})
}

// Buffered reports the bytes held for an incomplete frame or message. It is
// 0, and no buffer is allocated, whenever input ended on a message boundary.
func (r *Reader) Buffered() int { return r.p.buffered() }

// ClientReader parses the unmasked frames a server sends, for tests and load
// tools. It applies the same rules as Reader except that masked frames are a
// protocol error.
type ClientReader struct {
	MaxMessage int  // see Reader.MaxMessage
	Deflate    bool // see Reader.Deflate

	p parser
}

// Feed is Reader.Feed for server-to-client frames. It does not modify p.
func (r *ClientReader) Feed(p []byte, fn func(op byte, payload []byte) error) error {
	return r.p.feed(p, fn, config{max: r.MaxMessage, deflate: r.Deflate, masked: false})
}

// Buffered is Reader.Buffered.
func (r *ClientReader) Buffered() int { return r.p.buffered() }

type config struct {
	max     int
	deflate bool
	masked  bool // frames must be masked (server side) or must not be
}

// parser holds the state shared by Reader and ClientReader. Fixed-size arrays
// cover the partial header and a partial control frame so that neither needs
// an allocation; only message data uses the heap, and only while pending.
type parser struct {
	err       error
	buf       []byte // data of the message in progress; nil when none is buffered
	msgLen    int    // declared payload bytes of the message so far
	remaining int    // payload bytes of the current frame not yet read

	ctl  *[MaxControlPayload]byte // only while a control frame spans reads: idle parsers stay small
	hdr  [MaxHeaderLen]byte       // after ctl, so the byte fields pack: a Reader is 112 bytes
	key  [4]byte
	utf8 utf8Stream

	hdrN      uint8 // bytes in hdr
	ctlN      uint8 // bytes in ctl
	keyPos    uint8 // mask key index of the next payload byte
	op        byte  // opcode of the current frame
	msgOp     byte  // OpText or OpBinary while a data message is open, else 0
	inPayload bool  // header done, reading payload
	fin       bool
	masked    bool
	compress  bool // the open data message has RSV1
}

func (s *parser) buffered() int { return int(s.hdrN) + int(s.ctlN) + len(s.buf) }

func (s *parser) fail(err error) error {
	s.err = err
	s.buf, s.ctl = nil, nil
	s.hdrN, s.ctlN = 0, 0
	return err
}

func (s *parser) feed(p []byte, fn func(byte, []byte) error, c config) error {
	if s.err != nil {
		return s.err
	}
	if c.max <= 0 {
		c.max = DefaultMaxMessage
	}
	for {
		var err error
		if !s.inPayload {
			if len(p) == 0 {
				return nil
			}
			if p, err = s.readHeader(p, c); err != nil {
				return s.fail(err)
			}
			if !s.inPayload {
				return nil // p ended inside the header
			}
		}
		// Zero-length frames complete here even if p is empty.
		if isControl(s.op) {
			p, err = s.readControl(p, fn)
		} else {
			p, err = s.readData(p, fn, c)
		}
		if err != nil {
			return s.fail(err)
		}
		if s.inPayload {
			return nil // p ended inside the payload
		}
	}
}

// readHeader consumes header bytes and starts the frame once the header is
// complete. Headers wholly inside p are parsed in place.
func (s *parser) readHeader(p []byte, c config) ([]byte, error) {
	if s.hdrN == 0 && len(p) >= 2 {
		if n := headerSize(p[0], p[1]); len(p) >= n {
			return p[n:], s.startFrame(p[:n], c)
		}
	}
	if s.hdrN < 2 {
		k := copy(s.hdr[s.hdrN:2], p)
		s.hdrN += uint8(k)
		p = p[k:]
		if s.hdrN < 2 {
			return p, nil
		}
		// Reject garbage as soon as the first two bytes are known.
		if err := s.checkStart(s.hdr[0], s.hdr[1], c); err != nil {
			return p, err
		}
	}
	n := headerSize(s.hdr[0], s.hdr[1])
	k := copy(s.hdr[s.hdrN:n], p)
	s.hdrN += uint8(k)
	p = p[k:]
	if int(s.hdrN) < n {
		return p, nil
	}
	s.hdrN = 0
	return p, s.startFrame(s.hdr[:n], c)
}

// checkStart applies every rule decidable from the first two header bytes.
func (s *parser) checkStart(b0, b1 byte, c config) error {
	op := b0 & 0x0F
	control := isControl(op)
	switch {
	case b0&(bitRSV2|bitRSV3) != 0:
		return protocolError("reserved bits RSV2/RSV3 set")
	case op > OpBinary && op < OpClose, op > OpPong:
		return protocolError("reserved opcode")
	case b1&bitMask == 0 && c.masked:
		return protocolError("client frame not masked")
	case b1&bitMask != 0 && !c.masked:
		return protocolError("server frame masked")
	case control && b0&bitFin == 0:
		return protocolError("fragmented control frame")
	case control && b1&0x7F > MaxControlPayload:
		return protocolError("control frame payload over 125 bytes")
	case b0&bitRSV1 != 0 && (!c.deflate || control || op == OpContinuation):
		return protocolError("unexpected RSV1 bit")
	case op == OpContinuation && s.msgOp == 0:
		return protocolError("continuation frame without a message")
	case !control && op != OpContinuation && s.msgOp != 0:
		return protocolError("new data frame inside a fragmented message")
	}
	return nil
}

// startFrame validates a complete header h and prepares to read the payload.
func (s *parser) startFrame(h []byte, c config) error {
	if err := s.checkStart(h[0], h[1], c); err != nil {
		return err
	}
	n, i := uint64(h[1]&0x7F), 2
	switch n {
	case 126:
		n, i = uint64(binary.BigEndian.Uint16(h[2:])), 4
	case 127:
		n, i = binary.BigEndian.Uint64(h[2:]), 10
		if n>>63 != 0 {
			return protocolError("payload length has most significant bit set")
		}
	}
	s.op = h[0] & 0x0F
	s.fin = h[0]&bitFin != 0
	s.masked = h[1]&bitMask != 0
	if s.masked {
		copy(s.key[:], h[i:])
	}
	s.keyPos = 0
	if !isControl(s.op) {
		if s.op != OpContinuation {
			s.msgOp, s.compress, s.msgLen = s.op, h[0]&bitRSV1 != 0, 0
			s.utf8 = utf8Stream{}
		}
		// Checked before anything is buffered, so a lying header costs nothing.
		if n > uint64(c.max-s.msgLen) {
			return tooBig("message exceeds size limit")
		}
		s.msgLen += int(n)
	}
	s.remaining = int(n)
	s.inPayload = true
	return nil
}

func (s *parser) unmask(b []byte) {
	if s.masked {
		s.keyPos = uint8(maskBytes(s.key, int(s.keyPos), b))
	}
}

// readControl collects a control frame payload (at most 125 bytes) and
// delivers it. Control frames never touch the message buffer, so they can
// arrive between fragments.
func (s *parser) readControl(p []byte, fn func(byte, []byte) error) ([]byte, error) {
	var payload []byte
	if s.ctlN == 0 && len(p) >= s.remaining {
		payload, p = p[:s.remaining], p[s.remaining:]
		s.unmask(payload)
	} else {
		if s.ctl == nil {
			s.ctl = new([MaxControlPayload]byte)
		}
		dst := s.ctl[s.ctlN : int(s.ctlN)+s.remaining]
		k := copy(dst, p)
		s.unmask(dst[:k])
		s.ctlN += uint8(k)
		s.remaining -= k
		p = p[k:]
		if s.remaining > 0 {
			return p, nil
		}
		payload = s.ctl[:s.ctlN]
	}
	s.remaining, s.ctlN, s.inPayload, s.ctl = 0, 0, false, nil
	if s.op == OpClose {
		if err := checkClosePayload(payload); err != nil {
			return p, err
		}
	}
	return p, fn(s.op, payload)
}

// readData consumes payload of a data frame. A final frame that is wholly in
// p and has nothing buffered before it is delivered from p without copying;
// everything else is appended to buf.
func (s *parser) readData(p []byte, fn func(byte, []byte) error, c config) ([]byte, error) {
	if s.fin && len(s.buf) == 0 && len(p) >= s.remaining {
		payload := p[:s.remaining]
		p = p[s.remaining:]
		s.remaining, s.inPayload = 0, false
		s.unmask(payload)
		if err := s.checkText(payload); err != nil {
			return p, err
		}
		return p, s.deliver(payload, fn, c)
	}
	k := min(s.remaining, len(p))
	if k > 0 {
		chunk := p[:k]
		p = p[k:]
		s.unmask(chunk)
		if err := s.checkText(chunk); err != nil {
			return p, err
		}
		s.appendBuf(chunk, c)
		s.remaining -= k
	}
	if s.remaining > 0 {
		return p, nil
	}
	s.inPayload = false
	if !s.fin {
		return p, nil
	}
	err := s.deliver(s.buf, fn, c)
	s.buf = nil // idle connections hold no buffer
	return p, err
}

// checkText validates uncompressed text as it arrives, so a bad sequence in
// an early fragment fails before the rest of the message is buffered.
// Compressed text can only be checked after inflating.
func (s *parser) checkText(b []byte) error {
	if s.msgOp == OpText && !s.compress && !s.utf8.write(b) {
		return invalidPayload("invalid UTF-8 in text message")
	}
	return nil
}

// appendBuf appends to buf, growing geometrically but never beyond what the
// message may still need, so capacity stays within MaxMessage.
func (s *parser) appendBuf(b []byte, c config) {
	if len(s.buf)+len(b) > cap(s.buf) {
		limit := c.max
		if s.fin {
			limit = s.msgLen // the final frame fixes the message size
		}
		s.buf = growCapped(s.buf, len(b), limit)
	}
	s.buf = append(s.buf, b...)
}

// scratchPool holds inflate output buffers; they are only needed while fn
// runs, so they are shared between connections instead of kept per Reader.
var scratchPool = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledScratch keeps occasional huge messages from pinning memory.
const maxPooledScratch = 64 << 10

// deliver ends the open data message and hands it to fn.
func (s *parser) deliver(payload []byte, fn func(byte, []byte) error, c config) error {
	op := s.msgOp
	s.msgOp, s.msgLen = 0, 0
	if !s.compress {
		if op == OpText && !s.utf8.complete() {
			return invalidPayload("invalid UTF-8 in text message")
		}
		return fn(op, payload)
	}
	bp := scratchPool.Get().(*[]byte)
	out, err := Inflate((*bp)[:0], payload, c.max)
	switch {
	case errors.Is(err, ErrTooBig):
		err = tooBig("decompressed message exceeds size limit")
	case err != nil:
		err = invalidPayload("invalid compressed data")
	case op == OpText && !utf8.Valid(out):
		err = invalidPayload("invalid UTF-8 in text message")
	default:
		err = fn(op, out)
	}
	if cap(out) <= maxPooledScratch {
		*bp = out[:0]
		scratchPool.Put(bp)
	}
	return err
}
