package bench

import "bytes"

// The scenarios read only a few fields of the server's JSON, and do it by
// scanning for a key rather than decoding, so no message costs an
// allocation. The server's encoder emits compact JSON, which is what the
// keys below assume.
var (
	keyData   = []byte(`"data":"`)
	keyT      = []byte(`"t":`)
	keyResult = []byte(`"result":`)
	keyError  = []byte(`"error":`)
)

// intAfter parses the decimal integer that follows the first occurrence of
// key in p.
func intAfter(p, key []byte) (int64, bool) {
	i := bytes.Index(p, key)
	if i < 0 {
		return 0, false
	}
	return parseInt(p[i+len(key):])
}

// parseInt parses the non-negative decimal digits at the start of p.
func parseInt(p []byte) (int64, bool) {
	var n int64
	i := 0
	for ; i < len(p) && i < 19 && p[i] >= '0' && p[i] <= '9'; i++ {
		n = n*10 + int64(p[i]-'0')
	}
	return n, i > 0
}

// isResponse reports whether p is a JSON-RPC response (not a
// notification), and whether it carries an error.
func isResponse(p []byte) (response, failed bool) {
	if bytes.Contains(p, keyError) {
		return true, true
	}
	return bytes.Contains(p, keyResult), false
}

// appendPad appends n filler bytes of printable ASCII (no escaping needed
// inside a JSON string or a text frame).
func appendPad(b []byte, n int) []byte {
	for i := range n {
		b = append(b, 'a'+byte(i%26))
	}
	return b
}
