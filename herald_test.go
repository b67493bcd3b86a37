package herald_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/internal/wsframe"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestRequestResponseCorrelatesConcurrentRequests(t *testing.T) {
	srv, base := start(t, herald.Options{Workers: 16})
	srv.Handle("double", func(ctx context.Context, p json.RawMessage) (any, error) {
		var args []int
		if err := json.Unmarshal(p, &args); err != nil || len(args) != 1 {
			return nil, herald.Errorf(herald.CodeInvalidParams, "want [number]")
		}
		return 2 * args[0], nil
	})
	// Requests from one connection run in order; several connections
	// interleave. Correlation must come from the ids either way.
	const conns, inflight = 4, 100
	var wg sync.WaitGroup
	for k := range conns {
		c := newRPC(t, base)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range inflight {
				c.send(map[string]any{"jsonrpc": "2.0", "id": fmt.Sprintf("c%d-%d", k, i), "method": "double", "params": []int{i}})
			}
			c.send(map[string]any{"jsonrpc": "2.0", "id": "bad", "method": "double", "params": map[string]int{"n": 1}})
			seen := map[string]bool{}
			for range inflight + 1 {
				r := c.response()
				id, _ := r["id"].(string)
				if seen[id] {
					t.Errorf("duplicate response for %s", id)
				}
				seen[id] = true
				if id == "bad" {
					if errorCode(r) != herald.CodeInvalidParams {
						t.Errorf("bad params: %v", r)
					}
					continue
				}
				var i int
				fmt.Sscanf(id, fmt.Sprintf("c%d-%%d", k), &i)
				if res, _ := r["result"].(float64); int(res) != 2*i {
					t.Errorf("id %s got %v, want %d", id, r["result"], 2*i)
				}
			}
		}()
	}
	wg.Wait()
}

func TestHandlerSeesRequestScope(t *testing.T) {
	srv, base := start(t, herald.Options{
		OnConnect: func(ctx context.Context, r *herald.ConnectRequest) (herald.Identity, error) {
			return herald.Identity{Subject: r.Header.Get("X-User")}, nil
		},
	})
	srv.Handle("whoami", func(ctx context.Context, _ json.RawMessage) (any, error) {
		c, ok := herald.ClientFromContext(ctx)
		if !ok {
			return nil, errors.New("no client in context")
		}
		cookie := ""
		for _, k := range c.Cookies() {
			if k.Name == "session" {
				cookie = k.Value
			}
		}
		return map[string]string{"subject": c.Identity.Subject, "remote": c.RemoteAddr, "cookie": cookie, "protocol": c.Protocol}, nil
	})
	h := http.Header{}
	h.Set("X-User", "alice")
	h.Set("Cookie", "session=abc")
	conn, _, err := websocket.Dial(ctxT(t), wsURL(base), &websocket.DialOptions{Subprotocols: []string{"herald.v1"}, HTTPHeader: h})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	conn.Write(ctxT(t), websocket.MessageText, []byte(`{"jsonrpc":"2.0","id":1,"method":"whoami"}`))
	_, b, err := conn.Read(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	var r struct{ Result map[string]string }
	json.Unmarshal(b, &r)
	if r.Result["subject"] != "alice" || r.Result["cookie"] != "abc" || r.Result["protocol"] != "herald.v1" || !strings.HasPrefix(r.Result["remote"], "127.0.0.1:") {
		t.Fatalf("scope = %v", r.Result)
	}
}

func TestPubSubAcrossClients(t *testing.T) {
	srv, base := start(t, herald.Options{})
	sub1, sub2, pub := newRPC(t, base), newRPC(t, base), newRPC(t, base)
	if r := sub1.call(1, "subscribe", map[string]any{"topic": "sensors/+/temp"}); r["error"] != nil {
		t.Fatal(r)
	}
	if r := sub2.call(1, "subscribe", map[string]any{"topic": "sensors/#"}); r["error"] != nil {
		t.Fatal(r)
	}
	r := pub.call(1, "publish", map[string]any{"topic": "sensors/kitchen/temp", "data": map[string]any{"c": 21.5}})
	if r["error"] != nil {
		t.Fatal(r)
	}
	for _, s := range []*rpcClient{sub1, sub2} {
		n := s.note()
		p := n["params"].(map[string]any)
		if n["method"] != "message" || p["topic"] != "sensors/kitchen/temp" || p["data"].(map[string]any)["c"] != 21.5 || p["seq"].(float64) != 1 {
			t.Fatalf("notification = %v", n)
		}
	}
	// A Go publisher reaches the same subscribers; plain text arrives as a JSON string.
	if _, err := srv.Publish(context.Background(), "sensors/hall/temp", []byte("19 C")); err != nil {
		t.Fatal(err)
	}
	if p := sub1.note()["params"].(map[string]any); p["data"] != "19 C" {
		t.Fatalf("Go publish arrived as %v", p)
	}
	// Unsubscribed: sub1 gets nothing more, sub2 still does.
	sub1.call(2, "unsubscribe", map[string]any{"topic": "sensors/+/temp"})
	srv.Publish(context.Background(), "sensors/hall/temp", []byte("20 C"))
	sub2.note()
	sub2.note()
	select {
	case n := <-sub1.notes:
		t.Fatalf("unsubscribed client received %v", n)
	case <-time.After(100 * time.Millisecond): // absence can only be shown by waiting
	}
}

func TestResumeSinceAndMissed(t *testing.T) {
	srv, base := start(t, herald.Options{HistorySize: 3})
	var last herald.Position
	for i := 1; i <= 5; i++ {
		last, _ = srv.Publish(context.Background(), "feed", []byte(fmt.Sprint(i)))
	}
	c := newRPC(t, base)
	// Resuming after seq 3 of the current epoch replays 4 and 5.
	r := c.call(1, "subscribe", map[string]any{"topic": "feed", "since": map[string]any{"epoch": last.Epoch, "seq": 3}})
	if r["error"] != nil {
		t.Fatal(r)
	}
	for _, want := range []string{"4", "5"} {
		if d := c.note()["params"].(map[string]any)["data"]; d != want {
			t.Fatalf("replayed %v, want %s", d, want)
		}
	}
	// After seq 1 the history (3 messages: 3,4,5) cannot fill 2: missed, then 3..5.
	c2 := newRPC(t, base)
	c2.call(1, "subscribe", map[string]any{"topic": "feed", "since": map[string]any{"epoch": last.Epoch, "seq": 1}})
	n := c2.note()
	if n["method"] != "missed" || n["params"].(map[string]any)["from"].(float64) != 2 || n["params"].(map[string]any)["to"].(float64) != 2 {
		t.Fatalf("want missed 2..2, got %v", n)
	}
	for _, want := range []string{"3", "4", "5"} {
		if d := c2.note()["params"].(map[string]any)["data"]; d != want {
			t.Fatalf("replayed %v, want %s", d, want)
		}
	}
	// Live messages follow the replay, in order.
	srv.Publish(context.Background(), "feed", []byte("6"))
	if d := c2.note()["params"].(map[string]any); d["data"] != "6" || d["seq"].(float64) != 6 {
		t.Fatalf("live message %v", d)
	}
}

func TestJSONRPCErrors(t *testing.T) {
	_, base := start(t, herald.Options{})
	c := newRPC(t, base)
	c.send([]byte(`{"jsonrpc":"2.0","id":1,"method":`))
	if r := c.response(); errorCode(r) != -32700 || r["id"] != nil {
		t.Fatalf("invalid JSON: %v", r)
	}
	if r := c.call(2, "no.such.method", nil); errorCode(r) != -32601 || r["id"].(float64) != 2 {
		t.Fatalf("unknown method: %v", r)
	}
	c.send([]byte(`{"id":3,"method":"publish"}`))
	if r := c.response(); errorCode(r) != -32600 {
		t.Fatalf("missing jsonrpc member: %v", r)
	}
	if r := c.call(4, "subscribe", map[string]any{"topic": "a/#/b"}); errorCode(r) != -32602 {
		t.Fatalf("bad filter: %v", r)
	}
	// The connection is still usable after all of that.
	if r := c.call(5, "publish", map[string]any{"topic": "ok", "data": 1}); r["error"] != nil {
		t.Fatalf("connection unusable after errors: %v", r)
	}
}

func TestJSONRPCBatch(t *testing.T) {
	srv, base := start(t, herald.Options{})
	srv.Handle("echo", func(ctx context.Context, p json.RawMessage) (any, error) { return p, nil })
	c := newRPC(t, base)
	c.send([]byte(`[{"jsonrpc":"2.0","id":1,"method":"echo","params":["a"]},
		{"jsonrpc":"2.0","method":"echo","params":["notification"]},
		{"jsonrpc":"2.0","id":2,"method":"nope"}, 7]`))
	var got []map[string]any
	select {
	case b := <-c.raw:
		json.Unmarshal(b, &got)
	case <-time.After(10 * time.Second):
		t.Fatal("no batch response")
	}
	if len(got) != 3 || got[0]["id"].(float64) != 1 || errorCode(got[1]) != -32601 || errorCode(got[2]) != -32600 {
		t.Fatalf("batch responses = %v", got)
	}
	c.send([]byte(`[]`))
	if r := c.response(); errorCode(r) != -32600 {
		t.Fatalf("empty batch: %v", r)
	}
}

func TestTextProtocol(t *testing.T) {
	srv, base := start(t, herald.Options{})
	srv.HandleText(func(ctx context.Context, text string) (string, error) {
		switch text {
		case "fail":
			return "", herald.Errorf(400, "no")
		case "crash":
			return "", errors.New("secret internals")
		}
		return "you said " + text, nil
	})
	c := dial(t, base, "")
	for _, tc := range []struct{ in, want string }{{"status", "you said status"}, {"fail", "ERROR: no"}, {"crash", "ERROR: internal error"}} {
		c.Write(ctxT(t), websocket.MessageText, []byte(tc.in))
		_, b, err := c.Read(ctxT(t))
		if err != nil || string(b) != tc.want {
			t.Fatalf("%q -> %q, %v; want %q", tc.in, b, err, tc.want)
		}
	}
	c.Write(ctxT(t), websocket.MessageBinary, []byte{1, 2})
	if _, _, err := c.Read(ctxT(t)); websocket.CloseStatus(err) != websocket.StatusUnsupportedData {
		t.Fatalf("binary on the text protocol: %v, want 1003", err)
	}
}

func TestChatBroadcast(t *testing.T) {
	srv, base := start(t, herald.Options{})
	const members = 5
	conns := make([]*websocket.Conn, members)
	for i := range conns {
		conns[i] = dial(t, base, "chat")
	}
	// Joining is asynchronous; wait until every member is in the room.
	waitFor(t, func() bool { return srv.Connections() == members })
	// Joins are queued before any message of the member's own, so once
	// each member's own first message comes back, it is in the room.
	for i, c := range conns {
		c.Write(ctxT(t), websocket.MessageText, []byte(fmt.Sprintf("m%d:join", i)))
		for {
			_, b, err := c.Read(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			if string(b) == fmt.Sprintf("m%d:join", i) {
				break
			}
		}
	}
	conns[0].Write(ctxT(t), websocket.MessageText, []byte("alice:hello room"))
	for i, c := range conns {
		for {
			_, b, err := c.Read(ctxT(t))
			if err != nil {
				t.Fatalf("member %d: %v", i, err)
			}
			if string(b) == "alice:hello room" {
				break
			}
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCrossOriginRefused(t *testing.T) {
	_, base := start(t, herald.Options{AllowedOrigins: []string{"https://*.example.com"}})
	for _, tc := range []struct {
		origin string
		status int
	}{
		{"https://evil.test", http.StatusForbidden},
		{"https://app.example.com", http.StatusSwitchingProtocols},
		{base, http.StatusSwitchingProtocols}, // same origin
	} {
		h := http.Header{}
		h.Set("Origin", tc.origin)
		c, resp, err := websocket.Dial(ctxT(t), wsURL(base), &websocket.DialOptions{HTTPHeader: h})
		if resp == nil || resp.StatusCode != tc.status {
			t.Errorf("origin %s: %v %v, want %d", tc.origin, resp, err, tc.status)
		}
		if c != nil {
			c.CloseNow()
		}
	}
}

func TestHandshakeRefusals(t *testing.T) {
	_, base := start(t, herald.Options{
		OnConnect: func(ctx context.Context, r *herald.ConnectRequest) (herald.Identity, error) {
			if r.Header.Get("Authorization") == "" {
				return herald.Identity{}, fmt.Errorf("%w: token required", herald.ErrUnauthorized)
			}
			return herald.Identity{}, nil
		},
	})
	_, resp, _ := websocket.Dial(ctxT(t), wsURL(base), nil)
	if resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token: %v", resp)
	}
	h := http.Header{"Authorization": {"Bearer x"}}
	_, resp, _ = websocket.Dial(ctxT(t), wsURL(base), &websocket.DialOptions{HTTPHeader: h, Subprotocols: []string{"unknown.v9"}})
	if resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown subprotocol: %v", resp)
	}
	r, _ := http.Get(base + "/ws")
	if r.StatusCode != http.StatusBadRequest {
		t.Fatalf("plain GET: %d", r.StatusCode)
	}
	r.Body.Close()
}

func TestCloseCodes(t *testing.T) {
	_, base := start(t, herald.Options{MaxMessageSize: 1024})
	cases := []struct {
		name string
		send func(c *rawConn)
		want uint16
	}{
		{"oversize message", func(c *rawConn) { c.frame(wsframe.OpText, true, make([]byte, 2000)) }, wsframe.CloseMessageTooBig},
		{"oversize across fragments", func(c *rawConn) {
			c.frame(wsframe.OpText, false, make([]byte, 800))
			c.frame(wsframe.OpContinuation, true, make([]byte, 800))
		}, wsframe.CloseMessageTooBig},
		{"invalid UTF-8", func(c *rawConn) { c.frame(wsframe.OpText, true, []byte{'o', 'k', 0xff, 0xfe}) }, wsframe.CloseInvalidPayload},
		{"unmasked frame", func(c *rawConn) { c.Write(wsframe.AppendFrame(nil, wsframe.OpText, []byte("hi"))) }, wsframe.CloseProtocolError},
		{"reserved opcode", func(c *rawConn) { c.frame(0x3, true, nil) }, wsframe.CloseProtocolError},
		{"oversize ping", func(c *rawConn) { c.frame(wsframe.OpPing, true, make([]byte, 126)) }, wsframe.CloseProtocolError},
		{"continuation without start", func(c *rawConn) { c.frame(wsframe.OpContinuation, true, []byte("x")) }, wsframe.CloseProtocolError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := rawDial(t, base, "herald.v1")
			tc.send(c)
			if got := c.closeCode(t); got != tc.want {
				t.Fatalf("close code %d, want %d", got, tc.want)
			}
		})
	}
}

func TestPingPongAndFragments(t *testing.T) {
	srv, base := start(t, herald.Options{})
	srv.HandleText(func(ctx context.Context, s string) (string, error) { return strings.ToUpper(s), nil })
	c := rawDial(t, base, "")
	c.frame(wsframe.OpText, false, []byte("hel"))
	c.frame(wsframe.OpPing, true, []byte("are you there"))
	c.frame(wsframe.OpContinuation, true, []byte("lo"))
	var got []string
	buf := make([]byte, 4096)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for len(got) < 2 {
		n, err := c.br.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		c.cr.Feed(buf[:n], func(op byte, p []byte) error {
			got = append(got, fmt.Sprintf("%d:%s", op, p))
			return nil
		})
	}
	if got[0] != "10:are you there" || got[1] != "1:HELLO" {
		t.Fatalf("frames = %v", got)
	}
}

func TestShutdownDrainsAndCloses1001(t *testing.T) {
	srv := herald.New(herald.Options{})
	hs := newHTTPServer(t, srv)
	c := newRPC(t, hs)
	c.call(1, "subscribe", map[string]any{"topic": "t"})
	for i := range 50 {
		srv.Publish(context.Background(), "t", []byte(fmt.Sprint(i)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	// Everything queued before the shutdown arrives, then 1001.
	for i := range 50 {
		if d := c.note()["params"].(map[string]any)["data"]; d != fmt.Sprint(i) {
			t.Fatalf("message %d = %v", i, d)
		}
	}
	if err := c.closed(); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("after shutdown: %v, want close 1001", err)
	}
	if err := srv.Shutdown(ctx); !errors.Is(err, herald.ErrServerClosed) {
		t.Fatalf("second Shutdown = %v", err)
	}
	if _, err := srv.Publish(context.Background(), "t", nil); !errors.Is(err, herald.ErrServerClosed) {
		t.Fatalf("Publish after Shutdown = %v, want ErrServerClosed", err)
	}
}

func newHTTPServer(t *testing.T, h http.Handler) string {
	mux := http.NewServeMux()
	mux.Handle("/ws", h)
	var once sync.Once
	hs := newTestServer(mux)
	t.Cleanup(func() { once.Do(hs.Close) })
	return hs.URL
}

func TestResumeFromUnknownEpochResets(t *testing.T) {
	srv, base := start(t, herald.Options{})
	srv.Publish(context.Background(), "feed", []byte("a"))
	c := newRPC(t, base)
	c.call(1, "subscribe", map[string]any{"topic": "feed", "since": map[string]any{"epoch": "not-this-one", "seq": 9}})
	n := c.note()
	p := n["params"].(map[string]any)
	if n["method"] != "missed" || p["reset"] != true {
		t.Fatalf("want a reset missed notification, got %v", n)
	}
	if d := c.note()["params"].(map[string]any); d["data"] != "a" || d["seq"].(float64) != 1 {
		t.Fatalf("after the reset the current epoch replays from 1: %v", d)
	}
}

func TestPermessageDeflate(t *testing.T) {
	srv, base := start(t, herald.Options{})
	for _, mode := range []websocket.CompressionMode{websocket.CompressionNoContextTakeover, websocket.CompressionContextTakeover} {
		conn, resp, err := websocket.Dial(ctxT(t), wsURL(base), &websocket.DialOptions{Subprotocols: []string{"herald.v1"}, CompressionMode: mode})
		if err != nil {
			t.Fatal(err)
		}
		if ext := resp.Header.Get("Sec-WebSocket-Extensions"); !strings.Contains(ext, "permessage-deflate") || !strings.Contains(ext, "server_no_context_takeover") {
			t.Fatalf("mode %v: extensions %q", mode, ext)
		}
		conn.SetReadLimit(1 << 20)
		conn.Write(ctxT(t), websocket.MessageText, []byte(`{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"topic":"z"}}`))
		conn.Read(ctxT(t))
		big := strings.Repeat("compressible text ", 500) // above the compression threshold
		for range 3 {                                    // several messages: no shared window may be assumed
			srv.Publish(context.Background(), "z", []byte(big))
			_, b, err := conn.Read(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			var n struct{ Params struct{ Data string } }
			if json.Unmarshal(b, &n); n.Params.Data != big {
				t.Fatalf("mode %v: payload corrupted (%d bytes)", mode, len(n.Params.Data))
			}
		}
		// A compressed request from the client is inflated too.
		conn.Write(ctxT(t), websocket.MessageText, []byte(`{"jsonrpc":"2.0","id":2,"method":"publish","params":{"topic":"y","data":"`+big+`"}}`))
		_, b, _ := conn.Read(ctxT(t))
		if !strings.Contains(string(b), `"id":2,"result"`) {
			t.Fatalf("mode %v: compressed request: %s", mode, b)
		}
		conn.CloseNow()
	}
}

func TestPublishThenHangUpIsNotLost(t *testing.T) {
	_, base := start(t, herald.Options{})
	sub := newRPC(t, base)
	sub.call(1, "subscribe", map[string]any{"topic": "last/words"})
	const n = 50
	for i := range n {
		c := rawDial(t, base, "herald.v1")
		c.frame(wsframe.OpText, true, []byte(fmt.Sprintf(`{"jsonrpc":"2.0","method":"publish","params":{"topic":"last/words","data":%d}}`, i)))
		c.Close() // no close frame, no waiting: the publish is already sent
	}
	got := map[float64]bool{}
	for range n {
		got[sub.note()["params"].(map[string]any)["data"].(float64)] = true
	}
	if len(got) != n {
		t.Fatalf("received %d distinct publications of %d", len(got), n)
	}
}
