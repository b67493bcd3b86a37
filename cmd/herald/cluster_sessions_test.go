package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/testutil"
)

// TestClusterSessionsAcrossNodes: consecutive requests of one long-poll
// or HTTP-streaming session hit different nodes (round robin, no
// stickiness); the session carries on, with every message once and in
// order: polls and POSTs are forwarded to the session's node, the
// stream's GET is relayed from it.
func TestClusterSessionsAcrossNodes(t *testing.T) {
	node := testutil.Need(t, "node")
	bin := buildBinary(t, t.TempDir())
	nodes := startTriple(t, bin)
	var urls []string
	for _, n := range nodes {
		urls = append(urls, n.http)
	}
	for _, transport := range []string{"longpoll", "sse"} {
		t.Run(transport, func(t *testing.T) {
			topic := "lp/" + transport
			client := startLines(t, map[string]string{
				"HERALD_URLS": strings.Join(urls, ","), "HERALD_JS": filepath.Join(testutil.Root(t), "web", "herald.js"),
				"HERALD_TRANSPORT": transport, "HERALD_TOPIC": topic,
			}, node, filepath.Join(testutil.Root(t), "tests", "node", "cluster_sessions.mjs"))
			client.waitLine(t, "the "+transport+" client", func(l string) bool { return l == "ready" })

			p := dialJSON(t, nodes[2].http)
			var want []string
			for k := range 40 {
				d := fmt.Sprintf("p-%d", k)
				p.call(t, "publish", map[string]any{"topic": topic, "data": d})
				want = append(want, d)
				time.Sleep(10 * time.Millisecond) // a steady rate, so that several polls carry them
			}
			p.call(t, "publish", map[string]any{"topic": topic, "data": "end"})
			line := client.waitLine(t, "the report", func(l string) bool { return strings.HasPrefix(l, "{") })
			var rep struct {
				Got         []string
				Missed      []any
				PerNode     []int
				CreatedOn   int
				StreamNodes []int
				Transport   string
				Timeout     bool
			}
			if err := json.Unmarshal([]byte(line), &rep); err != nil || rep.Timeout {
				t.Fatalf("report %s: %v", line, err)
			}
			checkOnce(t, transport+" across nodes", rep.Got, append(want, "end"))
			if len(rep.Missed) != 0 || rep.Transport != transport {
				t.Errorf("missed %v, transport %q", rep.Missed, rep.Transport)
			}
			if transport == "longpoll" {
				for i, n := range rep.PerNode {
					if n < 2 {
						t.Errorf("node%d served %d requests: not round robin %v", i, n, rep.PerNode)
					}
				}
			} else if !slices.ContainsFunc(rep.StreamNodes, func(n int) bool { return n != rep.CreatedOn }) {
				t.Errorf("no stream GET reached a node other than the session's (%d): %v", rep.CreatedOn, rep.StreamNodes)
			}
			t.Logf("requests per node: %v; session on node%d, stream GETs on %v", rep.PerNode, rep.CreatedOn, rep.StreamNodes)
		})
	}
}
