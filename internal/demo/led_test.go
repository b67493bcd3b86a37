package demo

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/heraldhq/herald"
)

func TestLEDHandle(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 100)
	tests := []struct {
		name   string
		on     bool // state before the command
		cmd    string
		want   string
		wantOn bool
	}{
		{"status off", false, "status", "LED is off", false},
		{"status on", true, "status", "LED is on", true},
		{"on from off", false, "on", "LED is now on (was off)", true},
		{"on from on", true, "on", "LED is now on (was on)", true},
		{"off from on", true, "off", "LED is now off (was on)", false},
		{"off from off", false, "off", "LED is now off (was off)", false},
		{"trimmed and lower-cased", false, "  ON\r\n", "LED is now on (was off)", true},
		{"unknown", true, "blink", `ERROR. Unknown command: "blink", Usage: "status|on|off"`, true},
		{"unknown is lower-cased", false, " Blink ", `ERROR. Unknown command: "blink", Usage: "status|on|off"`, false},
		{"empty", false, "", `ERROR. Unknown command: "", Usage: "status|on|off"`, false},
		{"newline cannot forge a line", false, "a\nb", `ERROR. Unknown command: "a\nb", Usage: "status|on|off"`, false},
		{"long command is cut", false, long, `ERROR. Unknown command: "` + long[:maxEcho] + `...", Usage: "status|on|off"`, false},
		{"cut keeps UTF-8 whole", false, strings.Repeat("a", maxEcho-1) + "é", `ERROR. Unknown command: "` + strings.Repeat("a", maxEcho-1) + `...", Usage: "status|on|off"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			led := &LED{on: tt.on}
			var published []string
			got := led.Handle(context.Background(), tt.cmd, func(_ context.Context, msg string) {
				published = append(published, msg)
			})
			if got != tt.want {
				t.Errorf("Handle(%q) = %q, want %q", tt.cmd, got, tt.want)
			}
			if led.On() != tt.wantOn {
				t.Errorf("after %q the LED is on = %v, want %v", tt.cmd, led.On(), tt.wantOn)
			}
			// Without a client in the context the host is unknown.
			if want := []string{"[unknown] - " + tt.want}; len(published) != 1 || published[0] != want[0] {
				t.Errorf("published %q, want %q", published, want)
			}
		})
	}
}

func TestLEDHandleNilPublish(t *testing.T) {
	t.Parallel()
	var led LED
	if got := led.Handle(context.Background(), "on", nil); got != "LED is now on (was off)" {
		t.Fatalf("Handle = %q", got)
	}
}

// TestLEDConcurrentToggles checks that "(was ...)" is exact under races:
// with every command under one lock, the replies of n alternating
// commands chain into one consistent history.
func TestLEDConcurrentToggles(t *testing.T) {
	t.Parallel()
	var led LED
	const n = 200
	var wg sync.WaitGroup
	replies := make(chan string, n)
	for i := range n {
		cmd := "on"
		if i%2 == 1 {
			cmd = "off"
		}
		wg.Go(func() { replies <- led.Handle(context.Background(), cmd, nil) })
	}
	wg.Wait()
	close(replies)
	// Every reply reports a transition from some state to cmd's state;
	// count the real transitions: they must alternate off->on->off...
	changes := map[string]int{}
	for r := range replies {
		changes[r]++
	}
	up, down := changes["LED is now on (was off)"], changes["LED is now off (was on)"]
	if d := up - down; d != 0 && d != 1 {
		t.Fatalf("%d off->on and %d on->off transitions cannot end in one state: %v", up, down, changes)
	}
	if led.On() != (up > down) {
		t.Fatalf("LED on = %v after %d up and %d down transitions", led.On(), up, down)
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"", 3, ""},
		{"abc", 3, "abc"},
		{"abcd", 3, "abc..."},
		{"aé", 2, "a..."}, // é is two bytes: cutting at 2 would split it
		{"日本", 4, "日..."},
	}
	for _, tt := range tests {
		if got := truncate(tt.s, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

// startDemo serves Register'ed LED behind the binary's mux on 127.0.0.1.
func startDemo(t *testing.T) string {
	t.Helper()
	srv := herald.New(herald.Options{})
	Register(srv, &LED{})
	hs := httptest.NewServer(NewMux(MuxConfig{Server: srv, Demo: true}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Close()
	})
	return hs.URL
}

func dial(ctx context.Context, t *testing.T, base string, subprotocols ...string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws", &websocket.DialOptions{Subprotocols: subprotocols})
	if err != nil {
		t.Fatalf("dial %v: %v", subprotocols, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

type rpcMessage struct {
	ID     *int            `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func readRPC(ctx context.Context, t *testing.T, c *websocket.Conn) rpcMessage {
	t.Helper()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m rpcMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not JSON-RPC: %s: %v", b, err)
	}
	return m
}

// call sends a request and returns its response, failing on any other
// message in between (the caller has no subscriptions that could send
// one).
func call(ctx context.Context, t *testing.T, c *websocket.Conn, id int, method string, params any) rpcMessage {
	t.Helper()
	req, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	if err := c.Write(ctx, websocket.MessageText, req); err != nil {
		t.Fatalf("write %s: %v", method, err)
	}
	m := readRPC(ctx, t, c)
	if m.ID == nil || *m.ID != id {
		t.Fatalf("%s: got %+v, want the response to id %d", method, m, id)
	}
	if m.Error != nil {
		t.Fatalf("%s: error %d %s", method, m.Error.Code, m.Error.Message)
	}
	return m
}

func TestRegisterTextAndNotification(t *testing.T) {
	t.Parallel()
	base := startDemo(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()

	// The subscription is in place once its response arrives, so the
	// publication below cannot overtake it.
	watcher := dial(ctx, t, base, "herald.v1")
	call(ctx, t, watcher, 1, "subscribe", map[string]string{"topic": Topic})

	text := dial(ctx, t, base) // no subprotocol: the plain-text protocol
	if err := text.Write(ctx, websocket.MessageText, []byte("on")); err != nil {
		t.Fatal(err)
	}
	typ, reply, err := text.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if typ != websocket.MessageText || string(reply) != "LED is now on (was off)" {
		t.Fatalf("reply %v %q, want text %q", typ, reply, "LED is now on (was off)")
	}

	n := readRPC(ctx, t, watcher)
	var p struct {
		Topic string `json:"topic"`
		Seq   uint64 `json:"seq"`
		Epoch string `json:"epoch"`
		Data  string `json:"data"`
	}
	if err := json.Unmarshal(n.Params, &p); err != nil || n.Method != "message" {
		t.Fatalf("notification %+v (params %s): %v", n, n.Params, err)
	}
	if p.Topic != Topic || p.Data != "[127.0.0.1] - LED is now on (was off)" || p.Seq == 0 || p.Epoch == "" {
		t.Fatalf("notification params %+v", p)
	}
}

func TestRegisterJSONRPCMethods(t *testing.T) {
	t.Parallel()
	base := startDemo(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c := dial(ctx, t, base, "herald.v1")
	steps := []struct {
		method string
		params any
		want   string
	}{
		{"status", nil, "LED is off"},
		{"on", map[string]any{"ignored": true}, "LED is now on (was off)"},
		{"status", []int{1, 2}, "LED is on"},
		{"off", nil, "LED is now off (was on)"},
	}
	for i, s := range steps {
		m := call(ctx, t, c, i+1, s.method, s.params)
		var got string
		if err := json.Unmarshal(m.Result, &got); err != nil || got != s.want {
			t.Fatalf("%s: result %s, want %q", s.method, m.Result, s.want)
		}
	}
}
