package herald_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/internal/wsframe"
)

// start runs srv behind a real HTTP server on 127.0.0.1 and shuts both
// down at the end of the test.
func start(t *testing.T, opts herald.Options) (*herald.Server, string) {
	t.Helper()
	srv := herald.New(opts)
	mux := http.NewServeMux()
	mux.Handle("/ws", srv)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Close()
	})
	return srv, hs.URL
}

func wsURL(httpURL string) string { return "ws" + strings.TrimPrefix(httpURL, "http") + "/ws" }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// dial opens a client connection speaking subprotocol (none if "").
func dial(t *testing.T, base, subprotocol string) *websocket.Conn {
	t.Helper()
	opts := &websocket.DialOptions{}
	if subprotocol != "" {
		opts.Subprotocols = []string{subprotocol}
	}
	c, _, err := websocket.Dial(ctxT(t), wsURL(base), opts)
	if err != nil {
		t.Fatalf("dial %s: %v", subprotocol, err)
	}
	c.SetReadLimit(1 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// rpcClient is a minimal JSON-RPC client over coder/websocket that keeps
// notifications apart from responses.
type rpcClient struct {
	t     *testing.T
	c     *websocket.Conn
	resps chan map[string]any
	notes chan map[string]any
	raw   chan []byte
	done  chan struct{}
	err   error // why reading stopped; set before done closes
}

func newRPC(t *testing.T, base string) *rpcClient {
	return wrapRPC(t, dial(t, base, "herald.v1"))
}

// wrapRPC reads c's messages in the background.
func wrapRPC(t *testing.T, c *websocket.Conn) *rpcClient {
	r := &rpcClient{t: t, c: c,
		resps: make(chan map[string]any, 1024), notes: make(chan map[string]any, 1024), raw: make(chan []byte, 1024), done: make(chan struct{})}
	go func() {
		for {
			_, b, err := r.c.Read(context.Background())
			if err != nil {
				r.err = err
				close(r.done)
				close(r.resps)
				return
			}
			if len(b) > 0 && b[0] == '[' {
				r.raw <- b
				continue
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Errorf("server sent invalid JSON %q", b)
				continue
			}
			if _, ok := m["method"]; ok {
				r.notes <- m
			} else {
				r.resps <- m
			}
		}
	}()
	return r
}

func (r *rpcClient) send(v any) {
	r.t.Helper()
	b, ok := v.([]byte)
	if !ok {
		b, _ = json.Marshal(v)
	}
	if err := r.c.Write(ctxT(r.t), websocket.MessageText, b); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

func (r *rpcClient) response() map[string]any {
	r.t.Helper()
	select {
	case m, ok := <-r.resps:
		if !ok {
			r.t.Fatal("connection closed while waiting for a response")
		}
		return m
	case <-time.After(10 * time.Second):
		r.t.Fatal("no response")
	}
	return nil
}

func (r *rpcClient) note() map[string]any {
	r.t.Helper()
	select {
	case m := <-r.notes:
		return m
	case <-time.After(10 * time.Second):
		r.t.Fatal("no notification")
	}
	return nil
}

// closed waits for the server to end the connection and returns why.
func (r *rpcClient) closed() error {
	r.t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(10 * time.Second):
		r.t.Fatal("connection not closed")
	}
	return nil
}

// call sends a request and returns its response.
func (r *rpcClient) call(id any, method string, params any) map[string]any {
	r.t.Helper()
	r.send(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	return r.response()
}

func errorCode(m map[string]any) int {
	e, ok := m["error"].(map[string]any)
	if !ok {
		return 0
	}
	return int(e["code"].(float64))
}

// rawConn performs the handshake by hand so tests can send frames no
// well-behaved client library would.
type rawConn struct {
	net.Conn
	br *bufio.Reader
	cr wsframe.ClientReader
}

func rawDial(t *testing.T, base, subprotocol string) *rawConn {
	t.Helper()
	host := strings.TrimPrefix(base, "http://")
	c, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	key := make([]byte, 16)
	rand.Read(key)
	req := fmt.Sprintf("GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n", host, base64.StdEncoding.EncodeToString(key))
	if subprotocol != "" {
		req += "Sec-WebSocket-Protocol: " + subprotocol + "\r\n"
	}
	c.Write([]byte(req + "\r\n"))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	return &rawConn{Conn: c, br: br, cr: wsframe.ClientReader{MaxMessage: 1 << 20}}
}

func (c *rawConn) frame(op byte, fin bool, payload []byte) {
	c.Write(wsframe.AppendMaskedFrame(nil, op, fin, [4]byte{1, 2, 3, 4}, payload))
}

// closeCode reads until the server's close frame and returns its code.
func (c *rawConn) closeCode(t *testing.T) uint16 {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	var code uint16
	found := false
	for !found {
		n, err := c.br.Read(buf)
		if n > 0 {
			c.cr.Feed(buf[:n], func(op byte, p []byte) error {
				if op == wsframe.OpClose && !found {
					code, _ = wsframe.ParseClosePayload(p)
					found = true
				}
				return nil
			})
		}
		if err != nil && !found {
			t.Fatalf("connection ended without a close frame: %v", err)
		}
	}
	return code
}

func newTestServer(h http.Handler) *httptest.Server { return httptest.NewServer(h) }
