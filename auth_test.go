package herald_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/internal/stomp/stomptest"
)

// wsStatus dials /ws with header and query and returns the handshake's
// HTTP status (101 when it succeeded; the connection is then closed).
func wsStatus(t *testing.T, base, query string, header http.Header, subprotocol string) int {
	t.Helper()
	opts := &websocket.DialOptions{HTTPHeader: header}
	if subprotocol != "" {
		opts.Subprotocols = []string{subprotocol}
	}
	c, resp, err := websocket.Dial(ctxT(t), wsURL(base)+query, opts)
	if err == nil {
		c.CloseNow()
		return http.StatusSwitchingProtocols
	}
	if resp == nil {
		t.Fatalf("dial: %v", err)
	}
	return resp.StatusCode
}

// TestAuthWebSocketHandshake: each token source, and refusals with 401.
func TestAuthWebSocketHandshake(t *testing.T) {
	_, base := start(t, herald.Options{Authenticator: jwtAuth(t), AllowedOrigins: []string{"*", "https://app.example.com"}})
	good := chatter(t, time.Minute)
	cookie := func(origin string) http.Header {
		h := http.Header{"Cookie": {"herald_token=" + good}}
		if origin != "" {
			h.Set("Origin", origin)
		}
		return h
	}
	cases := []struct {
		name   string
		query  string
		header http.Header
		want   int
	}{
		{"no credentials", "", nil, 401},
		{"garbage token", "", bearer("garbage"), 401},
		{"expired token", "", bearer(chatter(t, -time.Minute)), 401},
		{"wrong audience", "", bearer(mint(t, "a", time.Minute, map[string]any{"aud": "other"})), 401},
		{"Authorization header", "", bearer(good), 101},
		{"access_token parameter", "?access_token=" + good, nil, 101},
		{"cookie, no Origin", "", cookie(""), 101},
		{"cookie, explicitly allowed origin", "", cookie("https://app.example.com"), 101},
		// "*" admits the page but not its cookies: cross-site WebSocket
		// hijacking would otherwise ride on the user's session.
		{"cookie, origin allowed only by *", "", cookie("https://evil.example"), 401},
		{"header, origin allowed only by *", "", func() http.Header { h := bearer(good); h.Set("Origin", "https://evil.example"); return h }(), 101},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, sub := range []string{"herald.v1", "chat", ""} {
				if got := wsStatus(t, base, c.query, c.header, sub); got != c.want {
					t.Fatalf("subprotocol %q: status %d, want %d", sub, got, c.want)
				}
			}
		})
	}
}

// TestAuthAnonymous: refused unless allowed; when allowed, restricted to
// AnonymousPermissions.
func TestAuthAnonymous(t *testing.T) {
	_, base := start(t, herald.Options{Authenticator: jwtAuth(t)})
	if got := wsStatus(t, base, "", nil, "herald.v1"); got != 401 {
		t.Fatalf("anonymous with an authenticator: %d, want 401", got)
	}
	_, base = start(t, herald.Options{Authenticator: jwtAuth(t), Anonymous: true, AnonymousPermissions: &herald.Permissions{Subscribe: []string{"public/#"}}})
	r := newRPC(t, base)
	if m := r.call(1, "subscribe", map[string]any{"topic": "public/x"}); m["error"] != nil {
		t.Fatalf("anonymous subscribe to public: %v", m)
	}
	if m := r.call(2, "subscribe", map[string]any{"topic": "chat/x"}); errorCode(m) != herald.CodeForbidden {
		t.Fatalf("anonymous subscribe to chat: %v", m)
	}
	// A bad token is not anonymous: it is refused.
	if got := wsStatus(t, base, "", bearer("garbage"), "herald.v1"); got != 401 {
		t.Fatalf("bad token with Anonymous: %d, want 401", got)
	}
}

// TestAuthPermissionsNative: token permissions over JSON-RPC, for topics
// and methods, from a role and from the herald claim.
func TestAuthPermissionsNative(t *testing.T) {
	srv, base := start(t, herald.Options{Authenticator: jwtAuth(t)})
	srv.Handle("echo", func(ctx context.Context, p json.RawMessage) (any, error) { return p, nil })
	srv.Handle("admin.drop", func(ctx context.Context, p json.RawMessage) (any, error) { return "dropped", nil })
	dialTok := func(tok string) *rpcClient {
		return newRPCWith(t, base, bearer(tok))
	}
	role := dialTok(chatter(t, time.Minute))
	claim := dialTok(mint(t, "bob", time.Minute, map[string]any{"herald": map[string]any{"sub": []string{"a/+"}, "call": []string{"admin.*"}}}))
	cases := []struct {
		c      *rpcClient
		method string
		params any
		want   int // 0: success
	}{
		{role, "subscribe", map[string]any{"topic": "chat/#"}, 0},
		{role, "subscribe", map[string]any{"topic": "chat/room"}, 0},
		{role, "subscribe", map[string]any{"topic": "#"}, herald.CodeForbidden},
		{role, "subscribe", map[string]any{"topic": "news/x"}, herald.CodeForbidden},
		{role, "publish", map[string]any{"topic": "chat/room", "data": "hi"}, 0},
		{role, "publish", map[string]any{"topic": "chat/room/deep", "data": "hi"}, herald.CodeForbidden},
		{role, "publish", map[string]any{"topic": "news/x", "data": "hi"}, herald.CodeForbidden},
		{role, "echo", map[string]any{"x": 1}, 0},
		{role, "admin.drop", nil, herald.CodeForbidden},
		{claim, "subscribe", map[string]any{"topic": "a/b"}, 0},
		{claim, "subscribe", map[string]any{"topic": "a/#"}, herald.CodeForbidden},
		{claim, "admin.drop", nil, 0},
		{claim, "echo", nil, herald.CodeForbidden},
		{claim, "publish", map[string]any{"topic": "a/b", "data": 1}, herald.CodeForbidden},
	}
	for i, c := range cases {
		m := c.c.call(i+1, c.method, c.params)
		if got := errorCode(m); got != c.want {
			t.Errorf("case %d: %s %v: code %d, want %d (%v)", i, c.method, c.params, got, c.want, m)
		}
	}
}

// newRPCWith is newRPC with handshake headers.
func newRPCWith(t *testing.T, base string, h http.Header) *rpcClient {
	t.Helper()
	c, _, err := websocket.Dial(ctxT(t), wsURL(base), &websocket.DialOptions{Subprotocols: []string{"herald.v1"}, HTTPHeader: h})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return wrapRPC(t, c)
}

// TestAuthAuthorizeCallHook: AuthorizeCall runs after the permissions and
// its refusal is -32003 too.
func TestAuthAuthorizeCallHook(t *testing.T) {
	srv, base := start(t, herald.Options{AuthorizeCall: func(ctx context.Context, c *herald.Client, method string) error {
		if method == "secret" {
			return herald.ErrForbidden
		}
		return nil
	}})
	srv.Handle("secret", func(ctx context.Context, p json.RawMessage) (any, error) { return "leak", nil })
	srv.Handle("open", func(ctx context.Context, p json.RawMessage) (any, error) { return "ok", nil })
	r := newRPC(t, base)
	if m := r.call(1, "secret", nil); errorCode(m) != herald.CodeForbidden {
		t.Fatalf("secret: %v", m)
	}
	if m := r.call(2, "open", nil); m["result"] != "ok" {
		t.Fatalf("open: %v", m)
	}
}

// TestAuthSSEAndPoll: the HTTP transports refuse with 401 and 403.
func TestAuthSSEAndPoll(t *testing.T) {
	srv := herald.New(herald.Options{Authenticator: jwtAuth(t)})
	mux := http.NewServeMux()
	mux.Handle("/events", srv.EventsHandler())
	mux.Handle("/poll", srv.PollHandler())
	mux.Handle("/stream", srv.StreamHandler())
	hs := httptest.NewServer(mux)
	t.Cleanup(func() { srv.Shutdown(context.Background()); hs.Close() })
	tok := chatter(t, time.Minute)
	sse := func(q string, h http.Header) int {
		req, _ := http.NewRequestWithContext(ctxT(t), "GET", hs.URL+"/events"+q, nil)
		for k, v := range h {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		name   string
		q      string
		h      http.Header
		status int
	}{
		{"SSE without token", "?topic=chat/a", nil, 401},
		{"SSE bad token", "?topic=chat/a&access_token=x", nil, 401},
		{"SSE forbidden topic", "?topic=news/a", bearer(tok), 403},
		{"SSE too wide a filter", "?topic=%23", bearer(tok), 403},
		{"SSE allowed", "?topic=chat/%23&access_token=" + tok, nil, 200},
	} {
		if got := sse(c.q, c.h); got != c.status {
			t.Errorf("%s: %d, want %d", c.name, got, c.status)
		}
	}
	for _, path := range []string{"/poll", "/stream"} {
		if st, m := httpDo(t, "POST", hs.URL+path, "", nil); st != 401 {
			t.Errorf("%s without token: %d %v", path, st, m)
		}
		if st, m := httpDo(t, "POST", hs.URL+path+"?access_token=garbage", "", nil); st != 401 {
			t.Errorf("%s with a bad token: %d %v", path, st, m)
		}
	}
	st, m := httpDo(t, "POST", hs.URL+"/poll", "", bearer(tok))
	if st != 201 {
		t.Fatalf("poll with token: %d %v", st, m)
	}
}

// TestAuthSTOMP: CONNECT passcode, handshake header for STOMP over
// WebSocket, and permissions on topics and /queue/.
func TestAuthSTOMP(t *testing.T) {
	_, base, addr := startSTOMP(t, herald.Options{Authenticator: jwtAuth(t)})
	tok := chatter(t, time.Minute)

	bad := stomptest.Dial(t, addr)
	bad.Send("CONNECT", "", "accept-version", "1.2", "host", "h")
	if e := bad.Expect("ERROR"); header(e, "message") != "authentication failed" {
		t.Fatalf("no passcode: %v", e.Headers)
	}
	bad.Closed()

	expired := stomptest.Dial(t, addr)
	expired.Send("CONNECT", "", "accept-version", "1.2", "host", "h", "login", "alice", "passcode", chatter(t, -time.Minute))
	if e := expired.Expect("ERROR"); !strings.Contains(string(e.Body), "expired") {
		t.Fatalf("expired passcode: %v %q", e.Headers, e.Body)
	}

	// STOMP over WebSocket: the handshake is not refused; the CONNECT may
	// use the handshake's Authorization header instead of a passcode.
	ws := stomptest.DialWS(t, base+"/ws?access_token="+tok, "v12.stomp")
	ws.Connect("accept-version", "1.2", "host", "h")

	c := stomptest.Dial(t, addr)
	c.Connect("accept-version", "1.2", "host", "h", "login", "alice", "passcode", tok)
	c.Send("SUBSCRIBE", "", "id", "1", "destination", "/topic/chat/room", "receipt", "r1")
	c.Receipt("r1")
	c.Send("SUBSCRIBE", "", "id", "2", "destination", "/queue/jobs", "receipt", "r2")
	c.Receipt("r2")
	c.Send("SUBSCRIBE", "", "id", "3", "destination", "/queue/other", "receipt", "r3")
	if e := c.Expect("ERROR"); !strings.Contains(string(e.Body), "/queue/other") {
		t.Fatalf("forbidden queue: %v %q", e.Headers, e.Body)
	}
	c2 := stomptest.Dial(t, addr)
	c2.Connect("accept-version", "1.2", "host", "h", "login", "alice", "passcode", tok)
	c2.Send("SEND", "x", "destination", "/topic/news/a", "receipt", "r4")
	if e := c2.Expect("ERROR"); header(e, "message") == "" {
		t.Fatalf("forbidden SEND: %v", e.Headers)
	}
}

// TestAuthGatewayRoute: a gateway route with AuthRequired uses the same
// authenticator (and token sources) as every other endpoint.
func TestAuthGatewayRoute(t *testing.T) {
	backend := echoService(t)
	_, base := gatewayServer(t, herald.Options{Authenticator: jwtAuth(t)}, map[string]herald.GatewayRoute{
		"/tcp/secure": {Backend: backend, AuthRequired: true},
	})
	ws := "ws" + strings.TrimPrefix(base, "http") + "/tcp/secure"
	status := func(url string, hdr http.Header) int {
		t.Helper()
		_, resp, err := wsDial(t, url, &websocket.DialOptions{HTTPHeader: hdr})
		if err == nil {
			return http.StatusSwitchingProtocols
		}
		if resp == nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	tok := chatter(t, time.Minute)
	for _, c := range []struct {
		name string
		url  string
		hdr  http.Header
		want int
	}{
		{"no token", ws, nil, 401},
		{"bad token", ws, bearer("garbage"), 401},
		{"header", ws, bearer(tok), 101},
		{"access_token", ws + "?access_token=" + tok, nil, 101},
		{"cookie", ws, http.Header{"Cookie": {"herald_token=" + tok}}, 101},
	} {
		if got := status(c.url, c.hdr); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}

// TestAuthSTOMPRPC: method permissions apply to requests over STOMP's
// /rpc/ as over JSON-RPC: a refused call never reaches its handler.
func TestAuthSTOMPRPC(t *testing.T) {
	srv, _, addr := startSTOMP(t, herald.Options{Authenticator: jwtAuth(t)})
	var ran atomic.Bool
	srv.Handle("echo", func(ctx context.Context, p json.RawMessage) (any, error) { return "echoed", nil })
	srv.Handle("admin.drop", func(ctx context.Context, p json.RawMessage) (any, error) { ran.Store(true); return "dropped", nil })
	c := stomptest.Dial(t, addr)
	c.Connect("accept-version", "1.2", "host", "h", "login", "alice", "passcode", chatter(t, time.Minute))
	c.Send("SUBSCRIBE", "", "id", "r", "destination", "/temp-queue/replies", "receipt", "s")
	c.Receipt("s")
	c.Send("SEND", "", "destination", "/rpc/echo", "reply-to", "/temp-queue/replies", "correlation-id", "1")
	if m := c.Expect("MESSAGE"); string(m.Body) != "echoed" {
		t.Fatalf("permitted call: %v %q", m.Headers, m.Body)
	}
	c.Send("SEND", "", "destination", "/rpc/admin.drop", "reply-to", "/temp-queue/replies", "correlation-id", "2")
	if m := c.Expect("MESSAGE"); header(m, "error-code") != "-32003" {
		t.Fatalf("refused call: %v %q", m.Headers, m.Body)
	}
	if ran.Load() {
		t.Fatal("the handler of a refused call ran")
	}
}
