package main

import (
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/testutil"
)

// TestClusterFileStorageWholeRestart: two herald processes with data
// directories (file storage by default) take messages and a retained MQTT
// message, both stop, both start again: a herald.v1 client resuming from a
// position taken before gets what followed it with no "missed" notice,
// and mosquitto_sub on the other node gets the retained message.
func TestClusterFileStorageWholeRestart(t *testing.T) {
	sub := testutil.Need(t, "mosquitto_sub")
	pub := testutil.Need(t, "mosquitto_pub")
	bin := buildBinary(t, t.TempDir())
	ports := []string{freePort(t), freePort(t)}
	dirs := []string{t.TempDir(), t.TempDir()}
	start := func(i int) *heraldProc {
		name := fmt.Sprintf("dur%d", i)
		return startHerald(t, bin, name, "--cluster-node", name, "--data-dir", dirs[i],
			"--cluster-listen", "127.0.0.1:"+ports[i], "--cluster-routes", "127.0.0.1:"+ports[1-i])
	}
	startBoth := func() []*heraldProc {
		nodes := []*heraldProc{start(0), start(1)}
		for _, n := range nodes {
			n.waitReady(t, 1)
		}
		waitMeshProcs(t, nodes)
		return nodes
	}
	nodes := startBoth()
	if cl, _ := nodes[0].health(t)["cluster"].(map[string]any); cl["storage"] != "file" {
		t.Fatalf("healthz cluster = %v", cl)
	}
	host, port, _ := net.SplitHostPort(nodes[0].mqtt)
	if out, err := exec.Command(pub, "-h", host, "-p", port, "-q", "1", "-r", "-t", "dur/ret", "-m", "kept").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub: %v\n%s", err, out)
	}
	retained := func(n *heraldProc) string {
		t.Helper()
		host, port, _ := net.SplitHostPort(n.mqtt)
		out, err := exec.Command(sub, "-h", host, "-p", port, "-t", "dur/ret", "-C", "1", "-W", "20").CombinedOutput()
		if err != nil {
			t.Fatalf("mosquitto_sub on %s: %v\n%s", n.name, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if got := retained(nodes[1]); got != "kept" { // in the bucket, on the other node
		t.Fatalf("retained before the restart: %q", got)
	}
	second := publishMany(t, nodes[1].http, "dur/x", 4)[1]
	for _, n := range nodes {
		n.stop(t)
	}
	nodes = startBoth()

	c := resumeFrom(t, nodes[0].http, "dur/x", second)
	c.call(t, "publish", map[string]any{"topic": "dur/x", "data": "m4"})
	// Exactly m2, m3, m4 in the old epoch: no missed notice (a reset)
	// before or between them.
	timeout := time.After(20 * time.Second)
	for _, want := range []string{"m2", "m3", "m4"} {
		select {
		case n := <-c.notes:
			params, _ := n["params"].(map[string]any)
			if n["method"] != "message" || params["data"] != want || params["epoch"] != second["epoch"] {
				t.Fatalf("after the restart: %v, want message %s in epoch %v", n, want, second["epoch"])
			}
		case <-timeout:
			t.Fatalf("no %s after the restart", want)
		}
	}
	if got := retained(nodes[1]); got != "kept" {
		t.Fatalf("retained after the restart: %q", got)
	}
}
