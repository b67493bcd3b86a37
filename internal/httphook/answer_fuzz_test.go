package httphook

import (
	"errors"
	"testing"

	"github.com/heraldhq/herald"
)

// FuzzBackendAnswer feeds what the hook backend sends back, which Herald
// does not control: the refusal body and the Cache-Control header. Neither
// may panic; a refusal always wraps its sentinel, so every protocol maps
// it to its own "not authorized" answer; a cache lifetime is -1 (do not
// keep), 0 (the default) or positive.
func FuzzBackendAnswer(f *testing.F) {
	f.Add([]byte(`{"message":"banned"}`), "max-age=30")
	f.Add([]byte(`{"message":""}`), "no-store")
	f.Add([]byte(`not json`), "max-age=-5, private")
	f.Add([]byte(`{"message":"\u0000\r\nX: y"}`), "MAX-AGE=99999999999999999999")
	f.Fuzz(func(t *testing.T, body []byte, cacheControl string) {
		for _, s := range []error{herald.ErrUnauthorized, herald.ErrForbidden} {
			if err := refusal(s, body); !errors.Is(err, s) {
				t.Fatalf("refusal(%v, %q) = %v, does not wrap it", s, body, err)
			}
		}
		if d := maxAge(cacheControl); d < -1 {
			t.Fatalf("maxAge(%q) = %v", cacheControl, d)
		}
	})
}
