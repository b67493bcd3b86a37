package herald_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/internal/stomp/stomptest"
	"github.com/heraldhq/herald/internal/testutil"
)

// certAuth takes the identity from the client's certificate and reports
// each connect request it sees.
func certAuth(seen chan<- *herald.ConnectRequest) herald.Authenticator {
	return herald.AuthenticatorFunc(func(ctx context.Context, r *herald.ConnectRequest) (herald.Identity, error) {
		seen <- r
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			return herald.Identity{}, herald.ErrNoCredentials
		}
		return herald.Identity{Subject: r.TLS.PeerCertificates[0].Subject.CommonName}, nil
	})
}

// TestClientCertificateReachesTheAuthenticator: over TLS, the connect
// request carries the connection's TLS state, so a client certificate can
// be the identity, for STOMP over TCP (authenticated at CONNECT) as for
// a WebSocket handshake; without TLS the state is nil.
func TestClientCertificateReachesTheAuthenticator(t *testing.T) {
	ca := testutil.NewCA(t, "test CA")
	server, client := ca.Server(t, "herald"), ca.Client(t, "device-7")
	seen := make(chan *herald.ConnectRequest, 4)
	srv, base := start(t, herald.Options{Authenticator: certAuth(seen)})
	next := func() *herald.ConnectRequest {
		t.Helper()
		select {
		case r := <-seen:
			return r
		default:
			t.Fatal("the authenticator was not asked")
			return nil
		}
	}
	clientTLS := &tls.Config{Certificates: []tls.Certificate{client.TLS}, RootCAs: ca.Pool(), ServerName: "127.0.0.1"}

	t.Run("stomp over tls", func(t *testing.T) {
		ln := tls.NewListener(testutil.Listen(t), &tls.Config{
			Certificates: []tls.Certificate{server.TLS},
			ClientAuth:   tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool(),
		})
		go srv.ServeSTOMP(ln)
		conn, err := tls.Dial("tcp", ln.Addr().String(), clientTLS)
		if err != nil {
			t.Fatal(err)
		}
		c := stomptest.Over(t, conn)
		c.Connect("accept-version", "1.2", "host", "h")
		r := next()
		if r.Protocol != "stomp" || r.TLS == nil || len(r.TLS.PeerCertificates) == 0 || r.TLS.PeerCertificates[0].Subject.CommonName != "device-7" {
			t.Fatalf("connect request %+v lacks the client certificate", r)
		}
	})

	t.Run("websocket over tls", func(t *testing.T) {
		mux := http.NewServeMux()
		mux.Handle("/ws", srv)
		hs := httptest.NewUnstartedServer(mux)
		hs.TLS = &tls.Config{Certificates: []tls.Certificate{server.TLS}, ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: ca.Pool()}
		hs.StartTLS()
		t.Cleanup(hs.Close)
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: clientTLS}}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ws, _, err := websocket.Dial(ctx, "wss"+strings.TrimPrefix(hs.URL, "https")+"/ws", &websocket.DialOptions{HTTPClient: hc, Subprotocols: []string{"herald.v1"}})
		if err != nil {
			t.Fatal(err)
		}
		defer ws.CloseNow()
		if r := next(); r.TLS == nil || len(r.TLS.PeerCertificates) == 0 || r.TLS.PeerCertificates[0].Subject.CommonName != "device-7" {
			t.Fatalf("connect request %+v lacks the client certificate", r)
		}
	})

	t.Run("plain websocket", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, resp, err := websocket.Dial(ctx, wsURL(base), &websocket.DialOptions{Subprotocols: []string{"herald.v1"}})
		if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("without a certificate: err %v, response %v; want 401", err, resp)
		}
		if r := next(); r.TLS != nil {
			t.Fatalf("TLS state %+v on a plain connection", r.TLS)
		}
	})
}
