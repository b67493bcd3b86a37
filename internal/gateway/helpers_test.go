package gateway

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/metrics"
	"github.com/heraldhq/herald/internal/wsframe"
)

// harness is a core with a gateway behind a real HTTP server on
// 127.0.0.1.
type harness struct {
	core *core.Core
	gw   *Gateway
	reg  *metrics.Registry
	mux  *http.ServeMux
	hs   *httptest.Server
	addr string // host:port of the HTTP server
}

func newHarness(t testing.TB, cfg core.Config) *harness {
	t.Helper()
	h := &harness{reg: metrics.NewRegistry(), mux: http.NewServeMux()}
	cfg.Metrics = h.reg
	h.core = core.New(cfg)
	h.gw = New(h.core, h.reg)
	h.hs = httptest.NewServer(h.mux)
	h.addr = strings.TrimPrefix(h.hs.URL, "http://")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.core.Shutdown(ctx)
		h.hs.Close()
	})
	return h
}

// route mounts r at path and returns it in service.
func (h *harness) route(t testing.TB, path string, r Route) *route {
	t.Helper()
	hd, err := h.gw.Handler(r)
	if err != nil {
		t.Fatal(err)
	}
	h.mux.Handle("GET "+path, hd)
	return hd.(*route)
}

// tcpService runs serve for every connection to a fresh listener on
// 127.0.0.1 and returns its address.
func tcpService(t testing.TB, serve func(c *net.TCPConn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				serve(c.(*net.TCPConn))
			}()
		}
	}()
	return ln.Addr().String()
}

// echo copies input back and half-closes when the input ends.
func echo(c *net.TCPConn) {
	io.Copy(c, c)
	c.CloseWrite()
}

// wsClient is a raw WebSocket client: it sends masked frames and reads
// the server's frames one by one, so tests see exact codes and can stop
// reading at will.
type wsClient struct {
	t   testing.TB
	c   net.Conn
	br  *bufio.Reader
	cr  wsframe.ClientReader
	q   []frame
	buf []byte
	Sub string // the subprotocol the server chose
}

type frame struct {
	op      byte
	payload []byte
}

// handshake dials path; hdr adds request headers ("Origin",
// "Sec-WebSocket-Protocol", ...). It returns the client after a 101, or
// nil and the response otherwise.
func handshake(t testing.TB, addr, path string, hdr map[string]string) (*wsClient, *http.Response) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	key := make([]byte, 16)
	rand.Read(key)
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n",
		path, addr, base64.StdEncoding.EncodeToString(key))
	for k, v := range hdr {
		req += k + ": " + v + "\r\n"
	}
	if _, err := c.Write([]byte(req + "\r\n")); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReaderSize(c, 4<<10)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		io.ReadAll(resp.Body)
		c.Close()
		return nil, resp
	}
	return &wsClient{t: t, c: c, br: br, cr: wsframe.ClientReader{MaxMessage: 1 << 30}, Sub: resp.Header.Get("Sec-WebSocket-Protocol")}, resp
}

func dialWS(t testing.TB, addr, path string, hdr map[string]string) *wsClient {
	t.Helper()
	w, resp := handshake(t, addr, path, hdr)
	if w == nil {
		t.Fatalf("handshake to %s: %s", path, resp.Status)
	}
	return w
}

var maskKey = [4]byte{0x11, 0x22, 0x33, 0x44}

func (w *wsClient) send(op byte, p []byte) error {
	_, err := w.c.Write(wsframe.AppendMaskedFrame(nil, op, true, maskKey, p))
	return err
}

func (w *wsClient) sendClose(code uint16) error {
	return w.send(wsframe.OpClose, wsframe.AppendClose(nil, code, "")[2:])
}

// next returns the next frame from the server.
func (w *wsClient) next() (byte, []byte, error) {
	if w.buf == nil {
		w.buf = make([]byte, 64<<10)
	}
	for len(w.q) == 0 {
		w.c.SetReadDeadline(time.Now().Add(20 * time.Second))
		n, err := w.br.Read(w.buf)
		if n > 0 {
			if ferr := w.cr.Feed(w.buf[:n], func(op byte, p []byte) error {
				w.q = append(w.q, frame{op, append([]byte(nil), p...)})
				return nil
			}); ferr != nil {
				return 0, nil, ferr
			}
		}
		if err != nil && len(w.q) == 0 {
			return 0, nil, err
		}
	}
	f := w.q[0]
	w.q = w.q[1:]
	return f.op, f.payload, nil
}

// closeFrame reads past data until the close frame and returns its code
// and reason; data collects the data frames' payloads.
func (w *wsClient) closeFrame(data io.Writer) (uint16, string) {
	w.t.Helper()
	for {
		op, p, err := w.next()
		if err != nil {
			w.t.Fatalf("no close frame: %v", err)
		}
		switch op {
		case wsframe.OpClose:
			// Answer and hang up, as a client does, so that the server
			// need not wait for its close timeout.
			code, reason := wsframe.ParseClosePayload(p)
			w.send(wsframe.OpClose, p)
			w.c.Close()
			return code, reason
		case wsframe.OpBinary, wsframe.OpText:
			if data != nil {
				data.Write(p)
			}
		}
	}
}
