package herald_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/internal/testutil"
)

// gatewayServer serves routes (path → route) behind a real HTTP server.
func gatewayServer(t *testing.T, opts herald.Options, routes map[string]herald.GatewayRoute) (*herald.Server, string) {
	t.Helper()
	srv := herald.New(opts)
	mux := http.NewServeMux()
	for path, r := range routes {
		mux.Handle("GET "+path, srv.GatewayHandler(r))
	}
	mux.Handle("GET /metrics", srv.MetricsHandler())
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Close()
	})
	return srv, hs.URL
}

// echoService is a TCP echo service on 127.0.0.1.
func echoService(t *testing.T) string {
	t.Helper()
	ln := testutil.Listen(t)
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func wsDial(t *testing.T, url string, opts *websocket.DialOptions) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, url, opts)
	if c != nil {
		t.Cleanup(func() { c.CloseNow() })
	}
	return c, resp, err
}

// TestGatewayRefusals: each refusal comes before the upgrade with its
// own status, or, for a backend that is down, as a clear close.
func TestGatewayRefusals(t *testing.T) {
	backend := echoService(t)
	down := testutil.Listen(t)
	downAddr := down.Addr().String()
	down.Close()
	_, base := gatewayServer(t, herald.Options{
		OnConnect: func(ctx context.Context, r *herald.ConnectRequest) (herald.Identity, error) {
			switch r.Header.Get("Authorization") {
			case "":
				return herald.Identity{}, herald.ErrUnauthorized
			case "Bearer good":
				return herald.Identity{Subject: "alice"}, nil
			}
			return herald.Identity{}, herald.ErrForbidden
		},
	}, map[string]herald.GatewayRoute{
		"/tcp/echo":   {Backend: backend, AllowedOrigins: []string{"https://app.example.com"}},
		"/tcp/secure": {Backend: backend, AuthRequired: true},
		"/tcp/one":    {Backend: backend, MaxConns: 1},
		"/tcp/down":   {Backend: downAddr},
	})
	ws := "ws" + strings.TrimPrefix(base, "http")

	status := func(path string, hdr http.Header) int {
		t.Helper()
		_, resp, err := wsDial(t, ws+path, &websocket.DialOptions{HTTPHeader: hdr})
		if err == nil {
			return http.StatusSwitchingProtocols
		}
		if resp == nil {
			t.Fatalf("%s: %v", path, err)
		}
		return resp.StatusCode
	}
	for _, tt := range []struct {
		name, path string
		hdr        http.Header
		want       int
	}{
		{"unconfigured path", "/tcp/other", nil, http.StatusNotFound},
		{"allowed origin", "/tcp/echo", http.Header{"Origin": {"https://app.example.com"}}, http.StatusSwitchingProtocols},
		{"wrong origin", "/tcp/echo", http.Header{"Origin": {"https://evil.example.net"}}, http.StatusForbidden},
		{"missing token", "/tcp/secure", nil, http.StatusUnauthorized},
		{"bad token", "/tcp/secure", http.Header{"Authorization": {"Bearer bad"}}, http.StatusForbidden},
		{"good token", "/tcp/secure", http.Header{"Authorization": {"Bearer good"}}, http.StatusSwitchingProtocols},
		{"open route ignores the hook", "/tcp/echo", nil, http.StatusSwitchingProtocols},
	} {
		if got := status(tt.path, tt.hdr); got != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, got, tt.want)
		}
	}

	// The limit: a second connection is refused while the first lives.
	first, _, err := wsDial(t, ws+"/tcp/one", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := status("/tcp/one", nil); got != http.StatusServiceUnavailable {
		t.Errorf("over the limit: status %d, want 503", got)
	}
	first.Close(websocket.StatusNormalClosure, "")

	// A backend that is down: the upgrade succeeds, then a clear close.
	c, _, err := wsDial(t, ws+"/tcp/down", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Read(context.Background())
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != 1014 || ce.Reason != "backend unavailable" {
		t.Fatalf("read from a gateway whose backend is down: %v, want close 1014 \"backend unavailable\"", err)
	}
}

// TestGatewayEchoThroughPublicAPI: bytes go through and come back, and
// the route's metrics count them.
func TestGatewayEchoThroughPublicAPI(t *testing.T) {
	_, base := gatewayServer(t, herald.Options{}, map[string]herald.GatewayRoute{
		"/tcp/echo": {Backend: echoService(t), Name: "echo"},
	})
	c, _, err := wsDial(t, "ws"+strings.TrimPrefix(base, "http")+"/tcp/echo", &websocket.DialOptions{Subprotocols: []string{"binary"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Subprotocol() != "binary" {
		t.Fatalf("subprotocol %q", c.Subprotocol())
	}
	nc := websocket.NetConn(context.Background(), c, websocket.MessageBinary)
	msg := []byte("ping through the gateway")
	nc.Write(msg)
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(nc, got); err != nil || string(got) != string(msg) {
		t.Fatalf("echo %q, %v", got, err)
	}
	nc.Close()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`herald_gateway_bytes_total{route="echo",direction="to_backend"} 24`,
		`herald_gateway_bytes_total{route="echo",direction="to_client"} 24`,
		`herald_gateway_connections_total{route="echo"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestGatewayHandlerPanicsOnBadBackend(t *testing.T) {
	srv := herald.New(herald.Options{})
	defer srv.Shutdown(context.Background())
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a backend without a port")
		}
	}()
	srv.GatewayHandler(herald.GatewayRoute{Backend: "localhost"})
}

// startMosquitto runs Debian's broker on a free loopback port with a
// generated configuration and returns its address once it listens.
func startMosquitto(t *testing.T) string {
	t.Helper()
	bin := testutil.Need(t, "mosquitto")
	ln := testutil.Listen(t)
	port := testutil.Port(ln)
	ln.Close()
	conf := filepath.Join(t.TempDir(), "mosquitto.conf")
	if err := os.WriteFile(conf, []byte("listener "+port+" 127.0.0.1\nallow_anonymous true\nlog_dest stderr\nlog_type information\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", conf)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	running := make(chan struct{})
	var log strings.Builder
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if !signalled && strings.Contains(sc.Text(), " running") {
				signalled = true
				close(running)
			}
		}
		cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	select {
	case <-running:
	case <-exited:
		t.Fatalf("mosquitto exited:\n%s", log.String())
	case <-time.After(15 * time.Second):
		t.Fatal("mosquitto did not start")
	}
	return net.JoinHostPort("127.0.0.1", port)
}

// TestGatewayToMosquitto: MQTT.js over WebSocket reaches a real broker
// through the gateway, subprotocol "mqtt" and all.
func TestGatewayToMosquitto(t *testing.T) {
	broker := startMosquitto(t)
	_, base := gatewayServer(t, herald.Options{}, map[string]herald.GatewayRoute{
		"/mqtt": {Backend: broker, Subprotocols: []string{"mqtt"}, MaxMessageSize: 1 << 20, Name: "mosquitto"},
	})
	out := testutil.Node(t, 60*time.Second, "gateway_mqtt.mjs", map[string]string{
		"GATEWAY_URL": "ws" + strings.TrimPrefix(base, "http") + "/mqtt",
	})
	var res struct {
		OK       bool     `json:"ok"`
		Topics   []string `json:"topics"`
		BigBytes int      `json:"bigBytes"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &res); err != nil || !res.OK || res.BigBytes != 256<<10 {
		t.Fatalf("node: %s (%v)", out, err)
	}
}
