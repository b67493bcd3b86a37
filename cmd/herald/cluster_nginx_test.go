package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/heraldhq/herald/internal/testutil"
)

// startNginx runs Debian's nginx with docs/cluster/nginx.conf, its two
// upstreams and its listen address replaced by upstreams and listen. It
// connects to the upstreams from 127.0.0.3 (proxy_bind, outside the
// documented file), so that the nodes can tell it from the clients.
func startNginx(t *testing.T, listen string, upstreams [2]string) {
	t.Helper()
	bin := testutil.Need(t, "nginx")
	dir := t.TempDir()
	doc, err := os.ReadFile(filepath.Join(testutil.Root(t), "docs", "cluster", "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.NewReplacer("127.0.0.1:8081", upstreams[0], "127.0.0.1:8082", upstreams[1], "127.0.0.1:8080", listen).Replace(string(doc))
	if err := os.WriteFile(filepath.Join(dir, "herald.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // workers must reach the temporary directories
	}
	main := fmt.Sprintf(`daemon off;
%s
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log info;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path %[2]s/body;
  proxy_temp_path %[2]s/proxy;
  fastcgi_temp_path %[2]s/fastcgi;
  uwsgi_temp_path %[2]s/uwsgi;
  scgi_temp_path %[2]s/scgi;
  proxy_bind 127.0.0.3;
  include %[2]s/herald.conf;
}
`, user, dir)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startLines(t, nil, bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", filepath.Join(dir, "nginx.conf"))
	_ = p
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", listen)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx did not start: %v\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond) // polling a port
	}
}

// connectHook is an HTTP connect hook that accepts everyone and records
// the remote_addr Herald reports for each connection.
type connectHook struct {
	mu    sync.Mutex
	addrs []string
}

func (h *connectHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		RemoteAddr string `json:"remote_addr"`
		Transport  string `json:"transport"`
	}
	json.NewDecoder(r.Body).Decode(&body)
	h.mu.Lock()
	h.addrs = append(h.addrs, body.Transport+" "+body.RemoteAddr)
	h.mu.Unlock()
	w.Write([]byte(`{}`))
}

func (h *connectHook) seen() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.addrs...)
}

func TestClusterBehindNginx(t *testing.T) {
	node := testutil.Need(t, "node")
	bin := buildBinary(t, t.TempDir())
	hook := &connectHook{}
	hs := httptest.NewServer(hook)
	defer hs.Close()

	ports := []string{freePort(t), freePort(t)}
	var nodes []*heraldProc
	for i := range ports {
		name := fmt.Sprintf("lb%d", i)
		nodes = append(nodes, startHerald(t, bin, name, "--cluster-listen", "127.0.0.1:"+ports[i], "--cluster-routes", "127.0.0.1:"+ports[1-i],
			"--trusted-proxies", "127.0.0.3", "--hooks-connect-url", hs.URL, "--hooks-cache-ttl", "-1s"))
	}
	for _, n := range nodes {
		n.waitReady(t, 1)
	}
	waitMeshProcs(t, nodes)
	lb := "127.0.0.1:" + freePort(t)
	startNginx(t, lb, [2]string{strings.TrimPrefix(nodes[0].http, "http://"), strings.TrimPrefix(nodes[1].http, "http://")})

	// herald.js over every transport, and EventSource, through nginx.
	const perNode = 5
	clients := startLines(t, map[string]string{
		"HERALD_URL": "http://" + lb, "HERALD_JS": filepath.Join(testutil.Root(t), "web", "herald.js"), "COUNT": fmt.Sprint(2 * perNode),
	}, node, filepath.Join(testutil.Root(t), "tests", "node", "cluster_lb.mjs"))
	clients.waitLine(t, "the clients through nginx", func(l string) bool { return l == "ready" })

	// A herald.v1 client from 127.0.0.2 that claims to be 6.6.6.6.
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	spoof := http.Header{"X-Forwarded-For": {"6.6.6.6"}}
	c, _, err := websocket.Dial(ctx, "ws://"+lb+"/ws", &websocket.DialOptions{
		Subprotocols: []string{"herald.v1"}, HTTPHeader: spoof,
		HTTPClient: &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}},
	})
	if err != nil {
		t.Fatalf("WebSocket through nginx: %v", err)
	}
	c.CloseNow()
	// The same lie told to a node directly is ignored: 127.0.0.1 is no
	// trusted proxy.
	c, _, err = websocket.Dial(ctx, "ws"+strings.TrimPrefix(nodes[0].http, "http")+"/ws", &websocket.DialOptions{Subprotocols: []string{"herald.v1"}, HTTPHeader: spoof})
	if err != nil {
		t.Fatal(err)
	}
	c.CloseNow()

	// Publish on both nodes, behind nginx's back: whichever node a client
	// landed on, half of its messages crossed the cluster.
	var want []string
	for i, n := range nodes {
		p := dialJSON(t, n.http)
		for k := range perNode {
			data := fmt.Sprintf("n%d-%d", i, k)
			want = append(want, data)
			for _, topic := range []string{"lb/websocket", "lb/sse", "lb/longpoll", "lb/events"} {
				p.call(t, "publish", map[string]any{"topic": topic, "data": data})
			}
		}
	}
	line := clients.waitLine(t, "the clients' report", func(l string) bool { return strings.HasPrefix(l, "{") })
	var got map[string][]string
	if err := json.Unmarshal([]byte(line), &got); err != nil {
		t.Fatalf("report %q: %v", line, err)
	}
	for _, k := range []string{"websocket", "sse", "longpoll", "events"} {
		checkOnce(t, "through nginx, "+k, got[k], want)
	}

	// Identity, logs and limits see the client, never the proxy and
	// never what a client claims.
	addrs := strings.Join(hook.seen(), "\n")
	for _, want := range []string{"websocket 127.0.0.2:0", "sse 127.0.0.1:0", "longpoll 127.0.0.1:0"} {
		if !strings.Contains(addrs, want) {
			t.Errorf("connect hook never saw %q; saw:\n%s", want, addrs)
		}
	}
	if strings.Contains(addrs, "6.6.6.6") || strings.Contains(addrs, "127.0.0.3") {
		t.Errorf("a spoofed or proxy address reached the hook:\n%s", addrs)
	}
	if !strings.Contains(addrs, "websocket 127.0.0.1:") {
		t.Errorf("the direct connection is missing:\n%s", addrs)
	}
}
