package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// logBuffer collects log output written by the server's goroutines while
// the test reads it.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startServe runs serve in-process on a free port and returns its base
// URL, the function that stops it, and the channel serve's result
// arrives on.
func startServe(t *testing.T, cfg Config, logs io.Writer) (string, context.CancelFunc, <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	go func() { done <- serve(ctx, cfg, logger, func(a net.Addr) { addrs <- a }) }()
	select {
	case a := <-addrs:
		return "http://" + a.String(), cancel, done
	case err := <-done:
		t.Fatalf("serve returned before serving: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not start within 10s")
	}
	panic("unreachable")
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp, string(body)
}

func health(t *testing.T, base string) (int, string, int) {
	t.Helper()
	resp, body := get(t, base+"/healthz")
	var h struct {
		Status      string `json:"status"`
		Connections int    `json:"connections"`
	}
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		t.Fatalf("/healthz body %q: %v", body, err)
	}
	return resp.StatusCode, h.Status, h.Connections
}

func TestServe(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.STOMPListen = "" // TestServeSTOMP covers it; the default port may be taken
	cfg.MQTTListen = ""  // TestServeMQTT covers it
	cfg.ShutdownTimeout = 5 * time.Second
	var logs logBuffer
	base, stop, done := startServe(t, cfg, &logs)

	if !strings.Contains(logs.String(), `msg="herald serving" addr=`+strings.TrimPrefix(base, "http://")) {
		t.Errorf("no startup line with the bound address in:\n%s", logs.String())
	}

	if code, status, n := health(t, base); code != http.StatusOK || status != "ok" || n != 0 {
		t.Errorf("/healthz = %d %q connections %d, want 200 ok 0", code, status, n)
	}
	if resp, body := get(t, base+"/metrics"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "herald_connections") {
		t.Errorf("/metrics = %d without herald_connections:\n%.500s", resp.StatusCode, body)
	}
	resp, body := get(t, base+"/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="responseText"`) || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("/ = %d %s, want the LED page:\n%.300s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := c.Write(ctx, websocket.MessageText, []byte("status")); err != nil {
		t.Fatal(err)
	}
	if _, reply, err := c.Read(ctx); err != nil || string(reply) != "LED is off" {
		t.Fatalf("status reply %q, %v; want %q", reply, err, "LED is off")
	}
	// The reply proves the session is registered.
	if _, _, n := health(t, base); n != 1 {
		t.Errorf("/healthz connections = %d with one client", n)
	}

	// Keep reading, as a live client does, so that it answers the
	// server's close frame and the shutdown need not wait out the close
	// handshake timeout.
	readErr := make(chan error, 1)
	go func() {
		_, _, err := c.Read(ctx)
		readErr <- err
	}()
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return within 10s of the cancel")
	}
	// The client was told the server is going away, not just dropped.
	if err := <-readErr; websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("client read after shutdown: %v, want close 1001", err)
	}
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), time.Second); err == nil {
		t.Error("the listener still accepts connections after serve returned")
	}
	if !strings.Contains(logs.String(), "msg=stopped") {
		t.Errorf("no stop line in:\n%s", logs.String())
	}
}

func TestServeStaticMovesTheDemo(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.STOMPListen = ""
	cfg.MQTTListen = ""
	cfg.Static = t.TempDir()
	writeFile(t, cfg.Static, "index.html", "<h1>my app</h1>")
	var logs logBuffer
	base, stop, done := startServe(t, cfg, &logs)
	defer func() { stop(); <-done }()

	if _, body := get(t, base+"/"); body != "<h1>my app</h1>" {
		t.Errorf("/ = %q, want the user's index.html", body)
	}
	if resp, body := get(t, base+"/demo/"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="heraldNotification"`) {
		t.Errorf("/demo/ = %d, want the LED page", resp.StatusCode)
	}
	if !strings.Contains(logs.String(), "demo="+base+"/demo/") {
		t.Errorf("startup line does not point at /demo/:\n%s", logs.String())
	}
}

func TestServeListenError(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := DefaultConfig()
	cfg.Listen = ln.Addr().String() // taken
	err = serve(context.Background(), cfg, slog.New(slog.DiscardHandler), nil)
	var opErr *net.OpError
	if !errors.As(err, &opErr) || !strings.HasPrefix(err.Error(), "listen: ") {
		t.Fatalf("serve on a taken port: %v, want a listen error", err)
	}
}

func TestBrowsable(t *testing.T) {
	t.Parallel()
	tests := []struct{ addr, want string }{
		{"[::]:8080", "localhost:8080"},
		{"0.0.0.0:80", "localhost:80"},
		{"127.0.0.1:9000", "127.0.0.1:9000"},
		{"[::1]:9000", "[::1]:9000"},
	}
	for _, tt := range tests {
		addr, err := net.ResolveTCPAddr("tcp", tt.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := browsable(addr); got != tt.want {
			t.Errorf("browsable(%s) = %s, want %s", tt.addr, got, tt.want)
		}
	}
}
