package stomp_test

import (
	"testing"

	"github.com/heraldhq/herald/internal/stomp"
	"github.com/heraldhq/herald/internal/stomp/stomptest"
)

// FuzzParse checks the parser on any input, split anywhere: it never
// panics, never holds more than one bounded frame, gives the same result
// however the stream is cut, and every frame it reads encodes back to
// itself.
func FuzzParse(f *testing.F) {
	for _, fx := range stomptest.Fixtures {
		f.Add([]byte(fx.Raw), uint16(len(fx.Raw)/2), uint8(fx.Version))
	}
	lim := stomp.Limits{MaxHeaders: 8, MaxHeaderSize: 128, MaxBody: 256}
	f.Fuzz(func(t *testing.T, data []byte, split uint16, version uint8) {
		v := stomp.Version(version % 4)
		whole, werr := parseChunks(t, v, lim, [][]byte{data})
		cut := int(split) % (len(data) + 1)
		parts, perr := parseChunks(t, v, lim, append(splitEvery(data[:cut], 7), data[cut:]))
		if (werr == nil) != (perr == nil) || !sameFrames(whole, parts) {
			t.Fatalf("whole: %d frames, %v; in parts: %d frames, %v", len(whole), werr, len(parts), perr)
		}
		for _, fr := range whole {
			raw := stomp.AppendFrame(nil, v, &fr)
			back, err := parseChunks(t, v, lim, [][]byte{raw})
			if err != nil || !sameFrames(back, []stomp.Frame{fr}) {
				t.Fatalf("frame %+v encoded as %q read back as %+v, %v", fr, raw, back, err)
			}
		}
	})
}
