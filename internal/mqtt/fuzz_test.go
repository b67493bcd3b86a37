package mqtt

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"
)

// FuzzReadPacket drives the whole packet-reading boundary, our framing
// and the codec's decoding, with arbitrary bytes split at arbitrary
// places, for each protocol version.
//
// decode recovers from a panic in the codec (defence in depth), so the
// target calls the codec without that net and fails on any panic except
// the one known and documented in docs/adr/0006-mqtt-codec.md (a 5.0
// SUBSCRIBE whose last filter has no options byte). It also checks that
// framing does not depend on how the bytes are split, and that decode
// never panics at all.
func FuzzReadPacket(f *testing.F) {
	for _, p := range seedPackets(f) {
		f.Add(p, uint8(1), uint8(4))
		f.Add(p, uint8(7), uint8(5))
	}
	f.Add(bytes.Join(seedPackets(f), nil), uint8(3), uint8(5))
	// Truncated 5.0 SUBSCRIBE (the known codec panic) and a few malformed
	// headers.
	f.Add([]byte{0x82, 0x06, 0x00, 0x01, 0x00, 0x00, 0x01, 'a'}, uint8(0), uint8(5))
	f.Add([]byte{0x30, 0x80, 0x80, 0x80, 0x80, 0x01}, uint8(2), uint8(4))
	f.Add([]byte{0x10, 0xff, 0xff, 0xff, 0x7f}, uint8(1), uint8(4))
	f.Fuzz(func(t *testing.T, data []byte, split, ver uint8) {
		v := []byte{3, 4, 5}[ver%3]
		size := int(split%31) + 1
		r := &reader{max: 1 << 16}
		var chunked []framed
		var chunkErr error
		for i := 0; i < len(data) && chunkErr == nil; i += size {
			chunkErr = r.feed(data[i:min(i+size, len(data))], func(first byte, body []byte) error {
				chunked = append(chunked, framed{first, bytes.Clone(body)})
				checkDecode(t, v, first, body)
				return nil
			})
		}
		whole, wholeErr := feedAll(&reader{max: 1 << 16}, [][]byte{data})
		if (chunkErr == nil) != (wholeErr == nil) || fmt.Sprint(chunked) != fmt.Sprint(whole) {
			t.Fatalf("framing depends on the split: %v/%v, %d/%d packets", chunkErr, wholeErr, len(chunked), len(whole))
		}
	})
}

// checkDecode decodes one framed packet with and without the safety net.
func checkDecode(t *testing.T, ver, first byte, body []byte) {
	t.Helper()
	func() {
		defer func() {
			if r := recover(); r != nil {
				if ver == 5 && first>>4 == packets.Subscribe {
					return // known: docs/adr/0006-mqtt-codec.md
				}
				t.Fatalf("codec panic decoding % x (version %d): %v", append([]byte{first}, body...), ver, r)
			}
		}()
		decodeUnrecovered(ver, first, bytes.Clone(body))
	}()
	// The boundary itself never panics.
	decode(ver, first, bytes.Clone(body))
}
