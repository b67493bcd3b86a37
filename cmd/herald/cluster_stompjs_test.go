package main

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/heraldhq/herald/internal/testutil"
)

// TestClusterStompJSFailover: a stomp.js consumer with a failover list,
// acknowledging each queue message (client-individual) one message late,
// loses its node to kill -9 while a producer on another node sends at a
// steady rate. It reconnects to the next node and every message whose
// SEND got its RECEIPT is consumed; what it held unacknowledged on the
// lost node comes back marked redelivered, and only that comes twice.
func TestClusterStompJSFailover(t *testing.T) {
	node := testutil.Need(t, "node")
	bin := buildBinary(t, t.TempDir())
	nodes := startTriple(t, bin)
	var urls []string
	for _, n := range nodes {
		urls = append(urls, strings.Replace(n.http, "http://", "ws://", 1)+"/ws")
	}
	clients := startLines(t, map[string]string{"STOMP_URLS": strings.Join(urls, ","), "TOTAL": "150"},
		node, filepath.Join(testutil.Root(t), "tests", "node", "cluster_stomp_failover.mjs"))
	clients.waitLine(t, "the stomp.js clients", func(l string) bool { return l == "ready" })

	// Kill the consumer's node once it has taken some messages.
	for range 30 {
		clients.waitLine(t, "a message on node0", func(l string) bool { return strings.HasPrefix(l, "got ") })
	}
	if err := nodes[0].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-nodes[0].done

	line := clients.waitLine(t, "the report", func(l string) bool { return strings.HasPrefix(l, "{") })
	var rep struct {
		Timeout bool
		Sent    []string
		Got     []struct {
			Body        string
			Redelivered bool
		}
		Connects []string
	}
	if err := json.Unmarshal([]byte(line), &rep); err != nil || rep.Timeout {
		t.Fatalf("report %s: %v", line, err)
	}
	if len(rep.Sent) != 150 {
		t.Fatalf("%d of 150 SENDs receipted", len(rep.Sent))
	}
	seen := map[string]int{}
	redelivered := 0
	for _, d := range rep.Got {
		seen[d.Body]++
		if d.Redelivered {
			redelivered++
		}
		if seen[d.Body] > 1 && !d.Redelivered {
			t.Errorf("%s delivered again without redelivered:true", d.Body)
		}
	}
	for _, b := range rep.Sent {
		if seen[b] == 0 {
			t.Errorf("%s was receipted and never consumed", b)
		}
	}
	if len(rep.Connects) < 2 || rep.Connects[0] != urls[0] || !slices.ContainsFunc(rep.Connects[1:], func(u string) bool { return u != urls[0] }) {
		t.Errorf("the consumer connected to %v: want node0, then a survivor", rep.Connects)
	}
	if redelivered == 0 {
		t.Error("nothing came back redelivered: the consumer held one message unacknowledged when its node died")
	}
	t.Logf("%d sent, %d deliveries (%d redelivered) over %v", len(rep.Sent), len(rep.Got), redelivered, rep.Connects)
}
