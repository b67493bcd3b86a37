package native

import (
	"encoding/json"
	"testing"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		in       string
		batch    bool
		failCode int // on the message, or on the first request
		skip     bool
		n        int
	}{
		{`{"jsonrpc":"2.0","id":1,"method":"m"}`, false, 0, false, 1},
		{`  {"jsonrpc":"2.0","method":"m","params":[1]}  `, false, 0, false, 1},
		{`{"jsonrpc":"2.0","id":1,"method":`, false, CodeParseError, false, 1}, // found by decodeRequest's one parse
		{`[{"jsonrpc":"2.0"`, true, CodeParseError, false, 0},
		{``, false, CodeParseError, false, 0},
		{`[]`, true, CodeInvalidRequest, false, 0},
		{`[1,{"jsonrpc":"2.0","id":2,"method":"m"}]`, true, CodeInvalidRequest, false, 2},
		{`{"id":1,"method":"m"}`, false, CodeInvalidRequest, false, 1},
		{`{"jsonrpc":"2.0","id":{},"method":"m"}`, false, CodeInvalidRequest, false, 1},
		{`{"jsonrpc":"2.0","id":true,"method":"m"}`, false, CodeInvalidRequest, false, 1},
		{`{"jsonrpc":"2.0","id":1,"method":"m","params":5}`, false, CodeInvalidRequest, false, 1},
		{`{"jsonrpc":"2.0","method":"m","params":"x"}`, false, 0, true, 1},
		{`{"jsonrpc":"2.0","id":null,"method":"m","params":null}`, false, 0, false, 1},
		{`"just a string"`, false, CodeInvalidRequest, false, 1},
	}
	for _, tc := range tests {
		reqs, batch, fail := decodeMessage([]byte(tc.in))
		if batch != tc.batch || len(reqs) != tc.n {
			t.Errorf("%s: batch=%v n=%d", tc.in, batch, len(reqs))
			continue
		}
		code, skip := 0, false
		if fail != nil {
			code = fail.Error.Code
		} else {
			_, f, s := decodeRequest(reqs[0])
			skip = s
			if f != nil {
				code = f.Error.Code
			}
		}
		if code != tc.failCode || skip != tc.skip {
			t.Errorf("%s: code %d skip %v, want %d %v", tc.in, code, skip, tc.failCode, tc.skip)
		}
	}
}

// FuzzDecode feeds arbitrary messages through the request decoder: it
// must never panic, every failure must carry a JSON-RPC code, and an
// accepted request must have what dispatch relies on.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"topic":"a/#"}}`,
		`[{"jsonrpc":"2.0","method":"x"},{"jsonrpc":"2.0","id":"a","method":"y","params":[]}]`,
		`[]`, `{`, `null`, `{"jsonrpc":"2.0","id":-1.5e3,"method":""}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		reqs, _, fail := decodeMessage(msg)
		if fail != nil {
			if fail.Error == nil || fail.Error.Code == 0 {
				t.Fatalf("failure without a code for %q", msg)
			}
			return
		}
		for _, raw := range reqs {
			req, f, skip := decodeRequest(raw)
			switch {
			case f != nil:
				if f.Error == nil || f.ID == nil {
					t.Fatalf("error response without id or error for %q", raw)
				}
				if _, err := json.Marshal(f); err != nil {
					t.Fatalf("error response not encodable: %v", err)
				}
			case skip:
				if req.ID != nil {
					t.Fatalf("skipped a request that has an id: %q", raw)
				}
			default:
				if req.Method == nil || req.JSONRPC != "2.0" {
					t.Fatalf("accepted an invalid request %q", raw)
				}
				if len(req.Params) > 0 && req.Params[0] != '{' && req.Params[0] != '[' {
					t.Fatalf("accepted non-structured params %q", raw)
				}
			}
		}
	})
}
