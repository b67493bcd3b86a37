package bench

import "testing"

func TestIntAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		key  []byte
		want int64
		ok   bool
	}{
		{`{"jsonrpc":"2.0","id":3,"result":{"t":1712345678901234567,"p":""}}`, keyT, 1712345678901234567, true},
		{`{"jsonrpc":"2.0","method":"message","params":{"topic":"bench/fanout","seq":9,"epoch":"x","data":"1712:aaaa"}}`, keyData, 1712, true},
		{`{"jsonrpc":"2.0","id":3,"result":null}`, keyT, 0, false},
		{`{"t":x}`, keyT, 0, false},
		{`"data":"`, keyData, 0, false},
	}
	for _, tt := range tests {
		got, ok := intAfter([]byte(tt.in), tt.key)
		if got != tt.want || ok != tt.ok {
			t.Errorf("intAfter(%s, %s) = %d, %v; want %d, %v", tt.in, tt.key, got, ok, tt.want, tt.ok)
		}
	}
}

func TestIsResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in             string
		response, fail bool
	}{
		{`{"jsonrpc":"2.0","id":1,"result":{"topic":"t"}}`, true, false},
		{`{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"method not found: x"}}`, true, true},
		{`{"jsonrpc":"2.0","method":"message","params":{}}`, false, false},
	}
	for _, tt := range tests {
		r, f := isResponse([]byte(tt.in))
		if r != tt.response || f != tt.fail {
			t.Errorf("isResponse(%s) = %v, %v", tt.in, r, f)
		}
	}
}

func TestScanDoesNotAllocate(t *testing.T) {
	p := []byte(`{"jsonrpc":"2.0","id":3,"result":{"t":1712345678901234567,"p":"abc"}}`)
	buf := make([]byte, 0, 64)
	n := testing.AllocsPerRun(100, func() {
		intAfter(p, keyT)
		isResponse(p)
		buf = appendPad(buf[:0], 40)
	})
	if n != 0 {
		t.Fatalf("%v allocations", n)
	}
}
