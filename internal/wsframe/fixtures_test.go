package wsframe

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"strings"
)

// This file holds the raw-frame fixture table shared by the table tests,
// the chunking tests and the fuzz seed corpus.

type msg struct {
	op      byte
	payload string
}

type fixture struct {
	name    string
	wire    []byte
	deflate bool
	max     int    // MaxMessage; 0 = default
	client  bool   // parse with ClientReader (unmasked frames)
	want    []msg  // messages delivered, in order (also before an error)
	code    uint16 // expected CloseError code; 0 = no error
}

var testKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// mf builds a masked frame.
func mf(op byte, fin bool, payload string) []byte {
	return AppendMaskedFrame(nil, op, fin, testKey, []byte(payload))
}

// uf builds an unmasked frame.
func uf(op byte, fin bool, payload string) []byte {
	b := AppendHeader(nil, op, fin, false, len(payload))
	return append(b, payload...)
}

// withBits ORs bits into the first header byte.
func withBits(frame []byte, bits byte) []byte {
	frame[0] |= bits
	return frame
}

// cmf builds a masked, compressed data frame (RSV1 set when first).
func cmf(op byte, fin bool, data string) []byte {
	f := AppendMaskedFrame(nil, op, fin, testKey, Compress(nil, []byte(data)))
	if op != OpContinuation {
		f[0] |= bitRSV1
	}
	return f
}

// maskedHeader builds a masked header with an explicit length encoding:
// lenBytes 0 (7-bit), 2 or 8, allowing non-minimal and invalid lengths.
func maskedHeader(b0 byte, lenBytes int, n uint64) []byte {
	var h []byte
	switch lenBytes {
	case 0:
		h = []byte{b0, bitMask | byte(n)}
	case 2:
		h = binary.BigEndian.AppendUint16([]byte{b0, bitMask | 126}, uint16(n))
	case 8:
		h = binary.BigEndian.AppendUint64([]byte{b0, bitMask | 127}, n)
	}
	return append(h, testKey[:]...)
}

// maskPayload masks data with testKey, as the payload after maskedHeader.
func maskPayload(data string) []byte {
	b := []byte(data)
	maskBytes(testKey, 0, b)
	return b
}

func closePayload(code uint16, reason string) string {
	return string(binary.BigEndian.AppendUint16(nil, code)) + reason
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

var (
	big64K  = strings.Repeat("0123456789abcdef", 4096) // 65536 bytes: 8-byte length
	big100K = strings.Repeat("x", 100_000)
	zeros1M = strings.Repeat("\x00", 1<<20)
)

func fixtures() []fixture {
	fs := []fixture{
		// RFC 6455 section 5.7 examples.
		{name: "rfc masked Hello", wire: []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58},
			want: []msg{{OpText, "Hello"}}},
		{name: "rfc unmasked Hello (client)", client: true, wire: []byte{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f},
			want: []msg{{OpText, "Hello"}}},
		{name: "rfc fragmented (client)", client: true, wire: []byte{0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f},
			want: []msg{{OpText, "Hello"}}},
		{name: "rfc unmasked ping (client)", client: true, wire: []byte{0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f},
			want: []msg{{OpPing, "Hello"}}},
		{name: "rfc masked pong", wire: []byte{0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58},
			want: []msg{{OpPong, "Hello"}}},

		{name: "binary", wire: mf(OpBinary, true, "\x00\x01\xff"), want: []msg{{OpBinary, "\x00\x01\xff"}}},
		{name: "empty text", wire: mf(OpText, true, ""), want: []msg{{OpText, ""}}},
		{name: "empty binary then ping", wire: cat(mf(OpBinary, true, ""), mf(OpPing, true, "")),
			want: []msg{{OpBinary, ""}, {OpPing, ""}}},
		{name: "several messages", wire: cat(mf(OpText, true, "a"), mf(OpBinary, true, "bc"), mf(OpPong, true, "p"), mf(OpText, true, "déjà vu")),
			want: []msg{{OpText, "a"}, {OpBinary, "bc"}, {OpPong, "p"}, {OpText, "déjà vu"}}},
		{name: "ping 125", wire: mf(OpPing, true, strings.Repeat("p", 125)), want: []msg{{OpPing, strings.Repeat("p", 125)}}},
		{name: "fragmented with interleaved control",
			wire: cat(mf(OpText, false, "Hel"), mf(OpPing, true, "1"), mf(OpContinuation, false, "lo, "),
				mf(OpPong, true, "2"), mf(OpContinuation, false, ""), mf(OpContinuation, true, "wörld")),
			want: []msg{{OpPing, "1"}, {OpPong, "2"}, {OpText, "Hello, wörld"}}},
		{name: "fragmented binary empty fragments", wire: cat(mf(OpBinary, false, ""), mf(OpContinuation, false, ""), mf(OpContinuation, true, "")),
			want: []msg{{OpBinary, ""}}},
		{name: "utf8 split across fragments", wire: cat(mf(OpText, false, "\xe2"), mf(OpContinuation, false, "\x82"), mf(OpContinuation, false, "\xac\xf0\x9d"), mf(OpContinuation, true, "\x84\x9e!")),
			want: []msg{{OpText, "€𝄞!"}}},
		{name: "126 bytes (16-bit length)", wire: mf(OpBinary, true, big64K[:126]), want: []msg{{OpBinary, big64K[:126]}}},
		{name: "65535 bytes (16-bit length max)", wire: mf(OpText, true, big64K[:65535]), want: []msg{{OpText, big64K[:65535]}}},
		{name: "64 KiB (64-bit length)", wire: mf(OpText, true, big64K), want: []msg{{OpText, big64K}}},
		{name: "100000 bytes fragmented", max: 200_000,
			wire: cat(mf(OpBinary, false, big100K[:70_000]), mf(OpPing, true, "x"), mf(OpContinuation, true, big100K[70_000:])),
			want: []msg{{OpPing, "x"}, {OpBinary, big100K}}},
		{name: "non-minimal 16-bit length", wire: cat(maskedHeader(0x81, 2, 2), maskPayload("hi")), want: []msg{{OpText, "hi"}}},
		{name: "non-minimal 64-bit length", wire: cat(maskedHeader(0x82, 8, 2), maskPayload("hi")), want: []msg{{OpBinary, "hi"}}},
		{name: "exactly max", max: 10, wire: cat(mf(OpText, false, "12345"), mf(OpContinuation, true, "67890")),
			want: []msg{{OpText, "1234567890"}}},

		// Close frames.
		{name: "close empty", wire: mf(OpClose, true, ""), want: []msg{{OpClose, ""}}},
		{name: "close 1000 reason", wire: mf(OpClose, true, closePayload(1000, "bye ✓")), want: []msg{{OpClose, closePayload(1000, "bye ✓")}}},
		{name: "close 1 byte", wire: mf(OpClose, true, "\x03"), code: CloseProtocolError},
		{name: "close bad utf8 reason", wire: mf(OpClose, true, closePayload(1000, "\xc3\x28")), code: CloseInvalidPayload},

		// Frame-level violations.
		{name: "unmasked client frame", wire: uf(OpText, true, "hi"), code: CloseProtocolError},
		{name: "masked server frame", client: true, wire: mf(OpText, true, "hi"), code: CloseProtocolError},
		{name: "rsv2", wire: withBits(mf(OpText, true, "hi"), bitRSV2), code: CloseProtocolError},
		{name: "rsv3", wire: withBits(mf(OpText, true, "hi"), bitRSV3), code: CloseProtocolError},
		{name: "rsv1 without deflate", wire: withBits(mf(OpText, true, "hi"), bitRSV1), code: CloseProtocolError},
		{name: "rsv1 on continuation", deflate: true, wire: cat(cmf(OpText, false, "a"), withBits(mf(OpContinuation, true, "b"), bitRSV1)), code: CloseProtocolError},
		{name: "rsv1 on ping", deflate: true, wire: withBits(mf(OpPing, true, ""), bitRSV1), code: CloseProtocolError},
		{name: "ping 126 bytes", wire: mf(OpPing, true, strings.Repeat("p", 126)), code: CloseProtocolError},
		{name: "pong 64-bit length", wire: cat(maskedHeader(0x8A, 8, 1), maskPayload("p")), code: CloseProtocolError},
		{name: "close 16-bit length", wire: cat(maskedHeader(0x88, 2, 2), maskPayload("\x03\xe8")), code: CloseProtocolError},
		{name: "fragmented ping", wire: mf(OpPing, false, "x"), code: CloseProtocolError},
		{name: "fragmented close", wire: mf(OpClose, false, ""), code: CloseProtocolError},
		{name: "continuation without start", wire: mf(OpContinuation, true, "x"), code: CloseProtocolError},
		{name: "continuation after complete message", wire: cat(mf(OpText, true, "a"), mf(OpContinuation, true, "b")),
			want: []msg{{OpText, "a"}}, code: CloseProtocolError},
		{name: "text inside fragmented message", wire: cat(mf(OpText, false, "a"), mf(OpText, true, "b")), code: CloseProtocolError},
		{name: "binary inside fragmented message after ping", wire: cat(mf(OpBinary, false, "a"), mf(OpPing, true, ""), mf(OpBinary, true, "b")),
			want: []msg{{OpPing, ""}}, code: CloseProtocolError},
		{name: "64-bit length msb set", wire: maskedHeader(0x82, 8, 1<<63), code: CloseProtocolError},
		{name: "64-bit length all ones", wire: maskedHeader(0x82, 8, ^uint64(0)), code: CloseProtocolError},
		{name: "error after valid messages", wire: cat(mf(OpPing, true, "p"), mf(OpText, true, "t"), uf(OpText, true, "x")),
			want: []msg{{OpPing, "p"}, {OpText, "t"}}, code: CloseProtocolError},

		// Size limits: rejected from the header alone, before any payload.
		{name: "too big header only", wire: maskedHeader(0x81, 8, 1<<40), code: CloseMessageTooBig},
		{name: "64 KiB + 1 header only", wire: maskedHeader(0x82, 8, 65537), code: CloseMessageTooBig},
		{name: "too big small max", max: 10, wire: mf(OpText, true, "12345678901"), code: CloseMessageTooBig},
		{name: "too big across fragments", max: 10, wire: cat(mf(OpText, false, "123456"), mf(OpPing, true, ""), maskedHeader(0x80, 0, 5)),
			want: []msg{{OpPing, ""}}, code: CloseMessageTooBig},

		// UTF-8.
		{name: "invalid utf8", wire: mf(OpText, true, "ab\xffcd"), code: CloseInvalidPayload},
		{name: "overlong", wire: mf(OpText, true, "\xc0\xaf"), code: CloseInvalidPayload},
		{name: "surrogate", wire: mf(OpText, true, "\xed\xa0\x80"), code: CloseInvalidPayload},
		{name: "above U+10FFFF", wire: mf(OpText, true, "\xf4\x90\x80\x80"), code: CloseInvalidPayload},
		{name: "truncated at end of message", wire: mf(OpText, true, "a\xe2\x82"), code: CloseInvalidPayload},
		{name: "truncated at end of fragments", wire: cat(mf(OpText, false, "a\xe2"), mf(OpContinuation, true, "\x82")), code: CloseInvalidPayload},
		{name: "invalid across fragment boundary", wire: cat(mf(OpText, false, "\xe2\x82"), mf(OpContinuation, true, "(")), code: CloseInvalidPayload},
		{name: "invalid in first fragment fails early", wire: mf(OpText, false, "ok\xe0\x80"), code: CloseInvalidPayload},
		{name: "invalid in second fragment fails early", wire: cat(mf(OpText, false, "\xce"), mf(OpPing, true, ""), mf(OpContinuation, false, "\xff")),
			want: []msg{{OpPing, ""}}, code: CloseInvalidPayload},
		{name: "invalid utf8 in binary is fine", wire: mf(OpBinary, true, "\xff\xfe"), want: []msg{{OpBinary, "\xff\xfe"}}},

		// permessage-deflate.
		{name: "deflate text", deflate: true, wire: cmf(OpText, true, "hello hello hello"), want: []msg{{OpText, "hello hello hello"}}},
		{name: "deflate empty", deflate: true, wire: cmf(OpBinary, true, ""), want: []msg{{OpBinary, ""}}},
		{name: "deflate uncompressed message allowed", deflate: true, wire: mf(OpText, true, "plain"), want: []msg{{OpText, "plain"}}},
		{name: "deflate 64 KiB", deflate: true, wire: cmf(OpText, true, big64K), want: []msg{{OpText, big64K}}},
		{name: "deflate fragmented with ping", deflate: true, wire: func() []byte {
			c := Compress(nil, []byte("fragmented compressed message"))
			f1 := withBits(AppendMaskedFrame(nil, OpText, false, testKey, c[:5]), bitRSV1)
			return cat(f1, mf(OpPing, true, "p"), AppendMaskedFrame(nil, OpContinuation, true, testKey, c[5:]))
		}(), want: []msg{{OpPing, "p"}, {OpText, "fragmented compressed message"}}},
		{name: "deflate zip bomb", deflate: true, wire: cmf(OpBinary, true, zeros1M), code: CloseMessageTooBig},
		{name: "deflate just over max", deflate: true, max: 100, wire: cmf(OpBinary, true, strings.Repeat("a", 101)), code: CloseMessageTooBig},
		{name: "deflate exactly max", deflate: true, max: 100, wire: cmf(OpBinary, true, strings.Repeat("a", 100)), want: []msg{{OpBinary, strings.Repeat("a", 100)}}},
		{name: "deflate corrupt", deflate: true, wire: withBits(mf(OpBinary, true, "\xff\xff\xff"), bitRSV1), code: CloseInvalidPayload},
		{name: "deflate invalid utf8 text", deflate: true, wire: cmf(OpText, true, "ok\xff"), code: CloseInvalidPayload},
		{name: "deflate invalid utf8 binary fine", deflate: true, wire: cmf(OpBinary, true, "ok\xff"), want: []msg{{OpBinary, "ok\xff"}}},
	}

	for op := byte(0x3); op <= 0xF; op++ {
		if op == OpClose || op == OpPing || op == OpPong {
			continue
		}
		fs = append(fs, fixture{name: "reserved opcode " + string("0123456789ABCDEF"[op]),
			wire: mf(op, true, ""), code: CloseProtocolError})
	}
	for _, code := range []uint16{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4000, 4999} {
		p := closePayload(code, "r")
		fs = append(fs, fixture{name: "close code ok " + strconv.Itoa(int(code)), wire: mf(OpClose, true, p), want: []msg{{OpClose, p}}})
	}
	for _, code := range []uint16{0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535} {
		fs = append(fs, fixture{name: "close code bad " + strconv.Itoa(int(code)), wire: mf(OpClose, true, closePayload(code, "")), code: CloseProtocolError})
	}
	return fs
}
