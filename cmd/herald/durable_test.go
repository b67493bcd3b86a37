package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/testutil"
)

// The tests here run the herald binary as a separate process, so that it
// can be killed with SIGKILL mid-stream and started again on the same
// data directory.

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// heraldBinary builds the binary once for the package's tests.
func heraldBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "herald-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "herald")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// proc is a running herald process.
type proc struct {
	cmd              *exec.Cmd
	http, mqtt, stom string // addresses
	logs             *logBuffer
	exited           chan struct{}
}

var (
	reServing = regexp.MustCompile(`msg="herald serving" addr=(\S+)`)
	reMQTT    = regexp.MustCompile(`msg="mqtt listening" addr=(\S+)`)
	reSTOMP   = regexp.MustCompile(`msg="stomp listening" addr=(\S+)`)
)

// startHerald runs the binary on dataDir with free ports and waits until
// it serves.
func startDurable(t *testing.T, dataDir string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--mqtt-listen", "127.0.0.1:0",
		"--stomp-listen", "127.0.0.1:0", "--data-dir", dataDir, "--shutdown-timeout", "5s"}, extra...)
	cmd := exec.Command(heraldBinary(t), args...)
	p := &proc{cmd: cmd, logs: &logBuffer{}, exited: make(chan struct{})}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		announced := false
		for sc.Scan() {
			line := sc.Text()
			p.logs.Write([]byte(line + "\n"))
			if m := reMQTT.FindStringSubmatch(line); m != nil {
				p.mqtt = m[1]
			}
			if m := reSTOMP.FindStringSubmatch(line); m != nil {
				p.stom = m[1]
			}
			if m := reServing.FindStringSubmatch(line); m != nil && !announced {
				p.http, announced = m[1], true
				close(ready)
			}
		}
		cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.exited
	})
	select {
	case <-ready:
	case <-p.exited:
		t.Fatalf("herald exited before serving: %s", p.logs.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("herald did not start within 20s: %s", p.logs.String())
	}
	return p
}

// kill9 kills the process with SIGKILL: no shutdown code runs.
func (p *proc) kill9(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.exited
}

// stop shuts the process down cleanly (SIGTERM) and waits for it.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		t.Fatalf("herald did not stop: %s", p.logs.String())
	}
	if !p.cmd.ProcessState.Success() {
		t.Fatalf("herald exited with %v: %s", p.cmd.ProcessState, p.logs.String())
	}
}

// nodeLines starts a tests/node script and returns a channel of the JSON
// objects it prints, closed when it exits, and a wait for its exit.
func nodeLines(t *testing.T, env map[string]string, script string, args ...string) (<-chan map[string]any, func() error) {
	t.Helper()
	node := testutil.Need(t, "node")
	testutil.Node(t, 30*time.Second, "-e", nil, "") // npm ci once, if need be
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, node, append([]string{script}, args...)...)
	cmd.Dir = filepath.Join(testutil.Root(t), "tests", "node")
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr logBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ch := make(chan map[string]any, 4096)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		dec := json.NewDecoder(stdout)
		for {
			var v map[string]any
			if err := dec.Decode(&v); err != nil {
				if err != io.EOF {
					t.Errorf("%s: output: %v", script, err)
				}
				io.Copy(io.Discard, stdout)
				return
			}
			ch <- v
		}
	}()
	wait := func() error {
		<-done
		if err := cmd.Wait(); err != nil {
			return fmt.Errorf("%s %v: %w\n%s", script, args, err, stderr.String())
		}
		return nil
	}
	return ch, wait
}

// runNode runs a script to its end and returns what it printed.
func runNode(t *testing.T, env map[string]string, script string, args ...string) []map[string]any {
	t.Helper()
	ch, wait := nodeLines(t, env, script, args...)
	var all []map[string]any
	for v := range ch {
		all = append(all, v)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	return all
}

func num(v any) int { f, _ := v.(float64); return int(f) }

func str(v any) string { s, _ := v.(string); return s }

// kill -9 while MQTT.js publishes QoS 1 and 2 to an offline persistent
// session: after a restart every acknowledged message is delivered, and
// each QoS 2 message exactly once.
func TestDurableMQTTKill9(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	h := startDurable(t, dir)
	env := map[string]string{"HERALD_MQTT": "mqtt://" + h.mqtt}
	runNode(t, env, "durable_mqtt.mjs", "subscribe")

	start := time.Now()
	acks, wait := nodeLines(t, env, "durable_mqtt.mjs", "publish")
	acked := map[int]int{} // message -> QoS
	for v := range acks {
		if _, ok := v["ack"]; ok {
			acked[num(v["ack"])] = num(v["qos"])
		}
		if len(acked) == 300 {
			h.kill9(t) // mid-stream: the publisher has more in flight
		}
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if len(acked) < 300 {
		t.Fatalf("only %d messages acknowledged before the publisher stopped", len(acked))
	}

	h = startDurable(t, dir)
	env["HERALD_MQTT"] = "mqtt://" + h.mqtt
	got := runNode(t, env, "durable_mqtt.mjs", "receive")
	seen := map[int]int{}
	for _, v := range got {
		if p, ok := v["sessionPresent"]; ok && p != true {
			t.Fatal("the persistent session was not present after the restart")
		}
		if _, ok := v["i"]; ok {
			seen[num(v["i"])]++
		}
	}
	for i, q := range acked {
		if seen[i] == 0 {
			t.Errorf("acknowledged QoS %d message %d not delivered after the restart", q, i)
		}
	}
	for i, n := range seen {
		if i%2 == 1 && n > 1 {
			t.Errorf("QoS 2 message %d delivered %d times", i, n)
		}
	}
	t.Logf("%d acknowledged before kill -9, %d distinct delivered after restart (%v)", len(acked), len(seen), time.Since(start))
}

// kill -9 while STOMP producers send to a /queue/ with a client-ack
// consumer mid-stream: after a restart no receipted send is lost, and
// what was delivered but not acknowledged comes again, marked
// redelivered.
func TestDurableSTOMPKill9(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	h := startDurable(t, dir)
	env := map[string]string{"STOMP_URL": "ws://" + h.http + "/ws"}
	lines, wait := nodeLines(t, env, "durable_stomp.mjs", "produce")
	receipted := map[string]bool{}
	unacked := map[string]bool{}
	acked := map[string]bool{}
	killed := false
	for v := range lines {
		if id := str(v["receipted"]); id != "" {
			receipted[id] = true
		}
		if id := str(v["got"]); id != "" {
			if v["acked"] == true {
				acked[id] = true
			} else {
				unacked[id] = true
			}
		}
		if !killed && len(receipted) >= 200 && len(unacked) >= 10 {
			h.kill9(t)
			killed = true
		}
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if !killed {
		t.Fatalf("stream ended before the kill: %d receipted, %d unacknowledged", len(receipted), len(unacked))
	}

	h = startDurable(t, dir)
	env["STOMP_URL"] = "ws://" + h.http + "/ws"
	after := map[string]bool{} // id -> redelivered
	for _, v := range runNode(t, env, "durable_stomp.mjs", "drain") {
		if id := str(v["got"]); id != "" {
			after[id] = v["redelivered"] == true
		}
	}
	for id := range receipted {
		if _, ok := after[id]; !ok && !acked[id] {
			t.Errorf("receipted message %s lost", id)
		}
	}
	for id := range unacked {
		red, ok := after[id]
		switch {
		case !ok && receipted[id]:
			t.Errorf("unacknowledged delivery %s not redelivered", id)
		case ok && !red:
			t.Errorf("unacknowledged delivery %s came again without redelivered:true", id)
		}
	}
	t.Logf("%d receipted, %d delivered unacknowledged before kill -9; %d after restart", len(receipted), len(unacked), len(after))
}

// Retained messages and durable topics' history survive kill -9 and a
// clean restart; positions taken before stay valid (same epoch).
func TestDurableRetainedAndHistory(t *testing.T) {
	t.Parallel()
	pub := testutil.Need(t, "mosquitto_pub")
	sub := testutil.Need(t, "mosquitto_sub")
	dir := t.TempDir()
	h := startDurable(t, dir, "--durable-topics", "sensors/#")
	mq := func(h *proc, tool string, args ...string) string {
		host, port, _ := strings.Cut(h.mqtt, ":")
		return testutil.Run(t, 15*time.Second, "", nil, tool, append([]string{"-h", host, "-p", port, "-V", "mqttv311"}, args...)...)
	}
	mq(h, pub, "-q", "1", "-r", "-t", "ret/a", "-m", "kept")
	stream := openEvents(t, h, "sensors/t", "")
	for i := 1; i <= 3; i++ {
		mq(h, pub, "-q", "1", "-t", "sensors/t", "-m", fmt.Sprint(i))
	}
	first := stream.next(t)
	if !strings.Contains(first.data, `"seq":1,`) {
		t.Fatalf("first event %s", first.data)
	}
	stream.next(t)
	stream.next(t)
	stream.close()
	h.kill9(t)

	check := func(h *proc, want ...string) {
		t.Helper()
		if got := strings.TrimSpace(mq(h, sub, "-q", "1", "-C", "1", "-W", "10", "-t", "ret/a")); got != "kept" {
			t.Fatalf("retained message after restart: %q", got)
		}
		s := openEvents(t, h, "sensors/t", first.id)
		for _, w := range want {
			if e := s.next(t); e.event != "" || !strings.Contains(e.data, `"seq":`+w+",") {
				t.Fatalf("after restart got event %q %s, want seq %s", e.event, e.data, w)
			}
		}
		s.close()
	}
	h = startDurable(t, dir, "--durable-topics", "sensors/#")
	check(h, "2", "3")
	mq(h, pub, "-q", "1", "-t", "sensors/t", "-m", "4")
	h.stop(t)
	h = startDurable(t, dir, "--durable-topics", "sensors/#")
	check(h, "2", "3", "4")
}

// A truncated or damaged store file stops the server at start-up with an
// error that names the problem; it never panics and never starts empty.
func TestDurableDamagedStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	h := startDurable(t, dir)
	host, port, _ := strings.Cut(h.mqtt, ":")
	pub := testutil.Need(t, "mosquitto_pub")
	for i := range 50 {
		testutil.Run(t, 15*time.Second, "", nil, pub, "-h", host, "-p", port, "-q", "1", "-r", "-t", fmt.Sprintf("ret/%d", i), "-m", strings.Repeat("x", 2000))
	}
	h.stop(t)
	path := filepath.Join(dir, "herald.db")
	whole, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{0, 5000, len(whole) / 2} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			d := t.TempDir()
			os.WriteFile(filepath.Join(d, "herald.db"), whole[:size], 0o600)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, heraldBinary(t), "serve", "--listen", "127.0.0.1:0", "--mqtt-listen", "", "--stomp-listen", "", "--data-dir", d)
			out, err := cmd.CombinedOutput()
			if err == nil || cmd.ProcessState.ExitCode() != 1 {
				t.Fatalf("herald on a truncated store: %v (exit %d)\n%s", err, cmd.ProcessState.ExitCode(), out)
			}
			if strings.Contains(string(out), "panic") || !regexp.MustCompile(`truncated|corrupted`).Match(out) {
				t.Fatalf("unclear start-up error:\n%s", out)
			}
			if fi, _ := os.Stat(filepath.Join(d, "herald.db")); fi.Size() != int64(size) {
				t.Fatalf("the damaged file was changed: %d bytes, was %d", fi.Size(), size)
			}
		})
	}
}

// sseEvent is one Server-Sent Event.
type sseEvent struct{ id, event, data string }

type sseStream struct {
	events <-chan sseEvent
	close  func()
}

// openEvents follows topic on the server's /events, resuming after the
// token lastID when it is set.
func openEvents(t *testing.T, h *proc, topic, lastID string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+h.http+"/events?topic="+url.QueryEscape(topic), nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		cancel()
		t.Fatalf("GET /events: %s", resp.Status)
	}
	ch := make(chan sseEvent, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		sc := bufio.NewScanner(resp.Body)
		var e sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if e.data != "" || e.event != "" {
					ch <- e
				}
				e = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				e.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				e.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				e.data += line[6:]
			}
		}
	}()
	return &sseStream{events: ch, close: func() {
		cancel()
		resp.Body.Close()
		<-done
	}}
}

// next returns the next message event (one with a sequence number),
// skipping the stream's other events (what it subscribed to).
func (s *sseStream) next(t *testing.T) sseEvent {
	t.Helper()
	for {
		select {
		case e, ok := <-s.events:
			if !ok {
				t.Fatal("event stream ended")
			}
			if e.event == "missed" {
				t.Fatalf("history lost: %s", e.data)
			}
			if !strings.Contains(e.data, `"seq":`) {
				continue // what the stream follows
			}
			return e
		case <-time.After(10 * time.Second):
			t.Fatal("no event within 10s")
		}
	}
}
