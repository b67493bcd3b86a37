package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/testutil"
)

// TestClusterLongPollAcrossNodes: consecutive requests of one long-poll
// session hit different nodes (round robin, no stickiness); the session
// carries on, with every message once and in order.
func TestClusterLongPollAcrossNodes(t *testing.T) {
	node := testutil.Need(t, "node")
	bin := buildBinary(t, t.TempDir())
	nodes := startTriple(t, bin)
	var urls []string
	for _, n := range nodes {
		urls = append(urls, n.http)
	}
	client := startLines(t, map[string]string{
		"HERALD_URLS": strings.Join(urls, ","), "HERALD_JS": filepath.Join(testutil.Root(t), "web", "herald.js"),
	}, node, filepath.Join(testutil.Root(t), "tests", "node", "cluster_longpoll.mjs"))
	client.waitLine(t, "the long-poll client", func(l string) bool { return l == "ready" })

	p := dialJSON(t, nodes[2].http)
	var want []string
	for k := range 40 {
		d := fmt.Sprintf("p-%d", k)
		p.call(t, "publish", map[string]any{"topic": "lp/t", "data": d})
		want = append(want, d)
		time.Sleep(10 * time.Millisecond) // a steady rate, so that several polls carry them
	}
	p.call(t, "publish", map[string]any{"topic": "lp/t", "data": "end"})
	line := client.waitLine(t, "the report", func(l string) bool { return strings.HasPrefix(l, "{") })
	var rep struct {
		Got       []string
		Missed    []any
		PerNode   []int
		Transport string
		Timeout   bool
	}
	if err := json.Unmarshal([]byte(line), &rep); err != nil || rep.Timeout {
		t.Fatalf("report %s: %v", line, err)
	}
	checkOnce(t, "long polling across nodes", rep.Got, append(want, "end"))
	if len(rep.Missed) != 0 || rep.Transport != "longpoll" {
		t.Errorf("missed %v, transport %q", rep.Missed, rep.Transport)
	}
	for i, n := range rep.PerNode {
		if n < 2 {
			t.Errorf("node%d served %d requests: not round robin %v", i, n, rep.PerNode)
		}
	}
	t.Logf("requests per node: %v", rep.PerNode)
}
