package herald_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/internal/stomp"
	"github.com/heraldhq/herald/internal/stomp/stomptest"
	"github.com/heraldhq/herald/internal/testutil"
	"github.com/heraldhq/herald/internal/wsframe"
)

// startSTOMP runs a server with a WebSocket endpoint and a STOMP
// listener, both on 127.0.0.1.
func startSTOMP(t *testing.T, opts herald.Options) (srv *herald.Server, base, addr string) {
	t.Helper()
	srv, base = start(t, opts)
	ln := testutil.Listen(t)
	go srv.ServeSTOMP(ln)
	return srv, base, ln.Addr().String()
}

// stompTransports dials a connected STOMP client over TCP or WebSocket.
var stompTransports = []struct {
	name string
	dial func(t *testing.T, base, addr string) *stomptest.Client
}{
	{"tcp", func(t *testing.T, _, addr string) *stomptest.Client { return stomptest.Dial(t, addr) }},
	{"websocket", func(t *testing.T, base, _ string) *stomptest.Client {
		return stomptest.DialWS(t, base+"/ws", "v12.stomp")
	}},
}

func header(f *stomp.Frame, key string) string { return f.Value(key) }

// TestSTOMPVersions runs a subscription and a SEND in each version over
// each transport, with headers that need each version's escaping.
func TestSTOMPVersions(t *testing.T) {
	_, base, addr := startSTOMP(t, herald.Options{})
	for _, tr := range stompTransports {
		for _, v := range []string{"1.0", "1.1", "1.2"} {
			t.Run(tr.name+"/"+v, func(t *testing.T) {
				c := tr.dial(t, base, addr)
				connected := c.Connect("accept-version", v, "host", "localhost", "heart-beat", "0,0")
				if got := header(connected, "version"); got != v {
					t.Fatalf("CONNECTED version %q, want %q", got, v)
				}
				if !strings.HasPrefix(header(connected, "server"), "Herald/") || header(connected, "session") == "" {
					t.Errorf("CONNECTED headers %v", connected.Headers)
				}
				if _, ok := connected.Get("heart-beat"); ok != (v != "1.0") {
					t.Errorf("heart-beat header present %v in %s", ok, v)
				}
				dest := "/topic/versions." + strings.ReplaceAll(v, ".", "") + "." + tr.name
				c.Send("SUBSCRIBE", "", "id", "sub-"+v, "destination", dest, "ack", "client", "receipt", "r1")
				c.Receipt("r1")
				value := "a:b" // 1.0 cannot carry a line break; 1.1 and 1.2 escape one
				if v != "1.0" {
					value = "a:b\nc\\d"
				}
				c.Send("SEND", "héllo", "destination", dest, "content-type", "text/plain;charset=utf-8", "x-note", value)
				m := c.Expect("MESSAGE")
				if string(m.Body) != "héllo" || header(m, "destination") != dest || header(m, "subscription") != "sub-"+v ||
					header(m, "content-type") != "text/plain;charset=utf-8" || header(m, "content-length") != "6" || header(m, "x-note") != value {
					t.Fatalf("MESSAGE %v %q", m.Headers, m.Body)
				}
				if _, ok := m.Get("ack"); ok != (v == "1.2") {
					t.Errorf("ack header present %v in %s", ok, v)
				}
				// Acknowledge as the version says.
				switch v {
				case "1.2":
					c.Send("ACK", "", "id", header(m, "ack"), "receipt", "r2")
				case "1.1":
					c.Send("ACK", "", "message-id", header(m, "message-id"), "subscription", "sub-"+v, "receipt", "r2")
				default:
					c.Send("ACK", "", "message-id", header(m, "message-id"), "receipt", "r2")
				}
				c.Receipt("r2")
				c.Send("DISCONNECT", "", "receipt", "bye")
				c.Receipt("bye")
				c.Closed()
			})
		}
	}
}

// TestSTOMPCrossProtocol: a STOMP SEND reaches a JSON subscriber, and Go
// and JSON publishers reach a STOMP subscriber.
func TestSTOMPCrossProtocol(t *testing.T) {
	srv, base, addr := startSTOMP(t, herald.Options{})
	js := newRPC(t, base)
	if r := js.call(1, "subscribe", map[string]any{"topic": "x/y"}); r["error"] != nil {
		t.Fatal(r)
	}
	c := stomptest.Dial(t, addr)
	c.Connect()
	c.Send("SUBSCRIBE", "", "id", "0", "destination", "/topic/x.y", "receipt", "r")
	c.Receipt("r")

	c.Send("SEND", `{"t":21.5}`, "destination", "/topic/x.y", "content-type", "application/json", "x-from", "stomp")
	p := js.note()["params"].(map[string]any)
	if p["topic"] != "x/y" || p["data"].(map[string]any)["t"] != 21.5 || p["headers"].(map[string]any)["x-from"] != "stomp" {
		t.Fatalf("JSON subscriber got %v", p)
	}
	if m := c.Expect("MESSAGE"); string(m.Body) != `{"t":21.5}` {
		t.Fatalf("STOMP subscriber got its own message as %q", m.Body)
	}

	if _, err := srv.Publish(context.Background(), "x/y", []byte("from Go"), herald.WithHeader("x-origin", "go")); err != nil {
		t.Fatal(err)
	}
	m := c.Expect("MESSAGE")
	if string(m.Body) != "from Go" || header(m, "destination") != "/topic/x.y" || header(m, "x-origin") != "go" {
		t.Fatalf("Go publish arrived as %v %q", m.Headers, m.Body)
	}
	if _, hasType := m.Get("content-type"); hasType {
		t.Errorf("a message without a content type got one: %v", m.Headers)
	}
	js.note()

	if r := js.call(2, "publish", map[string]any{"topic": "x/y", "data": map[string]any{"on": true}}); r["error"] != nil {
		t.Fatal(r)
	}
	m = c.Expect("MESSAGE")
	if string(m.Body) != `{"on":true}` || header(m, "content-type") != "application/json" {
		t.Fatalf("JSON publish arrived as %v %q", m.Headers, m.Body)
	}
}

// TestSTOMPBinaryBodies sends bodies holding NUL octets both ways: over
// WebSocket they travel as binary messages.
func TestSTOMPBinaryBodies(t *testing.T) {
	srv, base, addr := startSTOMP(t, herald.Options{})
	for _, tr := range stompTransports {
		t.Run(tr.name, func(t *testing.T) {
			c := tr.dial(t, base, addr)
			c.Connect()
			c.Send("SUBSCRIBE", "", "id", "b", "destination", "/topic/bin."+tr.name, "receipt", "r")
			c.Receipt("r")
			body := "\x00\x01\xff\x00end"
			c.Send("SEND", body, "destination", "/topic/bin."+tr.name, "content-length", fmt.Sprint(len(body)))
			if m := c.Expect("MESSAGE"); string(m.Body) != body {
				t.Fatalf("body %q, want %q", m.Body, body)
			}
			srv.Publish(context.Background(), "bin/"+tr.name, []byte("text again"))
			c.Expect("MESSAGE")
			if tr.name == "websocket" {
				ops := c.Ops()
				want := []byte{wsframe.OpText, wsframe.OpText, wsframe.OpBinary, wsframe.OpText} // CONNECTED, RECEIPT, two MESSAGEs
				if string(ops) != string(want) {
					t.Errorf("WebSocket opcodes %v, want %v", ops, want)
				}
			}
		})
	}
}

// TestSTOMPStreamSplitAnywhere sends several frames in one write, then a
// frame a byte at a time, with heart-beats between.
func TestSTOMPStreamSplitAnywhere(t *testing.T) {
	_, _, addr := startSTOMP(t, herald.Options{})
	c := stomptest.Dial(t, addr)
	c.SendRaw("CONNECT\naccept-version:1.2\nhost:h\n\n\x00\nSUBSCRIBE\nid:1\ndestination:/topic/split\n\n\x00\r\n" +
		"SEND\ndestination:/topic/split\n\none\x00\n\nSEND\r\ndestination:/topic/split\r\ncontent-length:3\r\n\r\ntwo\x00")
	c.Expect("CONNECTED")
	if m := c.Expect("MESSAGE"); string(m.Body) != "one" {
		t.Fatalf("first body %q", m.Body)
	}
	if m := c.Expect("MESSAGE"); string(m.Body) != "two" {
		t.Fatalf("second body %q", m.Body)
	}
	for _, b := range []byte("\nSEND\ndestination:/topic/split\n\nthree\x00") {
		c.SendRaw(string([]byte{b}))
	}
	if m := c.Expect("MESSAGE"); string(m.Body) != "three" {
		t.Fatalf("third body %q", m.Body)
	}
}

func TestSTOMPWildcardsAndDestinations(t *testing.T) {
	srv, _, addr := startSTOMP(t, herald.Options{})
	c := stomptest.Dial(t, addr)
	c.Connect()
	c.Send("SUBSCRIBE", "", "id", "one", "destination", "/topic/home.*.temp")
	c.Send("SUBSCRIBE", "", "id", "all", "destination", "/topic/home.>", "receipt", "r")
	c.Receipt("r")
	srv.Publish(context.Background(), "home/kitchen/temp", []byte("21"))
	srv.Publish(context.Background(), "home/kitchen/temp.c", []byte("21.5")) // a '.' inside a level
	got := map[string]string{}
	for range 3 {
		m := c.Expect("MESSAGE")
		got[header(m, "subscription")+" "+header(m, "destination")] = string(m.Body)
	}
	want := map[string]string{
		"one /topic/home.kitchen.temp":     "21",
		"all /topic/home.kitchen.temp":     "21",
		"all /topic/home.kitchen.temp%2Ec": "21.5",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("deliveries %v, want %v", got, want)
	}
	// The escaped name reaches the same topic.
	c.Send("SUBSCRIBE", "", "id", "exact", "destination", "/topic/home.kitchen.temp%2Ec", "receipt", "r2")
	c.Receipt("r2")
	srv.Publish(context.Background(), "home/kitchen/temp.c", []byte("22"))
	subs := map[string]bool{}
	for range 2 {
		subs[header(c.Expect("MESSAGE"), "subscription")] = true
	}
	if !subs["exact"] || !subs["all"] {
		t.Fatalf("subscriptions %v", subs)
	}
}

func TestSTOMPTransactions(t *testing.T) {
	_, _, addr := startSTOMP(t, herald.Options{})
	sub := stomptest.Dial(t, addr)
	sub.Connect()
	sub.Send("SUBSCRIBE", "", "id", "s", "destination", "/topic/tx", "receipt", "r")
	sub.Receipt("r")
	c := stomptest.Dial(t, addr)
	c.Connect()

	c.Send("BEGIN", "", "transaction", "t1")
	c.Send("SEND", "in t1 (1)", "destination", "/topic/tx", "transaction", "t1")
	c.Send("SEND", "in t1 (2)", "destination", "/topic/tx", "transaction", "t1")
	c.Send("BEGIN", "", "transaction", "t2")
	c.Send("SEND", "in t2", "destination", "/topic/tx", "transaction", "t2")
	c.Send("SEND", "outside", "destination", "/topic/tx", "receipt", "sent")
	c.Receipt("sent")
	// Only the message outside the transactions is out.
	if m := sub.Expect("MESSAGE"); string(m.Body) != "outside" {
		t.Fatalf("got %q before any commit", m.Body)
	}
	c.Send("ABORT", "", "transaction", "t2")
	c.Send("COMMIT", "", "transaction", "t1", "receipt", "committed")
	c.Receipt("committed")
	for _, want := range []string{"in t1 (1)", "in t1 (2)"} {
		if m := sub.Expect("MESSAGE"); string(m.Body) != want {
			t.Fatalf("after commit got %q, want %q", m.Body, want)
		}
	}
	// A transaction open at DISCONNECT vanishes.
	c.Send("BEGIN", "", "transaction", "t3")
	c.Send("SEND", "in t3", "destination", "/topic/tx", "transaction", "t3")
	c.Send("DISCONNECT", "", "receipt", "bye")
	c.Receipt("bye")
	c.Closed()
	// A marker proves nothing else was delivered meanwhile.
	c2 := stomptest.Dial(t, addr)
	c2.Connect()
	c2.Send("SEND", "marker", "destination", "/topic/tx")
	if m := sub.Expect("MESSAGE"); string(m.Body) != "marker" {
		t.Fatalf("got %q: an aborted or dropped transaction leaked", m.Body)
	}
}

func TestSTOMPConnectAuthentication(t *testing.T) {
	_, base, addr := startSTOMP(t, herald.Options{
		OnConnect: func(ctx context.Context, r *herald.ConnectRequest) (herald.Identity, error) {
			if r.Protocol == "herald.v1" || r.Transport == "websocket" && r.Login == "" {
				return herald.Identity{}, nil // the WebSocket handshake; STOMP logs in with CONNECT
			}
			if r.Login != "alice" || r.Passcode != "s3cret:x" {
				return herald.Identity{}, fmt.Errorf("%w: bad login or passcode", herald.ErrUnauthorized)
			}
			return herald.Identity{Subject: r.Login}, nil
		},
	})
	_ = base
	bad := stomptest.Dial(t, addr)
	bad.Send("CONNECT", "", "accept-version", "1.2", "host", "h", "login", "alice", "passcode", "wrong")
	e := bad.Expect("ERROR")
	if header(e, "message") != "authentication failed" || !strings.Contains(string(e.Body), "bad login") {
		t.Fatalf("ERROR %v %q", e.Headers, e.Body)
	}
	bad.Closed()

	good := stomptest.Dial(t, addr)
	// CONNECT headers are not escaped: the colon in the passcode is literal.
	good.Connect("accept-version", "1.2", "host", "h", "login", "alice", "passcode", "s3cret:x")
}

func TestSTOMPAuthorization(t *testing.T) {
	_, _, addr := startSTOMP(t, herald.Options{
		Authorize: func(ctx context.Context, c *herald.Client, a herald.Action, topic string) error {
			if strings.HasPrefix(topic, "secret") || topic == "/queue/secret" {
				return fmt.Errorf("%w: %s is secret", herald.ErrForbidden, topic)
			}
			return nil
		},
	})
	for _, tt := range []struct{ cmd, dest, want string }{
		{"SUBSCRIBE", "/topic/secret.>", "not allowed to subscribe to /topic/secret.>"},
		{"SEND", "/topic/secret.x", "not allowed to send to /topic/secret.x"},
		{"SUBSCRIBE", "/queue/secret", "not allowed to subscribe to /queue/secret"},
		{"SEND", "/queue/secret", "not allowed to send to /queue/secret"},
	} {
		c := stomptest.Dial(t, addr)
		c.Connect()
		c.Send(tt.cmd, "", "id", "1", "destination", tt.dest)
		if e := c.Expect("ERROR"); header(e, "message") != tt.want {
			t.Errorf("%s %s: ERROR %q, want %q", tt.cmd, tt.dest, header(e, "message"), tt.want)
		}
		c.Closed()
	}
}

func TestSTOMPRPC(t *testing.T) {
	srv, base, addr := startSTOMP(t, herald.Options{})
	srv.Handle("echo", func(ctx context.Context, params json.RawMessage) (any, error) {
		cl, _ := herald.ClientFromContext(ctx)
		return map[string]any{"params": params, "protocol": cl.Protocol}, nil
	})
	srv.Handle("status", func(ctx context.Context, params json.RawMessage) (any, error) {
		return "LED is off", nil
	})
	srv.Handle("fail", func(ctx context.Context, params json.RawMessage) (any, error) {
		return nil, herald.Errorf(4000, "no such LED")
	})
	c := stomptest.Dial(t, addr)
	c.Connect()
	c.Send("SUBSCRIBE", "", "id", "replies", "destination", "/temp-queue/replies", "receipt", "r")
	c.Receipt("r")

	call := func(dest, body string, corr string) *stomp.Frame {
		t.Helper()
		c.Send("SEND", body, "destination", dest, "reply-to", "/temp-queue/replies", "correlation-id", corr)
		m := c.Expect("MESSAGE")
		if header(m, "correlation-id") != corr || header(m, "destination") != "/temp-queue/replies" || header(m, "subscription") != "replies" {
			t.Fatalf("reply %v %q", m.Headers, m.Body)
		}
		return m
	}
	m := call("/rpc/echo", `{"led":1}`, "c1")
	if string(m.Body) != `{"params":{"led":1},"protocol":"stomp"}` || header(m, "content-type") != "application/json" {
		t.Fatalf("echo of JSON: %v %q", m.Headers, m.Body)
	}
	if m := call("/rpc/echo", "not json", "c2"); string(m.Body) != `{"params":"not json","protocol":"stomp"}` {
		t.Fatalf("echo of text: %q", m.Body)
	}
	if m := call("/rpc/status", "", "c3"); string(m.Body) != "LED is off" || header(m, "content-type") != "text/plain; charset=utf-8" {
		t.Fatalf("status: %v %q", m.Headers, m.Body)
	}
	if m := call("/rpc/fail", "", "c4"); header(m, "error") != "true" || header(m, "error-code") != "4000" || string(m.Body) != "no such LED" {
		t.Fatalf("failing handler: %v %q", m.Headers, m.Body)
	}
	if m := call("/rpc/nope", "", "c5"); header(m, "error-code") != "-32601" || string(m.Body) != "method not found: nope" {
		t.Fatalf("unknown method: %v %q", m.Headers, m.Body)
	}
	// A reply to a topic is published there, for every protocol.
	js := newRPC(t, base)
	js.call(1, "subscribe", map[string]any{"topic": "replies/all"})
	c.Send("SEND", "", "destination", "/rpc/status", "reply-to", "/topic/replies.all", "correlation-id", "c6")
	p := js.note()["params"].(map[string]any)
	if p["data"] != "LED is off" || p["headers"].(map[string]any)["correlation-id"] != "c6" {
		t.Fatalf("reply on a topic: %v", p)
	}
	// Another session's temp-queue of the same name is its own.
	other := stomptest.Dial(t, addr)
	other.Connect()
	other.Send("SUBSCRIBE", "", "id", "x", "destination", "/temp-queue/replies")
	other.Send("SEND", "", "destination", "/rpc/status", "reply-to", "/temp-queue/replies", "correlation-id", "o1")
	if m := other.Expect("MESSAGE"); header(m, "correlation-id") != "o1" {
		t.Fatalf("other session got %v", m.Headers)
	}
	c.Send("SEND", "", "destination", "/topic/marker", "receipt", "m")
	c.Receipt("m") // no MESSAGE before it: the other session's reply stayed there
}

func TestSTOMPHeartBeats(t *testing.T) {
	_, base, addr := startSTOMP(t, herald.Options{STOMP: herald.STOMPOptions{HeartBeatReceive: time.Second}})
	for _, tr := range stompTransports {
		t.Run("server sends over "+tr.name, func(t *testing.T) {
			t.Parallel()
			c := tr.dial(t, base, addr)
			connected := c.Connect("accept-version", "1.2", "host", "h", "heart-beat", "0,1000")
			if got := header(connected, "heart-beat"); got != "1000,1000" {
				t.Fatalf("CONNECTED heart-beat %q", got)
			}
			c.WaitBeats(2)
		})
	}
	t.Run("silent client is closed", func(t *testing.T) {
		t.Parallel()
		c := stomptest.Dial(t, addr)
		c.Connect("accept-version", "1.2", "host", "h", "heart-beat", "500,0") // promises 1s (the server's minimum), sends nothing
		rest := c.Closed()
		if len(rest) != 1 || rest[0].Command != "ERROR" || !strings.HasPrefix(header(rest[0], "message"), "heart-beat timeout") {
			t.Fatalf("frames before the close: %v", rest)
		}
	})
	t.Run("beating client stays", func(t *testing.T) {
		t.Parallel()
		c := stomptest.Dial(t, addr)
		c.Connect("accept-version", "1.2", "host", "h", "heart-beat", "1000,0")
		stop := time.After(3500 * time.Millisecond) // well past the 1.5s limit
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for done := false; !done; {
			select {
			case <-tick.C:
				c.SendRaw("\n")
			case <-stop:
				done = true
			}
		}
		c.Send("SEND", "still here", "destination", "/topic/hb", "receipt", "alive")
		c.Receipt("alive")
	})
}

func TestSTOMPNoConnect(t *testing.T) {
	_, _, addr := startSTOMP(t, herald.Options{STOMP: herald.STOMPOptions{ConnectTimeout: time.Second}})
	c := stomptest.Dial(t, addr)
	rest := c.Closed()
	if len(rest) != 1 || header(rest[0], "message") != "no CONNECT frame within 1s" {
		t.Fatalf("frames before the close: %v", rest)
	}
}

func TestSTOMPShutdown(t *testing.T) {
	srv := herald.New(herald.Options{})
	ln := testutil.Listen(t)
	go srv.ServeSTOMP(ln)
	c := stomptest.Dial(t, ln.Addr().String())
	c.Connect()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	rest := c.Closed()
	if len(rest) != 1 || header(rest[0], "message") != "server shutting down" {
		t.Fatalf("frames before the close: %v", rest)
	}
	c.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestSTOMPSlowAcker: a client-ack topic subscription that never
// acknowledges is a slow consumer once it holds its whole credit.
func TestSTOMPSlowAcker(t *testing.T) {
	srv, _, addr := startSTOMP(t, herald.Options{})
	c := stomptest.Dial(t, addr)
	c.Connect()
	c.Send("SUBSCRIBE", "", "id", "lazy", "destination", "/topic/slow", "ack", "client", "prefetch-count", "3", "receipt", "r")
	c.Receipt("r")
	for i := range 4 {
		srv.Publish(context.Background(), "slow", []byte(fmt.Sprint(i)))
	}
	rest := c.Closed()
	if len(rest) != 4 || rest[3].Command != "ERROR" || !strings.HasPrefix(header(rest[3], "message"), "slow consumer: 3 messages unacknowledged") {
		t.Fatalf("frames: %v", rest)
	}
}

func TestSendToQueueAPI(t *testing.T) {
	srv, _, addr := startSTOMP(t, herald.Options{STOMP: herald.STOMPOptions{QueueBacklog: 2}})
	ctx := context.Background()
	for i := range 2 {
		if err := srv.SendToQueue(ctx, "jobs", []byte(fmt.Sprint("job ", i)), herald.WithHeader("x-kind", "test")); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.SendToQueue(ctx, "jobs", []byte("one too many")); !errors.Is(err, herald.ErrQueueFull) {
		t.Fatalf("third message: %v, want ErrQueueFull", err)
	}
	c := stomptest.Dial(t, addr)
	c.Connect()
	c.Send("SUBSCRIBE", "", "id", "w", "destination", "/queue/jobs")
	for i := range 2 {
		m := c.Expect("MESSAGE")
		if string(m.Body) != fmt.Sprint("job ", i) || header(m, "destination") != "/queue/jobs" || header(m, "x-kind") != "test" ||
			!strings.HasPrefix(header(m, "message-id"), "q") {
			t.Fatalf("MESSAGE %v %q", m.Headers, m.Body)
		}
	}
}

// TestSTOMPOverTLS serves STOMP on a TLS listener (goroutine-served).
func TestSTOMPOverTLS(t *testing.T) {
	srv, _, _ := startSTOMP(t, herald.Options{})
	certs := httptest.NewTLSServer(nil) // for its certificate
	defer certs.Close()
	ln := tls.NewListener(testutil.Listen(t), certs.TLS)
	go srv.ServeSTOMP(ln)
	conn, err := tls.Dial("tcp", ln.Addr().String(), certs.Client().Transport.(*http.Transport).TLSClientConfig)
	if err != nil {
		t.Fatal(err)
	}
	c := stomptest.Over(t, conn)
	c.Connect()
	c.Send("SUBSCRIBE", "", "id", "s", "destination", "/topic/tls")
	c.Send("SEND", "secret", "destination", "/topic/tls")
	if m := c.Expect("MESSAGE"); string(m.Body) != "secret" {
		t.Fatalf("body %q", m.Body)
	}
}

// TestSTOMPFastProducer writes 20,000 frames at once: the server reads
// them as fast as it handles them (pausing the socket meanwhile) rather
// than refusing the client.
func TestSTOMPFastProducer(t *testing.T) {
	_, _, addr := startSTOMP(t, herald.Options{})
	c := stomptest.Dial(t, addr)
	c.Connect()
	var b strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&b, "SEND\ndestination:/topic/firehose\ncontent-type:text/plain\n\nmessage number %d\x00", i)
	}
	b.WriteString("SEND\ndestination:/topic/firehose\nreceipt:all\n\n\x00")
	go c.SendRaw(b.String()) // the server may pause reading: do not block the test on it
	c.Receipt("all")
}
