package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/heraldhq/herald/internal/testutil"
)

// tlsFiles copies an issued certificate to paths of its own, which a
// renewal overwrites in place.
func tlsFiles(t *testing.T, is testutil.Issued) (certFile, keyFile string) {
	dir := t.TempDir()
	certFile, keyFile = dir+"/cert.pem", dir+"/key.pem"
	renew(t, is, certFile, keyFile)
	return certFile, keyFile
}

func renew(t *testing.T, is testutil.Issued, certFile, keyFile string) {
	t.Helper()
	for src, dst := range map[string]string{is.CertFile: certFile, is.KeyFile: keyFile} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// listenAddr finds a listener's address in the log.
func listenAddr(t *testing.T, logs *logBuffer, what string) string {
	t.Helper()
	m := regexp.MustCompile(`msg="` + what + ` listening" addr=(\S+)`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no %s listener in the log:\n%s", what, logs.String())
	}
	return m[1]
}

// dialWSS opens a herald.v1 WebSocket over TLS trusting pool.
func dialWSS(ctx context.Context, base string, pool *x509.CertPool) (*websocket.Conn, error) {
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	c, _, err := websocket.Dial(ctx, "wss://"+strings.TrimPrefix(base, "http://")+"/ws",
		&websocket.DialOptions{HTTPClient: client, Subprotocols: []string{"herald.v1"}})
	return c, err
}

// ledOn calls the demo's "on" method and returns the result.
func ledOn(ctx context.Context, t *testing.T, c *websocket.Conn, id int) string {
	t.Helper()
	req, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": "on"})
	if err := c.Write(ctx, websocket.MessageText, req); err != nil {
		t.Fatal(err)
	}
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var resp struct {
			ID     int    `json:"id"`
			Result string `json:"result"`
		}
		if json.Unmarshal(b, &resp) == nil && resp.ID == id {
			return resp.Result
		}
	}
}

// TestServeTLS serves every listener over TLS with client certificates
// required on the TCP ones: a wss client (coder/websocket), stomp.py over
// TLS and mosquitto_rr over TLS each call the LED demo; TCP clients
// without a certificate of the client CA are refused.
func TestServeTLS(t *testing.T) {
	t.Parallel()
	rr := testutil.Need(t, "mosquitto_rr")
	serverCA, clientCA, otherCA := testutil.NewCA(t, "server"), testutil.NewCA(t, "clients"), testutil.NewCA(t, "other")
	cfg := DefaultConfig()
	cfg.Listen, cfg.STOMPListen, cfg.MQTTListen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.TLS.CertFile, cfg.TLS.KeyFile = tlsFiles(t, serverCA.Server(t, "herald"))
	cfg.TLS.ClientCAFile, cfg.TLS.ClientAuth, cfg.TLS.MinVersion = clientCA.File, "require", "1.2"
	var logs logBuffer
	base, stop, done := startServe(t, cfg, &logs)
	if !strings.Contains(logs.String(), "websocket=wss://") {
		t.Errorf("the startup line does not say wss://:\n%s", logs.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	ws, err := dialWSS(ctx, base, serverCA.Pool())
	if err != nil {
		t.Fatalf("wss: %v", err)
	}
	defer ws.CloseNow()
	if got := ledOn(ctx, t, ws, 1); !strings.HasPrefix(got, "LED is now on") {
		t.Errorf("wss: %q", got)
	}
	// Plain HTTP on a TLS port gets nowhere.
	if resp, err := http.Get(base + "/healthz"); err == nil && resp.StatusCode == http.StatusOK {
		t.Error("plain HTTP was served on the TLS listener")
	}

	alice, mallory := clientCA.Client(t, "alice"), otherCA.Client(t, "mallory")
	stompAddr := listenAddr(t, &logs, "stomp")
	stompTLS := func(client *testutil.Issued) string {
		env := map[string]string{"STOMP_ADDR": stompAddr, "STOMP_CA": serverCA.File}
		if client != nil {
			env["STOMP_CERT"], env["STOMP_KEY"] = client.CertFile, client.KeyFile
		}
		out := strings.TrimSpace(testutil.Python(t, 30*time.Second, "tests/python/stomp_tls.py", env))
		t.Logf("stomp.py: %s", out)
		return out
	}
	if out := stompTLS(&alice); !strings.Contains(out, `"reply": "LED is now on`) {
		t.Errorf("stomp.py over TLS with a client certificate: %s", out)
	}
	for name, c := range map[string]*testutil.Issued{"no": nil, "a foreign": &mallory} {
		if out := stompTLS(c); !strings.Contains(out, `"error"`) {
			t.Errorf("stomp.py over TLS with %s client certificate was served: %s", name, out)
		}
	}

	mqttAddr := listenAddr(t, &logs, "mqtt")
	host, port, _ := strings.Cut(mqttAddr, ":")
	mqttTLS := func(extra ...string) (string, error) {
		args := append([]string{"-h", host, "-p", port, "--cafile", serverCA.File, "-t", "$rpc/on", "-e", "replies/led", "-m", "", "-W", "10"}, extra...)
		out, err := exec.CommandContext(ctx, rr, args...).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	if out, err := mqttTLS("--cert", alice.CertFile, "--key", alice.KeyFile); err != nil || !strings.HasPrefix(out, `"LED is now on`) {
		t.Errorf("mosquitto_rr over TLS with a client certificate: %v: %s", err, out)
	}
	if out, err := mqttTLS(); err == nil {
		t.Errorf("mosquitto_rr over TLS without a client certificate was served: %s", out)
	}
	if out, err := mqttTLS("--cert", mallory.CertFile, "--key", mallory.KeyFile); err == nil {
		t.Errorf("mosquitto_rr with a foreign client certificate was served: %s", out)
	}

	ws.Close(websocket.StatusNormalClosure, "")
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestServeTLSReload renews the certificate under a running server and
// sends SIGHUP: a connection made with certificate A keeps working, new
// connections get certificate B; a broken file then keeps B.
func TestServeTLSReload(t *testing.T) {
	// Not parallel: SIGHUP reaches every server of the process.
	caA, caB := testutil.NewCA(t, "a"), testutil.NewCA(t, "b")
	certA, certB := caA.Server(t, "herald-a"), caB.Server(t, "herald-b")
	cfg := DefaultConfig()
	cfg.Listen, cfg.STOMPListen, cfg.MQTTListen = "127.0.0.1:0", "", ""
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.TLS.CertFile, cfg.TLS.KeyFile = tlsFiles(t, certA)
	var logs logBuffer
	base, stop, done := startServe(t, cfg, &logs)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	old, err := dialWSS(ctx, base, caA.Pool())
	if err != nil {
		t.Fatalf("wss with certificate A: %v", err)
	}
	defer old.CloseNow()
	ledOn(ctx, t, old, 1)

	hangup := func(want string) {
		t.Helper()
		n := strings.Count(logs.String(), want)
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		for strings.Count(logs.String(), want) == n {
			select {
			case <-ctx.Done():
				t.Fatalf("no %q in the log after SIGHUP:\n%s", want, logs.String())
			case <-time.After(10 * time.Millisecond): // the log has no event to wait on
			}
		}
	}
	renew(t, certB, cfg.TLS.CertFile, cfg.TLS.KeyFile)
	hangup("TLS certificate reloaded")

	if got := ledOn(ctx, t, old, 2); !strings.HasPrefix(got, "LED is now on") {
		t.Errorf("the connection made before the reload: %q", got)
	}
	if c, err := dialWSS(ctx, base, caA.Pool()); err == nil {
		c.CloseNow()
		t.Error("a new connection still got certificate A")
	}
	fresh, err := dialWSS(ctx, base, caB.Pool())
	if err != nil {
		t.Fatalf("a new connection with certificate B: %v", err)
	}
	ledOn(ctx, t, fresh, 3)
	fresh.Close(websocket.StatusNormalClosure, "")

	if err := os.WriteFile(cfg.TLS.KeyFile, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	hangup("TLS reload failed")
	if c, err := dialWSS(ctx, base, caB.Pool()); err != nil {
		t.Errorf("after a failed reload: %v", err)
	} else {
		c.CloseNow()
	}
	old.Close(websocket.StatusNormalClosure, "")
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestServeSlowHandshakes: connections that open and then say nothing —
// not even a TLS ClientHello — are closed by the server on every
// listener: limits.read_header_timeout on HTTP, limits.connect_timeout on
// STOMP and MQTT.
func TestServeSlowHandshakes(t *testing.T) {
	t.Parallel()
	ca := testutil.NewCA(t, "server")
	cfg := DefaultConfig()
	cfg.Listen, cfg.STOMPListen, cfg.MQTTListen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.TLS.CertFile, cfg.TLS.KeyFile = tlsFiles(t, ca.Server(t, "herald"))
	cfg.Limits.ReadHeaderTimeout, cfg.Limits.ConnectTimeout = time.Second, time.Second
	var logs logBuffer
	base, stop, done := startServe(t, cfg, &logs)
	addrs := map[string]string{
		"http": strings.TrimPrefix(base, "http://"), "stomp": listenAddr(t, &logs, "stomp"), "mqtt": listenAddr(t, &logs, "mqtt"),
	}
	var wg sync.WaitGroup
	for name, addr := range addrs {
		for _, handshake := range []bool{false, true} {
			wg.Go(func() {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Error(err)
					return
				}
				defer c.Close()
				if handshake { // TLS done, then silence
					tc := tls.Client(c, &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1"})
					if err := tc.Handshake(); err != nil {
						t.Errorf("%s: %v", name, err)
						return
					}
					c = tc
				}
				c.SetReadDeadline(time.Now().Add(20 * time.Second)) // the test's bound, far above the limits
				begin := time.Now()
				_, err = io.Copy(io.Discard, c)
				t.Logf("%s tls=%v closed after %v: %v", name, handshake, time.Since(begin), err)
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Errorf("%s (TLS handshake %v): a silent connection was not closed", name, handshake)
				}
			})
		}
	}
	wg.Wait()
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
