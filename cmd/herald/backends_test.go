package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

const backendsFile = `
gateway:
  routes:
    - path: /tcp/mail
      backend: 127.0.0.1:143
      origins: ["https://mail.example.com"]
      max_conns: 100
      connect_timeout: 3s
      idle_timeout: 10m
      subprotocols: [imap]
      max_message_size: 1048576
      buffer: 65536
      tls: {enabled: true, server_name: mail.internal, insecure_skip_verify: true}
rpc:
  routes:
    - prefix: "orders."
      url: http://127.0.0.1:9000/rpc
      timeout: 2s
      max_concurrency: 8
      forward_headers: [Cookie]
    - method: ping
      url: https://api.internal/ping
api:
  publish_path: /v1/publish
  keys: ["0123456789abcdef0123"]
  max_body: 4096
hooks:
  connect_url: http://127.0.0.1:9000/connect
  authorize_url: http://127.0.0.1:9000/authorize
  timeout: 1s
  cache_ttl: -1s
  forward_headers: [Authorization]
`

func TestBackendsConfig(t *testing.T) {
	t.Parallel()
	got, err := LoadConfig([]string{"--config", writeConfig(t, backendsFile)}, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	want := GatewayRouteConfig{
		Path: "/tcp/mail", Backend: "127.0.0.1:143", Origins: []string{"https://mail.example.com"}, MaxConns: 100,
		ConnectTimeout: 3 * time.Second, IdleTimeout: 10 * time.Minute, Subprotocols: []string{"imap"},
		MaxMessageSize: 1 << 20, Buffer: 65536, TLS: BackendTLS{Enabled: true, ServerName: "mail.internal", InsecureSkipVerify: true},
	}
	if len(got.Gateway.Routes) != 1 || !reflect.DeepEqual(got.Gateway.Routes[0], want) {
		t.Errorf("gateway routes %+v", got.Gateway.Routes)
	}
	if r := got.RPC.Routes; len(r) != 2 || r[0].Prefix != "orders." || r[0].MaxConcurrency != 8 || r[1].Method != "ping" || r[0].Timeout != 2*time.Second {
		t.Errorf("rpc routes %+v", r)
	}
	if got.API.PublishPath != "/v1/publish" || got.API.MaxBody != 4096 || len(got.API.Keys) != 1 {
		t.Errorf("api %+v", got.API)
	}
	if got.Hooks.CacheTTL != -time.Second || got.Hooks.Timeout != time.Second || got.Hooks.ForwardHeaders[0] != "Authorization" {
		t.Errorf("hooks %+v", got.Hooks)
	}

	// The lists of routes come whole from one variable or flag, as YAML
	// or JSON; the keys from a comma-separated variable.
	got, err = LoadConfig([]string{`--rpc-routes=[{"method":"a","url":"http://x:1/"}]`}, env(map[string]string{
		"HERALD_GATEWAY_ROUTES": `[{path: /tcp/a, backend: "127.0.0.1:1"}, {path: /tcp/b, backend: "127.0.0.1:2"}]`,
		"HERALD_API_KEYS":       "0123456789abcdef-one, 0123456789abcdef-two",
	}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Gateway.Routes) != 2 || got.Gateway.Routes[1].Backend != "127.0.0.1:2" {
		t.Errorf("gateway routes from the environment: %+v", got.Gateway.Routes)
	}
	if len(got.RPC.Routes) != 1 || got.RPC.Routes[0].URL != "http://x:1/" {
		t.Errorf("rpc routes from a flag: %+v", got.RPC.Routes)
	}
	if !reflect.DeepEqual(got.API.Keys, []string{"0123456789abcdef-one", "0123456789abcdef-two"}) {
		t.Errorf("keys %q", got.API.Keys)
	}
	if _, err := LoadConfig(nil, env(map[string]string{"HERALD_GATEWAY_ROUTES": `[{path: /x, backnd: "h:1"}]`}), &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "backnd") {
		t.Errorf("a misspelt route key: %v", err)
	}
}

func TestValidateBackends(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		change  func(*Config)
		wantErr string
	}{
		{"relative route path", func(c *Config) { c.Gateway.Routes = []GatewayRouteConfig{{Path: "tcp", Backend: "h:1"}} }, `gateway.routes[0].path: "tcp" is not a clean absolute path`},
		{"route on ws_path", func(c *Config) { c.Gateway.Routes = []GatewayRouteConfig{{Path: "/ws", Backend: "h:1"}} }, `"/ws" is already the path of ws_path`},
		{"two routes on one path", func(c *Config) {
			c.Gateway.Routes = []GatewayRouteConfig{{Path: "/a", Backend: "h:1"}, {Path: "/a", Backend: "h:2"}}
		}, `gateway.routes[1].path: "/a" is already the path of gateway.routes[0].path`},
		{"no port", func(c *Config) { c.Gateway.Routes = []GatewayRouteConfig{{Path: "/a", Backend: "mail"}} }, `backend: "mail" is not host:port`},
		{"port 0", func(c *Config) { c.Gateway.Routes = []GatewayRouteConfig{{Path: "/a", Backend: "h:0"}} }, `port "0"`},
		{"auth without a hook", func(c *Config) {
			c.Gateway.Routes = []GatewayRouteConfig{{Path: "/a", Backend: "h:1", AuthRequired: true}}
		}, "needs hooks.connect_url"},
		{"tls settings while disabled", func(c *Config) {
			c.Gateway.Routes = []GatewayRouteConfig{{Path: "/a", Backend: "h:1", TLS: BackendTLS{ServerName: "x"}}}
		}, "enabled is false"},
		{"missing CA file", func(c *Config) {
			c.Gateway.Routes = []GatewayRouteConfig{{Path: "/a", Backend: "h:1", TLS: BackendTLS{Enabled: true, CAFile: "/nonexistent/ca.pem"}}}
		}, "tls.ca_file: open /nonexistent/ca.pem"},
		{"base64 as a route subprotocol", func(c *Config) {
			c.Gateway.Routes = []GatewayRouteConfig{{Path: "/a", Backend: "h:1", Subprotocols: []string{"base64"}}}
		}, "cannot be a binary subprotocol"},
		{"rpc with both", func(c *Config) { c.RPC.Routes = []RPCRouteConfig{{Method: "a", Prefix: "a.", URL: "http://x/"}} }, "exactly one of method and prefix"},
		{"rpc with neither", func(c *Config) { c.RPC.Routes = []RPCRouteConfig{{URL: "http://x/"}} }, "exactly one of method and prefix"},
		{"rpc bound twice", func(c *Config) {
			c.RPC.Routes = []RPCRouteConfig{{Method: "a", URL: "http://x/"}, {Method: "a", URL: "http://y/"}}
		}, "method a is bound twice"},
		{"rpc url", func(c *Config) { c.RPC.Routes = []RPCRouteConfig{{Method: "a", URL: "x:1"}} }, `rpc.routes[0].url: "x:1" is not an http(s) URL`},
		{"short key", func(c *Config) { c.API.Keys = []string{"secret"} }, "api.keys: a key of 6 characters"},
		{"publish path taken", func(c *Config) { c.API.Keys = []string{"0123456789abcdef"}; c.API.PublishPath = "/events" }, `api.publish_path: "/events" is already the path of events_path`},
		{"hook url", func(c *Config) { c.Hooks.AuthorizeURL = "localhost:9000" }, "hooks.authorize_url"},
		{"everything fine", func(c *Config) {
			c.Gateway.Routes = []GatewayRouteConfig{{Path: "/tcp/a", Backend: "127.0.0.1:1", AuthRequired: true}}
			c.Hooks.ConnectURL = "http://127.0.0.1:9000/connect"
			c.API.AllowLoopback = true
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := DefaultConfig()
			tt.change(&c)
			err := c.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestServeBackends runs the binary's server with a gateway route, an
// RPC route and the publish API, and uses all three.
func TestServeBackends(t *testing.T) {
	t.Parallel()
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	rpc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Method string
			Params json.RawMessage
		}
		json.NewDecoder(r.Body).Decode(&body)
		json.NewEncoder(w).Encode(map[string]any{"method": body.Method, "params": body.Params})
	}))
	defer rpc.Close()

	const key = "0123456789abcdef0123456789abcdef"
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.STOMPListen, cfg.MQTTListen = "", ""
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.Gateway.Routes = []GatewayRouteConfig{{Path: "/tcp/echo", Backend: echo.Addr().String()}}
	cfg.RPC.Routes = []RPCRouteConfig{{Prefix: "app.", URL: rpc.URL}}
	cfg.API.Keys = []string{key}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	base, stop, done := startServe(t, cfg, &logs)
	defer func() { stop(); <-done }()
	ws := "ws" + strings.TrimPrefix(base, "http")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// The gateway.
	g, _, err := websocket.Dial(ctx, ws+"/tcp/echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	nc := websocket.NetConn(ctx, g, websocket.MessageBinary)
	nc.Write([]byte("hello"))
	buf := make([]byte, 5)
	if _, err := io.ReadFull(nc, buf); err != nil || string(buf) != "hello" {
		t.Fatalf("gateway echo %q %v", buf, err)
	}
	nc.Close()

	// The RPC proxy, and a subscription for the publish API.
	c, _, err := websocket.Dial(ctx, ws+"/ws", &websocket.DialOptions{Subprotocols: []string{"herald.v1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	rpcCall := func(id int, method string, params any) map[string]any {
		b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
		c.Write(ctx, websocket.MessageText, b)
		_, m, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var r map[string]any
		json.Unmarshal(m, &r)
		return r
	}
	r := rpcCall(1, "app.sum", []int{1, 2})
	if res, _ := r["result"].(map[string]any); res["method"] != "app.sum" {
		t.Fatalf("proxied call: %v", r)
	}
	if r := rpcCall(2, "subscribe", map[string]any{"topic": "news"}); r["error"] != nil {
		t.Fatalf("subscribe: %v", r)
	}

	// The publish API.
	req, _ := http.NewRequest("POST", base+"/api/publish", strings.NewReader(`{"topic":"news","data":"extra!"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("publish: %s", resp.Status)
	}
	_, m, err := c.Read(ctx)
	if err != nil || !strings.Contains(string(m), `"data":"extra!"`) {
		t.Fatalf("notification %s %v", m, err)
	}
	for _, want := range []string{`msg="gateway route" path=/tcp/echo`, `msg="rpc route" prefix=app.`, `msg="publish API" path=/api/publish keys=1`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s", want)
		}
	}
}
