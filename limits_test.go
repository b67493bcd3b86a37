package herald_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/internal/stomp/stomptest"
	"github.com/heraldhq/herald/internal/testutil"
)

// refusedDial dials the WebSocket endpoint and returns the HTTP status and
// body of the refusal; it fails the test if the handshake succeeds.
func refusedDial(t *testing.T, base string) (int, string, http.Header) {
	t.Helper()
	c, resp, err := websocket.Dial(ctxT(t), wsURL(base), &websocket.DialOptions{Subprotocols: []string{"herald.v1"}})
	if err == nil {
		c.CloseNow()
		t.Fatal("the handshake was accepted")
	}
	if resp == nil {
		t.Fatalf("no HTTP response: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

// exceeded returns herald_limit_exceeded_total for one limit (0 when
// never breached: the series does not exist yet).
func exceeded(t *testing.T, srv *herald.Server, limit string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	srv.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(`herald_limit_exceeded_total{limit="`+limit+`"}`) + ` (\S+)$`).FindStringSubmatch(rec.Body.String())
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// eventually polls cond, which has no event to wait on (a session's end
// is not observable by the client), until it holds or 10 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLimitConnectionsPerIP(t *testing.T) {
	t.Parallel()
	srv, base := start(t, herald.Options{Limits: herald.Limits{MaxConnectionsPerIP: 2}})
	a := newRPC(t, base)
	newRPC(t, base)
	status, body, h := refusedDial(t, base)
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "too many connections from 127.0.0.1 (limit 2)") || h.Get("Retry-After") == "" {
		t.Fatalf("third connection: %d %q Retry-After %q", status, body, h.Get("Retry-After"))
	}
	if n := exceeded(t, srv, "connections_per_ip"); n != 1 {
		t.Errorf("connections_per_ip breaches counted: %v", n)
	}
	// A place freed is a place taken again.
	a.c.Close(websocket.StatusNormalClosure, "")
	eventually(t, "the closed connection's place is freed", func() bool {
		c, _, err := websocket.Dial(ctxT(t), wsURL(base), nil)
		if err == nil {
			c.CloseNow()
		}
		return err == nil
	})
}

func TestLimitHandshakeRate(t *testing.T) {
	t.Parallel()
	// A token every 1000 s: the burst is all there is during the test.
	srv, base := start(t, herald.Options{Limits: herald.Limits{HandshakesPerSecond: 0.001, HandshakeBurst: 2}})
	newRPC(t, base)
	newRPC(t, base)
	status, body, h := refusedDial(t, base)
	if status != http.StatusTooManyRequests || !strings.Contains(body, "too many new connections") || h.Get("Retry-After") != "1" {
		t.Fatalf("third handshake: %d %q", status, body)
	}
	if n := exceeded(t, srv, "handshake_rate"); n != 1 {
		t.Errorf("handshake_rate breaches counted: %v", n)
	}
}

// TestLimitHandshakeRatePerIP: one address past its handshake rate gets
// 429 on WebSocket and CONNACK 0x9F on MQTT 5, while another address
// still connects.
func TestLimitHandshakeRatePerIP(t *testing.T) {
	t.Parallel()
	pub := testutil.Need(t, "mosquitto_pub")
	srv, base := start(t, herald.Options{Limits: herald.Limits{HandshakesPerSecondPerIP: 0.001, HandshakeBurstPerIP: 1}})
	mqttLn := testutil.Listen(t)
	go srv.ServeMQTT(mqttLn)
	newRPC(t, base)
	status, body, _ := refusedDial(t, base)
	if status != http.StatusTooManyRequests || !strings.Contains(body, "too many new connections from 127.0.0.1") {
		t.Fatalf("second handshake from 127.0.0.1: %d %q", status, body)
	}
	out, err := exec.Command(pub, "-h", "127.0.0.1", "-p", testutil.Port(mqttLn), "-V", "5", "-t", "t", "-m", "x").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Connection rate exceeded") {
		t.Errorf("mosquitto_pub from 127.0.0.1: %v: %s", err, out)
	}
	// 127.0.0.2 has its own bucket.
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	client := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	c, _, err := websocket.Dial(ctxT(t), wsURL(base), &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		t.Fatalf("from 127.0.0.2: %v", err)
	}
	c.CloseNow()
	if n := exceeded(t, srv, "handshake_rate_per_ip"); n != 2 {
		t.Errorf("handshake_rate_per_ip breaches counted: %v", n)
	}
}

// TestLimitConnectionsTCP fills the server with one WebSocket connection:
// STOMP over TCP is refused with an ERROR frame, MQTT 5 with CONNACK 0x97
// and MQTT 3.1.1 with return code 3 (mosquitto_pub).
func TestLimitConnectionsTCP(t *testing.T) {
	t.Parallel()
	pub := testutil.Need(t, "mosquitto_pub")
	srv, base := start(t, herald.Options{Limits: herald.Limits{MaxConnections: 1}})
	stompLn, mqttLn := testutil.Listen(t), testutil.Listen(t)
	go srv.ServeSTOMP(stompLn)
	go srv.ServeMQTT(mqttLn)
	newRPC(t, base)

	c := stomptest.Dial(t, stompLn.Addr().String())
	c.Send("CONNECT", "", "accept-version", "1.2", "host", "localhost")
	f := c.Expect("ERROR")
	if f.Value("message") != "server busy" || !strings.Contains(string(f.Body), "server at its connection limit (1)") {
		t.Errorf("STOMP refusal: %v %q", f.Headers, f.Body)
	}
	c.Closed()

	for _, tc := range []struct{ version, want string }{
		{"5", "Quota exceeded"},
		{"311", "Connection Refused: broker unavailable"},
	} {
		out, err := exec.Command(pub, "-h", "127.0.0.1", "-p", testutil.Port(mqttLn), "-V", tc.version, "-t", "t", "-m", "x").CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("mosquitto_pub -V %s: %v: %s (want %q)", tc.version, err, out, tc.want)
		}
	}
	if n := exceeded(t, srv, "connections"); n != 3 { // STOMP, MQTT 5, MQTT 3.1.1
		t.Errorf("connections breaches counted: %v", n)
	}
}

// TestLimitMessageRate: over the message rate, a WebSocket client is closed
// with 1008, a STOMP client gets ERROR, an MQTT 5 client DISCONNECT 0x96.
func TestLimitMessageRate(t *testing.T) {
	t.Parallel()
	pub := testutil.Need(t, "mosquitto_pub")
	// A token every 1000 s: only the burst of 3 messages gets through.
	srv, base := start(t, herald.Options{Limits: herald.Limits{MessagesPerSecond: 0.001, MessageBurst: 3}})
	srv.Handle("echo", func(context.Context, json.RawMessage) (any, error) { return "ok", nil })
	stompLn, mqttLn := testutil.Listen(t), testutil.Listen(t)
	go srv.ServeSTOMP(stompLn)
	go srv.ServeMQTT(mqttLn)

	r := newRPC(t, base)
	for i := range 3 {
		if m := r.call(i, "echo", nil); m["result"] != "ok" {
			t.Fatalf("call %d within the burst: %v", i, m)
		}
	}
	r.send(map[string]any{"jsonrpc": "2.0", "id": 9, "method": "echo"})
	if err := r.closed(); websocket.CloseStatus(err) != websocket.StatusPolicyViolation || !strings.Contains(err.Error(), "message rate exceeded") {
		t.Errorf("fourth message: %v, want close 1008", err)
	}

	c := stomptest.Dial(t, stompLn.Addr().String())
	c.Connect()
	c.Send("SUBSCRIBE", "", "id", "1", "destination", "/topic/a", "receipt", "r")
	c.Receipt("r")
	c.Send("SEND", "x", "destination", "/topic/a")
	c.Send("SEND", "x", "destination", "/topic/a")
	rest := c.Closed()
	if len(rest) == 0 || rest[len(rest)-1].Command != "ERROR" || rest[len(rest)-1].Value("message") != "message rate exceeded" {
		t.Errorf("STOMP frames before the close: %v", rest)
	}

	out, err := exec.Command(pub, "-h", "127.0.0.1", "-p", testutil.Port(mqttLn), "-V", "5", "-d", "-q", "1", "-t", "t", "-m", "x", "--repeat", "10").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Received DISCONNECT (150)") {
		t.Errorf("mosquitto_pub --repeat 10: %v: %s", err, out)
	}
	if n := exceeded(t, srv, "message_rate"); n < 3 {
		t.Errorf("message_rate breaches counted: %v", n)
	}
}

// TestLimitSubscriptions: past MaxSubscriptions a JSON-RPC subscribe gets
// -32029 and the connection stays; MQTT gets SUBACK 0x97 (5.0) or 0x80
// (3.1.1) for the filter over the limit.
func TestLimitSubscriptions(t *testing.T) {
	t.Parallel()
	sub := testutil.Need(t, "mosquitto_sub")
	srv, base := start(t, herald.Options{Limits: herald.Limits{MaxSubscriptions: 2}})
	mqttLn := testutil.Listen(t)
	go srv.ServeMQTT(mqttLn)

	r := newRPC(t, base)
	for i, topic := range []string{"a", "b", "a"} { // a again is no new subscription
		if m := r.call(i, "subscribe", map[string]any{"topic": topic}); m["error"] != nil {
			t.Fatalf("subscribe %s: %v", topic, m)
		}
	}
	m := r.call(5, "subscribe", map[string]any{"topic": "c"})
	if errorCode(m) != -32029 || !strings.Contains(m["error"].(map[string]any)["message"].(string), "too many subscriptions") {
		t.Fatalf("third subscription: %v", m)
	}
	if m := r.call(6, "unsubscribe", map[string]any{"topic": "a"}); m["error"] != nil {
		t.Fatalf("unsubscribe: %v", m)
	}
	if m := r.call(7, "subscribe", map[string]any{"topic": "c"}); m["error"] != nil {
		t.Fatalf("subscribe after unsubscribing: %v", m)
	}

	for _, tc := range []struct{ version, want string }{{"5", "0, 0, 151"}, {"311", "0, 0, 128"}} {
		out, err := exec.Command(sub, "-h", "127.0.0.1", "-p", testutil.Port(mqttLn), "-V", tc.version, "-d", "-E",
			"-t", "x", "-t", "y", "-t", "z").CombinedOutput()
		if err != nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("mosquitto_sub -V %s: %v: %s (want granted %s)", tc.version, err, out, tc.want)
		}
	}
	if n := exceeded(t, srv, "subscriptions"); n != 3 {
		t.Errorf("subscriptions breaches counted: %v", n)
	}
}

// TestLimitsOverWebSocket: STOMP and MQTT over WebSocket get their own
// protocol's answers too: STOMP ERROR then close 1008 past the message
// rate; MQTT.js 5.0 SUBACK 0x97 past MaxSubscriptions and DISCONNECT 0x96
// past the message rate.
func TestLimitsOverWebSocket(t *testing.T) {
	t.Parallel()
	_, base := start(t, herald.Options{Limits: herald.Limits{MessagesPerSecond: 0.001, MessageBurst: 5, MaxSubscriptions: 2}})

	c := stomptest.DialWS(t, base+"/ws", "v12.stomp")
	c.Connect()
	for range 6 {
		c.Send("SEND", "x", "destination", "/topic/a")
	}
	rest := c.Closed()
	if len(rest) == 0 || rest[len(rest)-1].Value("message") != "message rate exceeded" || c.CloseCode() != 1008 {
		t.Errorf("STOMP over WebSocket: frames %v, close %d", rest, c.CloseCode())
	}

	out := testutil.Node(t, 30*time.Second, "mqtt_limits.mjs", map[string]string{"HERALD_WS": wsURL(base)})
	if strings.TrimSpace(out) != `{"granted":[0,0,151],"disconnect":150}` {
		t.Errorf("MQTT.js over WebSocket: %s", out)
	}
}
