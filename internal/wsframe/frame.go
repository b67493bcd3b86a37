package wsframe

import "encoding/binary"

// Opcodes (RFC 6455 section 5.2).
const (
	OpContinuation byte = 0x0
	OpText         byte = 0x1
	OpBinary       byte = 0x2
	OpClose        byte = 0x8
	OpPing         byte = 0x9
	OpPong         byte = 0xA
)

// Wire-format bits and limits.
const (
	bitFin  = 0x80
	bitRSV1 = 0x40
	bitRSV2 = 0x20
	bitRSV3 = 0x10
	bitMask = 0x80

	// MaxHeaderLen is the longest possible frame header: 2 bytes, an 8-byte
	// extended length and a 4-byte masking key.
	MaxHeaderLen = 14
	// MaxControlPayload is the largest payload a control frame may carry.
	MaxControlPayload = 125
)

func isControl(op byte) bool { return op&0x8 != 0 }

// headerSize is the full header length implied by the first two bytes.
func headerSize(b0, b1 byte) int {
	n := 2
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&bitMask != 0 {
		n += 4
	}
	return n
}

// maskBytes XORs b with key, starting at key index pos (0..3), and returns
// the key index for the byte following b. Masking is its own inverse.
// Eight bytes are processed per step because this runs over every payload
// byte a client sends.
func maskBytes(key [4]byte, pos int, b []byte) int {
	if len(b) >= 8 {
		var k [4]byte
		for i := range k {
			k[i] = key[(pos+i)&3]
		}
		k32 := uint64(binary.LittleEndian.Uint32(k[:]))
		k64 := k32 | k32<<32
		for len(b) >= 8 {
			binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k64)
			b = b[8:]
		}
	}
	for i := range b {
		b[i] ^= key[pos&3]
		pos++
	}
	return pos & 3
}
