package main

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/testutil"
)

// startTriple starts three herald processes clustered over their
// embedded NATS servers, each seeded with the other two, and waits until
// each is routed to both.
func startTriple(t *testing.T, bin string) []*heraldProc {
	t.Helper()
	nodes, _ := startTripleRestartable(t, bin)
	return nodes
}

// startTripleRestartable is startTriple, and a function that starts node
// i again with its cluster address (after it died or stopped).
func startTripleRestartable(t *testing.T, bin string) ([]*heraldProc, func(i int) *heraldProc) {
	t.Helper()
	ports := []string{freePort(t), freePort(t), freePort(t)}
	start := func(i int) *heraldProc {
		var routes []string
		for j, p := range ports {
			if j != i {
				routes = append(routes, "127.0.0.1:"+p)
			}
		}
		name := fmt.Sprintf("node%d", i)
		return startHerald(t, bin, name, "--cluster-name", "test", "--cluster-node", name,
			"--cluster-listen", "127.0.0.1:"+ports[i], "--cluster-routes", strings.Join(routes, ","))
	}
	var nodes []*heraldProc
	for i := range ports {
		nodes = append(nodes, start(i))
	}
	for _, n := range nodes {
		n.waitReady(t, 2)
	}
	waitMeshProcs(t, nodes)
	return nodes, start
}

// waitMeshProcs waits until a message published on each node reaches
// every node: the routes are up and the nodes' subscriptions crossed them.
func waitMeshProcs(t *testing.T, nodes []*heraldProc) {
	t.Helper()
	probes := make([]*jsonClient, len(nodes))
	for i, n := range nodes {
		probes[i] = dialJSON(t, n.http)
		probes[i].call(t, "subscribe", map[string]any{"topic": "probe/#"})
	}
	seen := make([]map[string]bool, len(nodes))
	for i := range seen {
		seen[i] = map[string]bool{}
	}
	deadline := time.Now().Add(45 * time.Second)
	for round := 0; ; round++ {
		for i, p := range probes {
			p.call(t, "publish", map[string]any{"topic": fmt.Sprintf("probe/%d/%d", round, i), "data": "x"})
		}
		ok := true
		for i, p := range probes {
			// Drain what arrived; a probe is there within a round trip
			// once the mesh is up, so wait briefly for each round.
			timeout := time.After(500 * time.Millisecond)
		drain:
			for {
				select {
				case n := <-p.notes:
					if params, _ := n["params"].(map[string]any); params != nil {
						if tp, _ := params["topic"].(string); strings.HasPrefix(tp, fmt.Sprintf("probe/%d/", round)) {
							seen[i][tp] = true
						}
					}
					if len(seen[i]) == len(nodes)*(round+1) || countRound(seen[i], round) == len(nodes) {
						break drain
					}
				case <-timeout:
					break drain
				}
			}
			ok = ok && countRound(seen[i], round) == len(nodes)
		}
		if ok {
			for _, p := range probes {
				p.c.CloseNow()
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cluster did not form: %v", seen)
		}
	}
}

func countRound(seen map[string]bool, round int) int {
	n := 0
	for k := range seen {
		if strings.HasPrefix(k, fmt.Sprintf("probe/%d/", round)) {
			n++
		}
	}
	return n
}

// subscribers is one JSON, one STOMP and one MQTT subscriber of a topic
// on one node.
type subscribers struct {
	json  *jsonClient
	stomp *lineProc
	mqtt  *lineProc
}

func subscribeAll(t *testing.T, n *heraldProc, topicName string, count int) subscribers {
	t.Helper()
	var s subscribers
	s.json = dialJSON(t, n.http)
	s.json.call(t, "subscribe", map[string]any{"topic": topicName})
	s.stomp = startLines(t, map[string]string{"STOMP_ADDR": n.stomp, "STOMP_DEST": "/topic/" + topicName, "COUNT": strconv.Itoa(count)},
		"/usr/bin/python3", filepath.Join(testutil.Root(t), "tests", "python", "stomp_sub.py"))
	s.stomp.waitLine(t, "STOMP ready", func(l string) bool { return l == "ready" })
	host, port, _ := net.SplitHostPort(n.mqtt)
	// stdbuf: mosquitto_sub's debug lines (the SUBACK) are not flushed
	// when stdout is a pipe.
	s.mqtt = startLines(t, nil, "stdbuf", "-oL", "mosquitto_sub", "-h", host, "-p", port, "-q", "1", "-t", topicName, "-v", "-d",
		"-C", strconv.Itoa(count), "-i", "sub-"+n.name)
	s.mqtt.waitLine(t, "SUBACK", func(l string) bool { return strings.Contains(l, "received SUBACK") })
	return s
}

// payloads reads count payloads from each of the three subscribers.
func (s subscribers) payloads(t *testing.T, topicName string, count int) (json, stomp, mqtt []string) {
	t.Helper()
	for range count {
		json = append(json, s.json.next(t)["data"].(string))
		l := s.stomp.waitLine(t, "a STOMP message", func(l string) bool { return strings.HasPrefix(l, "{") })
		var f struct{ Body string }
		if err := jsonUnmarshal(l, &f); err != nil {
			t.Fatalf("stomp line %q: %v", l, err)
		}
		stomp = append(stomp, f.Body)
		l = s.mqtt.waitLine(t, "an MQTT message", func(l string) bool { return strings.HasPrefix(l, topicName+" ") })
		mqtt = append(mqtt, strings.TrimPrefix(l, topicName+" "))
	}
	return json, stomp, mqtt
}

// checkOnce asserts that got holds each of want exactly once and keeps
// each publisher's order (payload "<publisher>-<n>").
func checkOnce(t *testing.T, who string, got, want []string) {
	t.Helper()
	seen := map[string]int{}
	last := map[string]int{}
	for _, p := range got {
		seen[p]++
		pub, n, ok := strings.Cut(p, "-")
		if !ok {
			continue
		}
		k, _ := strconv.Atoi(n)
		if prev, ok := last[pub]; ok && k <= prev {
			t.Errorf("%s: %s after %s-%d: publisher order broken", who, p, pub, prev)
		}
		last[pub] = k
	}
	for _, w := range want {
		if seen[w] != 1 {
			t.Errorf("%s: %q received %d times, want once", who, w, seen[w])
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d messages, want %d", who, len(got), len(want))
	}
}

func TestClusterThreeProcesses(t *testing.T) {
	testutil.Need(t, "/usr/bin/python3")
	testutil.Need(t, "mosquitto_sub")
	pub := testutil.Need(t, "mosquitto_pub")
	bin := buildBinary(t, t.TempDir())
	nodes := startTriple(t, bin)

	const topicName, perNode = "cl/t", 10
	var want []string
	for i := range nodes {
		for k := range perNode {
			want = append(want, fmt.Sprintf("j%d-%d", i, k))
		}
		want = append(want, fmt.Sprintf("m%d-0", i))
	}
	total := len(want)
	subs := make([]subscribers, len(nodes))
	for i, n := range nodes {
		subs[i] = subscribeAll(t, n, topicName, total+1) // and the end marker
	}
	// Each node publishes over JSON and over MQTT (mosquitto_pub).
	for i, n := range nodes {
		j := dialJSON(t, n.http)
		for k := range perNode {
			j.call(t, "publish", map[string]any{"topic": topicName, "data": fmt.Sprintf("j%d-%d", i, k)})
		}
		host, port, _ := net.SplitHostPort(n.mqtt)
		if out, err := exec.Command(pub, "-h", host, "-p", port, "-q", "1", "-t", topicName, "-m", fmt.Sprintf("m%d-0", i)).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_pub: %v\n%s", err, out)
		}
	}
	for i, s := range subs {
		js, st, mq := s.payloads(t, topicName, total)
		checkOnce(t, fmt.Sprintf("node%d json", i), js, want)
		checkOnce(t, fmt.Sprintf("node%d stomp", i), st, want)
		checkOnce(t, fmt.Sprintf("node%d mqtt", i), mq, want)
	}
	// Everything arrived once; a marker published now is the very next
	// message everywhere: no late duplicate was on its way.
	dialJSON(t, nodes[2].http).call(t, "publish", map[string]any{"topic": topicName, "data": "end"})
	for i, s := range subs {
		js, st, mq := s.payloads(t, topicName, 1)
		if !slices.Equal(js, []string{"end"}) || !slices.Equal(st, []string{"end"}) || !slices.Equal(mq, []string{"end"}) {
			t.Errorf("node%d: after the %d messages got %v %v %v, want the end marker", i, total, js, st, mq)
		}
	}

	// A message retained on node0 is what a new subscriber on node2 gets.
	host, port, _ := net.SplitHostPort(nodes[0].mqtt)
	if out, err := exec.Command(pub, "-h", host, "-p", port, "-q", "1", "-r", "-t", "cl/retained", "-m", "kept").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub -r: %v\n%s", err, out)
	}
	host, port, _ = net.SplitHostPort(nodes[2].mqtt)
	deadline := time.Now().Add(15 * time.Second)
	for {
		// -W: give up after a second if nothing is retained there yet
		// (the bucket's update is on its way), and ask again.
		out, err := exec.Command("mosquitto_sub", "-h", host, "-p", port, "-t", "cl/retained", "-C", "1", "-W", "1").Output()
		if err == nil && strings.TrimSpace(string(out)) == "kept" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node2 never had the retained message: %q %v", out, err)
		}
	}

	// One MQTT client id on two nodes: the newer connection takes the
	// session over, as on one node (5.0: DISCONNECT 0x8E to the older).
	mqttSub := func(n *heraldProc) *lineProc {
		host, port, _ := net.SplitHostPort(n.mqtt)
		p := startLines(t, nil, "stdbuf", "-oL", "mosquitto_sub", "-V", "5", "-h", host, "-p", port, "-t", "cl/x", "-i", "twice", "-d")
		p.waitLine(t, "SUBACK", func(l string) bool { return strings.Contains(l, "received SUBACK") })
		return p
	}
	first := mqttSub(nodes[0])
	mqttSub(nodes[1])
	first.waitLine(t, "the takeover of the first connection", func(l string) bool { return strings.Contains(l, "DISCONNECT") || strings.Contains(l, "aken over") })

	// A STOMP queue is one queue across the cluster: messages sent on
	// node0 (no consumer there) go to the consumers on node1 and node2,
	// each to one of them.
	sendQueue := func(bodies ...string) {
		t.Helper()
		testutil.Run(t, 20*time.Second, testutil.Root(t), map[string]string{"STOMP_ADDR": nodes[0].stomp, "STOMP_DEST": "/queue/jobs"},
			"/usr/bin/python3", append([]string{filepath.Join(testutil.Root(t), "tests", "python", "stomp_send.py")}, bodies...)...)
	}
	var consumers []*lineProc
	for _, n := range nodes[1:] {
		c := startLines(t, map[string]string{"STOMP_ADDR": n.stomp, "STOMP_DEST": "/queue/jobs", "COUNT": "1000"},
			"/usr/bin/python3", filepath.Join(testutil.Root(t), "tests", "python", "stomp_sub.py"))
		c.waitLine(t, "a queue consumer", func(l string) bool { return l == "ready" })
		consumers = append(consumers, c)
	}
	bodyOf := func(l string) string {
		var f struct{ Body string }
		jsonUnmarshal(l, &f)
		return f.Body
	}
	// The consumers' interest crosses the routes in a moment: probe until
	// one of them gets a message sent on node0 (unanswered probes wait on
	// node0, which has no consumer).
	lines := make(chan string, 1000)
	for _, c := range consumers {
		go func() {
			for l := range c.lines {
				lines <- l
			}
		}()
	}
	probed := false
	for i := 0; !probed; i++ {
		if i == 50 {
			t.Fatal("no queue message sent on node0 reached the consumers on node1 and node2")
		}
		sendQueue(fmt.Sprintf("probe-%d", i))
		select {
		case <-lines:
			probed = true
		case <-time.After(200 * time.Millisecond): // a retry interval
		}
	}
	var jobs []string
	for k := range 40 {
		jobs = append(jobs, fmt.Sprintf("job-%d", k))
	}
	sendQueue(jobs...)
	var gotJobs []string
	timeout := time.After(20 * time.Second)
	for len(gotJobs) < len(jobs) {
		select {
		case l := <-lines:
			if b := bodyOf(l); strings.HasPrefix(b, "job-") {
				gotJobs = append(gotJobs, b)
			}
		case <-timeout:
			t.Fatalf("queue: %d of %d jobs consumed", len(gotJobs), len(jobs))
		}
	}
	slices.Sort(gotJobs)
	if !slices.Equal(slices.Compact(slices.Clone(gotJobs)), gotJobs) {
		t.Fatalf("a queue message was consumed twice: %v", gotJobs)
	}

	// Health and metrics show the membership and the traffic.
	for _, n := range nodes {
		cl, _ := n.health(t)["cluster"].(map[string]any)
		if cl["mode"] != "embedded" || cl["connected"] != true || cl["routes"] != 2.0 {
			t.Errorf("%s healthz cluster = %v", n.name, cl)
		}
		if peers, _ := cl["peers"].(map[string]any); len(peers) != 2 || peers[n.name] != nil {
			t.Errorf("%s healthz cluster.peers = %v, want its two peers", n.name, cl["peers"])
		}
		_, m := get(t, n.http+"/metrics")
		want := []string{"herald_cluster_routes 2", "herald_cluster_connected 1", "herald_cluster_messages_in_total", "herald_cluster_messages_out_total"}
		for _, peer := range nodes {
			if peer.name != n.name { // the traffic with each peer, by its name
				want = append(want, fmt.Sprintf("herald_cluster_route_bytes_out_total{peer=%q}", peer.name),
					fmt.Sprintf("herald_cluster_route_messages_in_total{peer=%q}", peer.name))
			}
		}
		for _, w := range want {
			if !strings.Contains(m, w) {
				t.Errorf("%s /metrics lacks %q", n.name, w)
			}
		}
	}
}
