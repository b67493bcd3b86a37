package herald_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/heraldhq/herald"
)

// TestAuthRefreshAndExpiry (native over WebSocket): two connections with
// the same short-lived token; one refreshes in band and keeps working,
// the other is closed with 1008 "token expired" by the sweep that also
// checked the refreshed one.
func TestAuthRefreshAndExpiry(t *testing.T) {
	srv, base := start(t, herald.Options{Authenticator: jwtAuth(t)})
	srv.Handle("echo", func(ctx context.Context, p json.RawMessage) (any, error) {
		c, _ := herald.ClientFromContext(ctx)
		return c.Identity.Expires.Unix(), nil
	})
	short := chatter(t, 2*time.Second)
	kept := newRPCWith(t, base, bearer(short))
	lost := newRPCWith(t, base, bearer(short))

	long := chatter(t, time.Hour)
	m := kept.call(1, "refresh", map[string]any{"token": long})
	res, _ := m["result"].(map[string]any)
	if res == nil || res["subject"] != "alice" || int64(res["expires"].(float64)) < time.Now().Add(30*time.Minute).Unix() {
		t.Fatalf("refresh: %v", m)
	}
	// Refusals leave the connection as it was.
	if m := kept.call(2, "refresh", map[string]any{"token": "garbage"}); errorCode(m) != herald.CodeUnauthorized {
		t.Fatalf("bad refresh: %v", m)
	}
	if m := kept.call(3, "refresh", map[string]any{"token": mint(t, "mallory", time.Hour, nil)}); errorCode(m) != herald.CodeForbidden {
		t.Fatalf("refresh as another subject: %v", m)
	}
	if m := kept.call(4, "refresh", map[string]any{}); errorCode(m) != herald.CodeInvalidParams {
		t.Fatalf("refresh without token: %v", m)
	}

	err := lost.closed()
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || ce.Reason != "token expired" {
		t.Fatalf("unrefreshed connection ended with %v, want 1008 token expired", err)
	}
	m = kept.call(5, "echo", nil)
	if exp, ok := m["result"].(float64); !ok || int64(exp) < time.Now().Add(30*time.Minute).Unix() {
		t.Fatalf("refreshed connection: %v (handlers must see the new expiry)", m)
	}
}

// TestAuthSSERefreshAndExpiry: POST /events?stream=ID refreshes a live
// stream; an unrefreshed one gets an "expired" event and ends.
func TestAuthSSERefreshAndExpiry(t *testing.T) {
	srv, base := startHTTP(t, herald.Options{Authenticator: jwtAuth(t)})
	short := chatter(t, 2*time.Second)
	kept := openSSE(t, base+"/events?topic=chat/%23", bearer(short))
	lost := openSSE(t, base+"/events?topic=chat/%23", bearer(short))
	stream, _ := kept.expect("ready").json(t)["stream"].(string)
	lost.expect("ready")
	if stream == "" {
		t.Fatal("the ready event has no stream id")
	}
	refresh := func(id, tok string) (int, map[string]any) {
		return httpDo(t, "POST", base+"/events?stream="+id, "", bearer(tok))
	}
	if st, m := refresh(stream, "garbage"); st != 401 {
		t.Fatalf("bad token: %d %v", st, m)
	}
	if st, m := refresh(stream, mint(t, "mallory", time.Hour, nil)); st != 403 {
		t.Fatalf("another subject: %d %v", st, m)
	}
	st, m := refresh(stream, chatter(t, time.Hour))
	if st != 200 || m["subject"] != "alice" {
		t.Fatalf("refresh: %d %v", st, m)
	}
	e := lost.expect("expired")
	if e.json(t)["reason"] != "token expired" {
		t.Fatalf("expired event %+v", e)
	}
	if ev, ok := <-lost.events; ok {
		t.Fatalf("event after expiry: %+v", ev)
	}
	if _, err := srv.Publish(ctxT(t), "chat/a", []byte("still here")); err != nil {
		t.Fatal(err)
	}
	if got := kept.expect("message").json(t)["data"]; got != "still here" {
		t.Fatalf("refreshed stream got %v", got)
	}
}

// TestAuthLongPollRefreshAndExpiry: the native refresh method over long
// polling; an unrefreshed session is closed with 1008 "token expired".
func TestAuthLongPollRefreshAndExpiry(t *testing.T) {
	_, base := startHTTP(t, herald.Options{Authenticator: jwtAuth(t)})
	short := chatter(t, 2*time.Second)
	open := func() *pollClient {
		st, m := httpDo(t, "POST", base+"/poll", "", bearer(short))
		if st != 201 {
			t.Fatalf("open: %d %v", st, m)
		}
		return &pollClient{base: base, path: "/poll", id: m["session"].(string)}
	}
	kept, lost := open(), open()
	kept.post(t, 1, `{"jsonrpc":"2.0","id":1,"method":"refresh","params":{"token":"`+chatter(t, time.Hour)+`"}}`)
	if r := kept.pollUntil(t, 1)[0]; r["result"] == nil {
		t.Fatalf("refresh: %v", r)
	}
	var closed map[string]any
	for closed == nil {
		_, msgs, c := lost.poll(t, true)
		lost.ack += uint64(len(msgs))
		closed = c
	}
	if closed["reason"] != "token expired" || closed["code"] != float64(1008) {
		t.Fatalf("closed %v, want 1008 token expired", closed)
	}
	kept.post(t, 2, `{"jsonrpc":"2.0","id":2,"method":"subscribe","params":{"topic":"chat/a"}}`)
	if r := kept.pollUntil(t, 1)[0]; r["error"] != nil {
		t.Fatalf("refreshed session after the other expired: %v", r)
	}
}

// TestAuthRefreshRevokes: after a refresh, subscriptions the new token
// no longer allows are dropped (native and SSE), and said so.
func TestAuthRefreshRevokes(t *testing.T) {
	srv, base := startHTTP(t, herald.Options{Authenticator: jwtAuth(t)})
	wide := mint(t, "ann", time.Hour, map[string]any{"herald": map[string]any{"sub": []string{"chat/#", "news/#"}}})
	narrow := mint(t, "ann", time.Hour, map[string]any{"herald": map[string]any{"sub": []string{"news/#"}}})

	r := newRPCWith(t, base, bearer(wide))
	for i, f := range []string{"chat/#", "news/#"} {
		if m := r.call(i+1, "subscribe", map[string]any{"topic": f}); m["error"] != nil {
			t.Fatalf("subscribe %s: %v", f, m)
		}
	}
	m := r.call(3, "refresh", map[string]any{"token": narrow})
	res, _ := m["result"].(map[string]any)
	if rev, _ := res["revoked"].([]any); len(rev) != 1 || rev[0] != "chat/#" {
		t.Fatalf("refresh: %v, want chat/# revoked", m)
	}

	st := openSSE(t, base+"/events?topic=chat/%23&topic=news/%23", bearer(wide))
	id, _ := st.expect("ready").json(t)["stream"].(string)
	code, body := httpDo(t, "POST", base+"/events?stream="+id, "", bearer(narrow))
	if rev, _ := body["revoked"].([]any); code != 200 || len(rev) != 1 || rev[0] != "chat/#" {
		t.Fatalf("SSE refresh: %d %v, want chat/# revoked", code, body)
	}

	// Published in this order, the revoked topic's message would come first.
	for _, topic := range []string{"chat/x", "news/x"} {
		if _, err := srv.Publish(ctxT(t), topic, []byte(topic)); err != nil {
			t.Fatal(err)
		}
	}
	if got := r.note()["params"].(map[string]any)["topic"]; got != "news/x" {
		t.Fatalf("native client got %v after the revocation", got)
	}
	if got := st.expect("message").json(t)["topic"]; got != "news/x" {
		t.Fatalf("SSE client got %v after the revocation", got)
	}
}

// TestAuthGatewayExpiry: a gateway connection ends with 1008 "token
// expired" when its token does, like every other WebSocket.
func TestAuthGatewayExpiry(t *testing.T) {
	_, base := gatewayServer(t, herald.Options{Authenticator: jwtAuth(t)}, map[string]herald.GatewayRoute{
		"/tcp/secure": {Backend: echoService(t), AuthRequired: true},
	})
	c, _, err := wsDial(t, "ws"+strings.TrimPrefix(base, "http")+"/tcp/secure", &websocket.DialOptions{HTTPHeader: bearer(chatter(t, 2*time.Second))})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, _, err = c.Read(ctxT(t)); err != nil {
			break
		}
	}
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || ce.Reason != "token expired" {
		t.Fatalf("gateway connection ended with %v, want 1008 token expired", err)
	}
}
