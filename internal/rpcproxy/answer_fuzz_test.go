package rpcproxy

import (
	"encoding/json"
	"testing"
)

// FuzzRPCError feeds the backend's error bodies, which Herald does not
// control, to the parser that turns them into the client's error: it must
// never panic, and what it returns must encode again (it is relayed as
// JSON, a STOMP frame or an MQTT 5 property).
func FuzzRPCError(f *testing.F) {
	for _, s := range []string{
		`{"code":-32001,"message":"no"}`,
		`{"error":{"code":7,"message":"bad","data":{"x":[1,2]}}}`,
		`{"code":1}`, `{"message":"m"}`, `null`, `[]`, `"x"`, ``,
		`{"error":null,"code":3,"message":"top"}`,
		`{"code":1e400,"message":"m"}`, `{"code":1.5,"message":"m"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e := rpcError(data)
		if e == nil {
			return
		}
		if e.Message == "" {
			t.Fatalf("error with no message from %q", data)
		}
		if _, err := json.Marshal(e); err != nil {
			t.Fatalf("relayed error does not encode: %v (from %q)", err, data)
		}
	})
}
