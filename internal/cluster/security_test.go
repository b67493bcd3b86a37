package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/router"
	"github.com/heraldhq/herald/internal/store"
	"github.com/heraldhq/herald/internal/testutil"
)

// logWatch is a slog handler that keeps every message and signals each
// one, so that a test can await a line instead of sleeping.
type logWatch struct {
	mu     sync.Mutex
	lines  []string
	signal chan struct{}
}

func newLogWatch() *logWatch { return &logWatch{signal: make(chan struct{}, 1)} }

func (w *logWatch) Enabled(context.Context, slog.Level) bool { return true }
func (w *logWatch) WithAttrs([]slog.Attr) slog.Handler       { return w }
func (w *logWatch) WithGroup(string) slog.Handler            { return w }
func (w *logWatch) Handle(_ context.Context, r slog.Record) error {
	line := r.Message
	r.Attrs(func(a slog.Attr) bool { line += " " + a.String(); return true })
	w.mu.Lock()
	w.lines = append(w.lines, line)
	w.mu.Unlock()
	select {
	case w.signal <- struct{}{}:
	default:
	}
	return nil
}

// await waits for a line holding every one of words (lower case).
func (w *logWatch) await(t *testing.T, what string, words ...string) string {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		w.mu.Lock()
		for _, l := range w.lines {
			ll, all := strings.ToLower(l), true
			for _, word := range words {
				all = all && strings.Contains(ll, word)
			}
			if all {
				w.mu.Unlock()
				return l
			}
		}
		n := len(w.lines)
		w.mu.Unlock()
		select {
		case <-w.signal:
		case <-deadline:
			w.mu.Lock()
			for _, l := range w.lines {
				t.Log(l)
			}
			w.mu.Unlock()
			t.Fatalf("no log line says %s (%d lines)", what, n)
		}
	}
}

func freeAddrs(t *testing.T, n int) []string {
	addrs := make([]string, n)
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = ln.Addr().String()
		ln.Close()
	}
	return addrs
}

// startMember starts a node from cfg with a router over it, closed when
// the test ends.
func startMember(t *testing.T, cfg Config) member {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg.Name, cfg.HistorySize = "test", 100
	node, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := router.New(router.Options{HistorySize: 100, Broker: node.Broker(), History: node.Broker().History(store.NewMemoryHistory(100, 0))})
	m := member{node, r}
	t.Cleanup(m.close)
	return m
}

// TestRoutesMutualTLSAndCredentials: two nodes with certificates from one
// CA and the same route credentials form a cluster and carry a message
// across; a node whose certificate comes from another CA, and a node with
// the right certificate but a wrong password, are refused: the good nodes
// keep one route each, and their logs say why.
func TestRoutesMutualTLSAndCredentials(t *testing.T) {
	ca, other := testutil.NewCA(t, "herald-test"), testutil.NewCA(t, "intruder")
	addrs := freeAddrs(t, 4)
	logs := []*logWatch{newLogWatch(), newLogWatch()}
	var good []member
	for i := range 2 {
		crt := ca.Peer(t, fmt.Sprintf("n%d", i))
		good = append(good, startMember(t, Config{
			Node: fmt.Sprintf("n%d", i), Listen: addrs[i], Routes: []string{addrs[1-i]},
			TLS:      TLSFiles{CertFile: crt.CertFile, KeyFile: crt.KeyFile, CAFile: ca.File},
			Username: "herald", Password: "s3cret",
			Logger: slog.New(logs[i]),
		}))
	}
	waitMesh(t, good)
	box := newInbox()
	if err := good[1].router.Subscribe(box, "secure/#", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := good[0].router.Publish(context.Background(), &message.Message{Topic: "secure/x", Data: []byte("over TLS")}); err != nil {
		t.Fatal(err)
	}
	box.waitFor(t, "the message on the other node", func(m []*message.Message) bool {
		return len(m) == 1 && string(m[0].Data) == "over TLS"
	})

	// Another CA: the TLS handshake fails both ways.
	bad := other.Peer(t, "intruder")
	intruder := startMember(t, Config{Node: "intruder", Listen: addrs[2], Routes: addrs[:2],
		TLS:      TLSFiles{CertFile: bad.CertFile, KeyFile: bad.KeyFile, CAFile: other.File},
		Username: "herald", Password: "s3cret"})
	logs[0].await(t, "the intruder's handshake failed", "tls", "handshake")
	// The right CA, the wrong password.
	crt := ca.Peer(t, "guesser")
	guesser := startMember(t, Config{Node: "guesser", Listen: addrs[3], Routes: addrs[:2],
		TLS:      TLSFiles{CertFile: crt.CertFile, KeyFile: crt.KeyFile, CAFile: ca.File},
		Username: "herald", Password: "guess"})
	logs[0].await(t, "the guesser's authentication failed", "authentication error")

	// (The refused nodes' own route count may show a route for a moment:
	// a dialling server counts it once it has the peer's INFO, before the
	// peer checks its CONNECT and closes it. What counts is that the
	// good nodes never take them in.)
	for _, m := range []member{intruder, guesser} {
		if m.node.Ready() == nil {
			t.Errorf("%s is ready", m.node.cfg.Node)
		}
	}
	for _, m := range good {
		if st := m.node.Status(); st.Routes != 1 {
			t.Errorf("%s is routed to %d nodes, want only its peer", m.node.cfg.Node, st.Routes)
		}
	}
}

// TestClientListenerNeedsCertificateAndCredentials: the embedded server's
// client listener (cluster.client_listen) speaks the routes' mutual TLS
// and asks for their credentials.
func TestClientListenerNeedsCertificateAndCredentials(t *testing.T) {
	ca := testutil.NewCA(t, "herald-test")
	crt := ca.Peer(t, "n0")
	addrs := freeAddrs(t, 2)
	startMember(t, Config{Node: "n0", Listen: addrs[0], ClientListen: addrs[1],
		TLS: TLSFiles{CertFile: crt.CertFile, KeyFile: crt.KeyFile, CAFile: ca.File}, Username: "herald", Password: "s3cret"})
	client := ca.Client(t, "tool")
	url := "tls://" + addrs[1]
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"no certificate", Config{URL: url, NATSTLS: TLSFiles{CAFile: ca.File}, NATSUser: "herald", NATSPassword: "s3cret"}, false},
		{"no password", Config{URL: url, NATSTLS: TLSFiles{CAFile: ca.File, CertFile: client.CertFile, KeyFile: client.KeyFile}}, false},
		{"certificate and password", Config{URL: url, NATSTLS: TLSFiles{CAFile: ca.File, CertFile: client.CertFile, KeyFile: client.KeyFile}, NATSUser: "herald", NATSPassword: "s3cret"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			n, err := Start(ctx, tc.cfg)
			if err == nil {
				n.Close()
			}
			if (err == nil) != tc.ok {
				t.Fatalf("connect: %v, want success %v", err, tc.ok)
			}
		})
	}
}

// TestReloadTLS: after ReloadTLS, new connections get the certificate now
// in the files; a bad file keeps the previous one.
func TestReloadTLS(t *testing.T) {
	ca := testutil.NewCA(t, "herald-test")
	crt := ca.Peer(t, "n0")
	addrs := freeAddrs(t, 2)
	m := startMember(t, Config{Node: "n0", Listen: addrs[0], ClientListen: addrs[1],
		TLS: TLSFiles{CertFile: crt.CertFile, KeyFile: crt.KeyFile, CAFile: ca.File}})
	client := ca.Client(t, "tool")
	serial := func() string {
		t.Helper()
		nc, err := nats.Connect("tls://"+addrs[1], nats.RootCAs(ca.File), nats.ClientCert(client.CertFile, client.KeyFile))
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		st, err := nc.TLSConnectionState()
		if err != nil {
			t.Fatal(err)
		}
		return st.PeerCertificates[0].SerialNumber.String()
	}
	before := serial()
	renewed := ca.Peer(t, "n0") // new key and certificate at the same paths
	if ok, err := m.node.ReloadTLS(); !ok || err != nil {
		t.Fatalf("reload: %v %v", ok, err)
	}
	after := serial()
	if after == before || after != renewed.TLS.Leaf.SerialNumber.String() {
		t.Fatalf("serial %s after reload, was %s, want %s", after, before, renewed.TLS.Leaf.SerialNumber)
	}
	if err := os.WriteFile(crt.KeyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if ok, err := m.node.ReloadTLS(); ok || err == nil {
		t.Fatalf("reload of a bad key: %v %v", ok, err)
	}
	if serial() != after {
		t.Fatal("a failed reload changed the certificate")
	}
}
