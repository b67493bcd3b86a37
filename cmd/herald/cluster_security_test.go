package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/testutil"
)

// TestClusterExternalNATSTLS: Debian's nats-server with mutual TLS and a
// password; herald nodes given the CA, a client certificate and the
// credentials (flags) join it and carry messages between them, with a
// position that resumes on the other node. A node without a client
// certificate does not start, and says why; no log holds the password.
func TestClusterExternalNATSTLS(t *testing.T) {
	natsBin := testutil.Need(t, "nats-server")
	bin := buildBinary(t, t.TempDir())
	ca := testutil.NewCA(t, "nats-test")
	srvCrt, cli := ca.Server(t, "nats"), ca.Client(t, "herald")
	port := freePort(t)
	conf := filepath.Join(t.TempDir(), "nats.conf")
	err := os.WriteFile(conf, fmt.Appendf(nil, `jetstream { store_dir: %q }
tls { cert_file: %q, key_file: %q, ca_file: %q, verify: true }
authorization { user: herald, password: "s3cret-pw" }
`, t.TempDir(), srvCrt.CertFile, srvCrt.KeyFile, ca.File), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	startNATSServer(t, natsBin, port, "-c", conf)
	url := "tls://127.0.0.1:" + port
	args := []string{"--nats-url", url, "--nats-tls-ca-file", ca.File, "--nats-tls-cert-file", cli.CertFile,
		"--nats-tls-key-file", cli.KeyFile, "--nats-user", "herald", "--nats-password", "s3cret-pw"}
	nodes := []*heraldProc{startHerald(t, bin, "tls0", args...), startHerald(t, bin, "tls1", args...)}
	for _, n := range nodes {
		n.waitReady(t, 0)
		cl, _ := n.health(t)["cluster"].(map[string]any)
		if cl["mode"] != "external" || cl["sequenced"] != true {
			t.Fatalf("%s healthz cluster = %v", n.name, cl)
		}
	}
	waitMeshProcs(t, nodes)
	pos := publishMany(t, nodes[0].http, "tls/x", 3)
	c := resumeFrom(t, nodes[1].http, "tls/x", pos[0])
	for _, want := range []string{"m1", "m2"} {
		if got := c.next(t)["data"]; got != want {
			t.Fatalf("resumed on tls1: got %v, want %s", got, want)
		}
	}

	// No client certificate: the server refuses the handshake and the
	// node does not start.
	out, err := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--stomp-listen", "", "--mqtt-listen", "",
		"--nats-url", url, "--nats-tls-ca-file", ca.File, "--nats-user", "herald", "--nats-password", "s3cret-pw").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "connect to nats") {
		t.Fatalf("a node without a client certificate: %v\n%s", err, out)
	}
	for _, n := range nodes {
		if strings.Contains(n.logs.String(), "s3cret-pw") {
			t.Fatalf("%s logged the password", n.name)
		}
	}
}

// TestClusterRoutesTLSConfigFile: two embedded nodes configured by YAML
// (cluster.tls, cluster.username/password) form a mutual-TLS cluster; a
// SIGHUP reloads the route certificate.
func TestClusterRoutesTLSConfigFile(t *testing.T) {
	bin := buildBinary(t, t.TempDir())
	ca := testutil.NewCA(t, "routes-test")
	routes := []string{"127.0.0.1:" + freePort(t), "127.0.0.1:" + freePort(t)}
	var nodes []*heraldProc
	for i := range 2 {
		crt := ca.Peer(t, fmt.Sprintf("node%d", i))
		file := filepath.Join(t.TempDir(), "herald.yaml")
		yaml := fmt.Sprintf(`cluster:
  node: node%d
  listen: %s
  routes: [%s]
  username: herald
  password: route-s3cret
  tls:
    cert_file: %s
    key_file: %s
    ca_file: %s
`, i, routes[i], routes[1-i], crt.CertFile, crt.KeyFile, ca.File)
		if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, startHerald(t, bin, fmt.Sprintf("node%d", i), "--config", file))
	}
	for _, n := range nodes {
		n.waitReady(t, 1)
	}
	waitMeshProcs(t, nodes)

	// A renewed certificate: a new key and certificate from the same CA
	// at the paths node0 was given, then SIGHUP.
	ca.Peer(t, "node0")
	if err := nodes[0].cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(nodes[0].logs.String(), "cluster TLS certificate reloaded") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload in the log:\n%s", nodes[0].logs)
		}
		time.Sleep(50 * time.Millisecond) // polling a log
	}
	for _, n := range nodes {
		if strings.Contains(n.logs.String(), "route-s3cret") {
			t.Fatalf("%s logged the route password", n.name)
		}
	}
}
