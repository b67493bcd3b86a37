package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/heraldhq/herald/internal/testutil"
)

// Process-level cluster tests: real herald binaries on 127.0.0.1, real
// clients (a herald.v1 WebSocket client, Debian's stomp.py, mosquitto_sub).

// buildBinary builds cmd/herald into dir.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "herald")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = filepath.Join(testutil.Root(t), "cmd", "herald")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// freePort returns a port nothing listens on at the moment.
func freePort(t *testing.T) string {
	ln := testutil.Listen(t)
	p := testutil.Port(ln)
	ln.Close()
	return p
}

// heraldProc is one running herald process.
type heraldProc struct {
	name        string
	cmd         *exec.Cmd
	http        string // base URL
	stomp, mqtt string // host:port
	logs        *logBuffer
	done        chan error
}

// startHerald runs bin serve with args and waits for its listeners.
func startHerald(t *testing.T, bin, name string, args ...string) *heraldProc {
	t.Helper()
	args = append([]string{"serve", "--listen", "127.0.0.1:0", "--stomp-listen", "127.0.0.1:0", "--mqtt-listen", "127.0.0.1:0",
		"--demo=false", "--log-format", "json", "--log-level", "info", "--shutdown-timeout", "5s"}, args...)
	p := &heraldProc{name: name, cmd: exec.Command(bin, args...), logs: &logBuffer{}, done: make(chan error, 1)}
	p.cmd.Env = append(os.Environ(), "GOTRACEBACK=all") // every goroutine in a SIGQUIT dump (stop)
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrs := make(chan map[string]string, 8)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			p.logs.Write([]byte(line + "\n"))
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil {
				if a, ok := rec["addr"].(string); ok {
					addrs <- map[string]string{rec["msg"].(string): a}
				}
			}
		}
	}()
	go func() {
		err := p.cmd.Wait()
		pw.Close()
		p.done <- err
	}()
	t.Cleanup(func() { p.stop(t) })
	deadline := time.After(20 * time.Second)
	for p.http == "" || p.stomp == "" || p.mqtt == "" {
		select {
		case a := <-addrs:
			for k, v := range a {
				switch k {
				case "herald serving":
					p.http = "http://" + v
				case "stomp listening":
					p.stomp = v
				case "mqtt listening":
					p.mqtt = v
				}
			}
		case err := <-p.done:
			p.done <- err
			t.Fatalf("%s exited: %v\n%s", name, err, p.logs)
		case <-deadline:
			t.Fatalf("%s did not start\n%s", name, p.logs)
		}
	}
	return p
}

// stop ends the process gracefully (SIGTERM), or kills it after 10s.
func (p *heraldProc) stop(t *testing.T) {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
	case <-time.After(10 * time.Second):
		// SIGQUIT first: the Go runtime writes every goroutine's stack to
		// the log printed below, which shows where the stop hung.
		_ = p.cmd.Process.Signal(syscall.SIGQUIT)
		time.Sleep(time.Second) // the dump's time to be written, on a failure path only
		_ = p.cmd.Process.Kill()
		t.Errorf("%s did not stop on SIGTERM; its log:\n%s", p.name, p.logs)
		p.done <- <-p.done
	}
}

// health returns the decoded /healthz of p.
func (p *heraldProc) health(t *testing.T) map[string]any {
	resp, err := http.Get(p.http + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h map[string]any
	json.NewDecoder(resp.Body).Decode(&h)
	return h
}

// waitReady waits until /readyz answers 200 and the node is routed to
// peers others.
func (p *heraldProc) waitReady(t *testing.T, peers int) {
	t.Helper()
	// Generous: a JetStream leader election on a loaded machine can take
	// a while, and CI machines are shared.
	deadline := time.Now().Add(45 * time.Second)
	for {
		resp, err := http.Get(p.http + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				cl, _ := p.health(t)["cluster"].(map[string]any)
				if r, _ := cl["routes"].(float64); int(r) >= peers || peers == 0 {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready with %d peers: %v\n%s", p.name, peers, p.health(t), p.logs)
		}
		time.Sleep(100 * time.Millisecond) // polling a status endpoint
	}
}

// waitStreamCurrent waits until /healthz reports n up-to-date copies of
// the cluster's topic stream.
func (p *heraldProc) waitStreamCurrent(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		cl, _ := p.health(t)["cluster"].(map[string]any)
		sh, _ := cl["stream_health"].(map[string]any)
		if c, _ := sh["current"].(float64); int(c) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the stream never had %d current copies: %v", p.name, n, cl)
		}
		time.Sleep(100 * time.Millisecond) // polling a status endpoint
	}
}

// jsonClient is a herald.v1 WebSocket client.
type jsonClient struct {
	c     *websocket.Conn
	mu    sync.Mutex // one call at a time
	id    int
	resp  chan map[string]any
	notes chan map[string]any
}

// publishMany publishes "m0", "m1", ... to topic on base and returns
// each message's position as the server answered it.
func publishMany(t *testing.T, base, topic string, count int) []map[string]any {
	t.Helper()
	p := dialJSON(t, base)
	var pos []map[string]any
	for k := range count {
		res, _ := p.call(t, "publish", map[string]any{"topic": topic, "data": fmt.Sprintf("m%d", k)}).(map[string]any)
		pos = append(pos, res)
	}
	return pos
}

// resumeFrom subscribes to topic on base from pos (a publish's answer).
func resumeFrom(t *testing.T, base, topic string, pos map[string]any) *jsonClient {
	t.Helper()
	c := dialJSON(t, base)
	c.call(t, "subscribe", map[string]any{"topic": topic, "since": map[string]any{"epoch": pos["epoch"], "seq": pos["seq"]}})
	return c
}

func dialJSON(t *testing.T, base string) *jsonClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws", &websocket.DialOptions{Subprotocols: []string{"herald.v1"}})
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(1 << 20)
	j := &jsonClient{c: c, resp: make(chan map[string]any, 1), notes: make(chan map[string]any, 10000)}
	go func() {
		for {
			_, b, err := c.Read(context.Background())
			if err != nil {
				close(j.notes)
				return
			}
			var m map[string]any
			json.Unmarshal(b, &m)
			if _, ok := m["id"]; ok {
				j.resp <- m
			} else {
				j.notes <- m
			}
		}
	}()
	t.Cleanup(func() { c.CloseNow() })
	return j
}

// call makes a request and returns its result, failing on an error.
func (j *jsonClient) call(t *testing.T, method string, params any) any {
	t.Helper()
	res, err := j.callErr(method, params)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// callErr is call for goroutines other than the test's.
func (j *jsonClient) callErr(method string, params any) (any, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.id++
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": j.id, "method": method, "params": params})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := j.c.Write(ctx, websocket.MessageText, b); err != nil {
		return nil, err
	}
	select {
	case r := <-j.resp:
		if r["error"] != nil {
			return nil, fmt.Errorf("%s: %v", method, r["error"])
		}
		return r["result"], nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: no answer", method)
	}
}

// next returns the next "message" notification's params.
func (j *jsonClient) next(t *testing.T) map[string]any {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case n, ok := <-j.notes:
			if !ok {
				t.Fatal("connection closed")
			}
			if n["method"] == "message" {
				return n["params"].(map[string]any)
			}
		case <-timeout:
			t.Fatal("no message within 20s")
		}
	}
}

// lineProc is a client program whose stdout lines the test reads.
type lineProc struct {
	lines chan string
	cmd   *exec.Cmd
}

// startLinesStdin is startLines with a pipe to the program's stdin.
func startLinesStdin(t *testing.T, env map[string]string, name string, args ...string) (*lineProc, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr logBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lp := &lineProc{lines: make(chan string, 10000), cmd: cmd}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lp.lines <- sc.Text()
		}
		close(lp.lines)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() && stderr.String() != "" {
			t.Logf("%s stderr:\n%s", name, stderr.String())
		}
	})
	return lp, stdin
}

// startLines runs a client program (no stdin) and reads its stdout lines.
func startLines(t *testing.T, env map[string]string, name string, args ...string) *lineProc {
	t.Helper()
	lp, stdin := startLinesStdin(t, env, name, args...)
	stdin.Close()
	return lp
}

// waitLine returns the next line that keep accepts.
func (lp *lineProc) waitLine(t *testing.T, what string, keep func(string) bool) string {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-lp.lines:
			if !ok {
				t.Fatalf("client exited while waiting for %s", what)
			}
			if keep(l) {
				return l
			}
		case <-timeout:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
