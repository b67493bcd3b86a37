package herald_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/internal/testutil"
)

// interopServer is a STOMP server with the handlers the interop scripts
// call: echo, and go-publish, which publishes from Go.
func interopServer(t *testing.T) (base, addr string) {
	srv, base, addr := startSTOMP(t, herald.Options{STOMP: herald.STOMPOptions{HeartBeatReceive: time.Second}})
	srv.Handle("echo", func(ctx context.Context, params json.RawMessage) (any, error) {
		return map[string]any{"params": params}, nil
	})
	srv.Handle("go-publish", func(ctx context.Context, params json.RawMessage) (any, error) {
		var p struct{ Topic, Text string }
		if err := json.Unmarshal(params, &p); err != nil {
			return nil, herald.Errorf(herald.CodeInvalidParams, "want {topic, text}")
		}
		_, err := srv.Publish(ctx, p.Topic, []byte(p.Text))
		return nil, err
	})
	return base, addr
}

func decode(t *testing.T, out string) map[string]any {
	t.Helper()
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("script output is not JSON: %v\n%s", err, out)
	}
	for k, v := range res {
		if m, ok := v.(map[string]any); ok && m["error"] != nil {
			t.Errorf("scenario %s failed: %v", k, m["error"])
		}
	}
	return res
}

// expect compares a scenario's result, given as the JSON it should equal.
func expect(t *testing.T, res map[string]any, key, want string) {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation for %s: %v", key, err)
	}
	if !reflect.DeepEqual(res[key], w) {
		got, _ := json.Marshal(res[key])
		t.Errorf("%s:\n got %s\nwant %s", key, got, want)
	}
}

// TestSTOMPJS drives @stomp/stompjs over WebSocket through subscribe,
// send, the ack modes, transactions, receipts, heart-beats, RPC and
// binary bodies (tests/node/stomp_ws.mjs).
func TestSTOMPJS(t *testing.T) {
	base, _ := interopServer(t)
	out := testutil.Node(t, 90*time.Second, "stomp_ws.mjs", map[string]string{"STOMP_URL": "ws" + strings.TrimPrefix(base, "http") + "/ws"})
	res := decode(t, out)
	pub, _ := res["pubsub"].(map[string]any)
	if s, _ := pub["server"].(string); !strings.HasPrefix(s, "Herald/") {
		t.Errorf("server header %q", s)
	}
	delete(pub, "server")
	expect(t, res, "pubsub", `{"version":"1.2","body":"hello","destination":"/topic/js.pubsub","custom":"a:b\\z","contentType":"text/plain","fromGo":"from Go"}`)
	expect(t, res, "versions", `{
		"1.0":{"connected":"1.0","body":"in 1.0","acked":true},
		"1.1":{"connected":"1.1","body":"in 1.1","acked":true},
		"1.2":{"connected":"1.2","body":"in 1.2","acked":true}}`)
	expect(t, res, "ackIndividual", `[{"body":"one","redelivered":false},{"body":"two","redelivered":false},{"body":"three","redelivered":false},{"body":"two","redelivered":true}]`)
	expect(t, res, "ackClient", `{"received":["a","b","c"],"afterwards":"marker"}`)
	expect(t, res, "transactions", `["outside","t1-a","t1-b","marker"]`)
	expect(t, res, "receipts", `true`)
	expect(t, res, "disconnected", `true`)
	hb, _ := res["heartbeats"].(map[string]any)
	if hb["header"] != "1000,1000" || hb["connected"] != true || hb["received"].(float64) < 2 || hb["sent"].(float64) < 2 {
		t.Errorf("heartbeats: %v", hb)
	}
	expect(t, res, "rpc", `[
		{"correlation":"c-1","body":"{\"params\":{\"n\":1}}","type":"application/json"},
		{"correlation":"c-2","body":"method not found: nope","error":"true","code":"-32601"}]`)
	expect(t, res, "binary", `{"bytes":[0,1,2,255,0],"type":"application/octet-stream"}`)
	if t.Failed() {
		t.Logf("script output: %s", out)
	}
}

// TestSTOMPPython drives Debian's stomp.py (python3-stomp, version 8)
// over TCP in each version (tests/python/stomp_tcp.py).
func TestSTOMPPython(t *testing.T) {
	_, addr := interopServer(t)
	out := testutil.Python(t, 90*time.Second, "tests/python/stomp_tcp.py", map[string]string{"STOMP_ADDR": addr})
	res := decode(t, out)
	for _, v := range []string{"1.0", "1.1", "1.2"} {
		expect(t, res, "pubsub "+v, fmt.Sprintf(`{"version":%q,"body":"hello %s","destination":"/topic/py.v%s","custom":"x y"}`, v, v, strings.ReplaceAll(v, ".", "")))
	}
	expect(t, res, "queue", `{"first":["j0","j1","j2"],"b":[["j1","true"],["j2","true"],["j2","true"]]}`)
	expect(t, res, "transactions", `["outside","in-tx"]`)
	expect(t, res, "rpc", `{"correlation":"py-1","body":"{\"params\":\"ping\"}"}`)
	expect(t, res, "heartbeats", `{"header":"1000,1000","beats":true,"connected":true}`)
	expect(t, res, "error", `{"message":"unknown command FLY","disconnected":true}`)
	if t.Failed() {
		t.Logf("script output: %s", out)
	}
}
