package main

import (
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/testutil"
)

// startNATSServer runs Debian's nats-server on port and waits until it
// accepts connections.
func startNATSServer(t *testing.T, bin, port string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-a", "127.0.0.1", "-p", port}, args...)...)
	var logs logBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err == nil {
			c.Close()
			return cmd
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats-server did not start: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond) // polling a port
	}
}

// readyStatus returns p's /readyz status code.
func (p *heraldProc) readyStatus(t *testing.T) int {
	resp, err := http.Get(p.http + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitReadyStatus waits until p's /readyz answers code.
func (p *heraldProc) waitReadyStatus(t *testing.T, code int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for p.readyStatus(t) != code {
		if time.Now().After(deadline) {
			t.Fatalf("%s: /readyz never answered %d: %v", p.name, code, p.health(t))
		}
		time.Sleep(100 * time.Millisecond) // polling a status endpoint
	}
}

// TestClusterExternalNATSJetStream: an external NATS with JetStream
// sequences the topics as the embedded one does: a position taken on one
// node resumes on the other with no gap.
func TestClusterExternalNATSJetStream(t *testing.T) {
	natsBin := testutil.Need(t, "nats-server")
	bin := buildBinary(t, t.TempDir())
	port := freePort(t)
	startNATSServer(t, natsBin, port, "-js", "-sd", t.TempDir())
	url := "nats://127.0.0.1:" + port
	nodes := []*heraldProc{
		startHerald(t, bin, "js0", "--nats-url", url),
		startHerald(t, bin, "js1", "--nats-url", url),
	}
	for _, n := range nodes {
		n.waitReady(t, 0)
		cl, _ := n.health(t)["cluster"].(map[string]any)
		if cl["sequenced"] != true || cl["stream"] != true {
			t.Fatalf("%s: not sequenced: %v", n.name, cl)
		}
	}
	waitMeshProcs(t, nodes)
	// Publish on js0, learn the position of the second message there...
	pos := publishMany(t, nodes[0].http, "ext/js", 4)
	// ...and resume from it on js1: the two after it, no missed report.
	c := resumeFrom(t, nodes[1].http, "ext/js", pos[1])
	for _, want := range []string{"m2", "m3"} {
		if got := c.next(t)["data"]; got != want {
			t.Fatalf("resumed on js1: got %v, want %s", got, want)
		}
	}

	// STOMP queues live in the external server's queue stream too: sent
	// on js0 before any consumer, consumed on js1 (cluster_queue_test.go).
	if _, err := exec.LookPath("/usr/bin/python3"); err == nil {
		queueSender(t, nodes[0], "/queue/ext", "q-", 3, 0).waitSent(t, 30*time.Second)
		qc := queueConsumer(t, nodes[1], "/queue/ext", map[string]string{"MODE": "ack"})
		for k := range 3 {
			if d := qc.nextDelivery(t, "the queue's messages on js1"); d.Body != fmt.Sprintf("q-%d", k) || d.Redelivered {
				t.Fatalf("js1 got %+v, want q-%d", d, k)
			}
		}
	}
}

func TestClusterExternalNATS(t *testing.T) {
	natsBin := testutil.Need(t, "nats-server")
	bin := buildBinary(t, t.TempDir())
	port := freePort(t)
	srv := startNATSServer(t, natsBin, port)
	url := "nats://127.0.0.1:" + port
	nodes := []*heraldProc{
		startHerald(t, bin, "ext0", "--nats-url", url),
		startHerald(t, bin, "ext1", "--nats-url", url),
	}
	for _, n := range nodes {
		n.waitReady(t, 0)
		cl, _ := n.health(t)["cluster"].(map[string]any)
		if cl["mode"] != "external" || cl["connected"] != true || cl["server"] == "" {
			t.Fatalf("%s healthz cluster = %v", n.name, cl)
		}
	}
	waitMeshProcs(t, nodes)

	exchange := func(round string) {
		t.Helper()
		subs := []*jsonClient{dialJSON(t, nodes[0].http), dialJSON(t, nodes[1].http)}
		for _, s := range subs {
			s.call(t, "subscribe", map[string]any{"topic": "ext/" + round})
		}
		var want []string
		for i, n := range nodes {
			p := dialJSON(t, n.http)
			for k := range 20 {
				p.call(t, "publish", map[string]any{"topic": "ext/" + round, "data": fmt.Sprintf("n%d-%d", i, k)})
				want = append(want, fmt.Sprintf("n%d-%d", i, k))
			}
		}
		for i, s := range subs {
			var got []string
			for range want {
				got = append(got, s.next(t)["data"].(string))
			}
			checkOnce(t, fmt.Sprintf("ext%d %s", i, round), got, want)
		}
	}
	exchange("before")

	// The NATS server goes away: the nodes are not ready (they serve
	// their own clients, but not as a cluster) and say so; it comes back
	// on the same address and they reconnect by themselves.
	srv.Process.Kill()
	for _, n := range nodes {
		n.waitReadyStatus(t, http.StatusServiceUnavailable)
	}
	startNATSServer(t, natsBin, port)
	for _, n := range nodes {
		n.waitReadyStatus(t, http.StatusOK)
	}
	waitMeshProcs(t, nodes)
	exchange("after")
}
