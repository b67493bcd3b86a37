package herald_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/internal/testutil"
	"github.com/heraldhq/herald/internal/wsframe"
)

// startMQTT runs a server with its WebSocket endpoint at /ws and MQTT over
// TCP on 127.0.0.1; it returns the HTTP base URL and the MQTT port.
func startMQTT(t *testing.T, opts herald.Options) (*herald.Server, string, string) {
	t.Helper()
	srv := herald.New(opts)
	mux := http.NewServeMux()
	mux.Handle("/ws", srv)
	hs := httptest.NewServer(mux)
	ln := testutil.Listen(t)
	served := make(chan error, 1)
	go func() { served <- srv.ServeMQTT(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Close()
		<-served
	})
	return srv, hs.URL, testutil.Port(ln)
}

// proc is a command whose output lines a test reads as they come.
type proc struct {
	cmd   *exec.Cmd
	lines chan string
	done  chan struct{}
	mu    sync.Mutex
	all   []string
	err   error
}

const procTimeout = 20 * time.Second

// startProc runs a command; it is killed at the end of the test.
func startProc(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	path := testutil.Need(t, name)
	// Line-buffered output, so that each line is seen as it is printed.
	cmd := exec.Command(testutil.Need(t, "stdbuf"), append([]string{"-oL", path}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, lines: make(chan string, 1024), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.mu.Lock()
			p.all = append(p.all, sc.Text())
			p.mu.Unlock()
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	return p
}

// waitFor reads output until a line contains s.
func (p *proc) waitFor(t *testing.T, s string) {
	t.Helper()
	timeout := time.After(procTimeout)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("%s exited before printing %q; output:\n%s", p.cmd.Path, s, p.output())
			}
			if strings.Contains(l, s) {
				return
			}
		case <-timeout:
			t.Fatalf("%s did not print %q; output:\n%s", p.cmd.Path, s, p.output())
		}
	}
}

// wait waits for the command to exit successfully and returns its output
// lines.
func (p *proc) wait(t *testing.T) []string {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(procTimeout):
		t.Fatalf("%s did not exit; output:\n%s", p.cmd.Path, p.output())
	}
	if p.err != nil {
		t.Fatalf("%s: %v; output:\n%s", p.cmd.Path, p.err, p.output())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.all)
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.all, "\n")
}

// payloads keeps the lines that are not mosquitto's debug output.
func payloads(lines []string) []string {
	var out []string
	for _, l := range lines {
		if !strings.HasPrefix(l, "Client ") && !strings.HasPrefix(l, "Subscribed ") {
			out = append(out, l)
		}
	}
	return out
}

func mosquittoPub(t *testing.T, port, version string, args ...string) {
	t.Helper()
	testutil.Need(t, "mosquitto_pub")
	testutil.Run(t, procTimeout, "", nil, "mosquitto_pub", append([]string{"-h", "127.0.0.1", "-p", port, "-V", version}, args...)...)
}

var mqttVersions = []string{"mqttv311", "mqttv5"}

func TestMQTTMosquittoQoS(t *testing.T) {
	_, _, port := startMQTT(t, herald.Options{})
	for _, v := range mqttVersions {
		t.Run(v, func(t *testing.T) {
			sub := startProc(t, "mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-V", v, "-d", "-q", "2", "-t", "q/"+v+"/#", "-v", "-C", "3")
			sub.waitFor(t, "received SUBACK")
			for qos := range 3 {
				mosquittoPub(t, port, v, "-q", string(rune('0'+qos)), "-t", "q/"+v+"/"+string(rune('0'+qos)), "-m", "hello "+string(rune('0'+qos)))
			}
			got := payloads(sub.wait(t))
			want := []string{"q/" + v + "/0 hello 0", "q/" + v + "/1 hello 1", "q/" + v + "/2 hello 2"}
			if !slices.Equal(got, want) {
				t.Fatalf("got %q, want %q", got, want)
			}
		})
	}
}

func TestMQTTMosquittoRetained(t *testing.T) {
	_, _, port := startMQTT(t, herald.Options{})
	for _, v := range mqttVersions {
		t.Run(v, func(t *testing.T) {
			base := "r/" + v
			mosquittoPub(t, port, v, "-r", "-q", "1", "-t", base+"/a", "-m", "kept a")
			mosquittoPub(t, port, v, "-r", "-q", "1", "-t", base+"/b", "-m", "kept b")
			sub := startProc(t, "mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-V", v, "-q", "1", "-t", base+"/#", "-v", "-C", "2", "-F", "%r %t %p")
			got := payloads(sub.wait(t))
			slices.Sort(got)
			if want := []string{"1 " + base + "/a kept a", "1 " + base + "/b kept b"}; !slices.Equal(got, want) {
				t.Fatalf("retained: got %q, want %q", got, want)
			}
			// An empty retained message clears; the other stays.
			mosquittoPub(t, port, v, "-r", "-q", "1", "-t", base+"/a", "-n")
			sub = startProc(t, "mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-V", v, "-t", base+"/#", "-v", "-C", "1")
			if got := payloads(sub.wait(t)); !slices.Equal(got, []string{base + "/b kept b"}) {
				t.Fatalf("after clearing: got %q", got)
			}
		})
	}
}

func TestMQTTMosquittoWill(t *testing.T) {
	_, _, port := startMQTT(t, herald.Options{})
	for _, v := range mqttVersions {
		t.Run(v, func(t *testing.T) {
			topic := "will/" + v
			watcher := startProc(t, "mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-V", v, "-d", "-q", "1", "-t", topic, "-C", "1")
			watcher.waitFor(t, "received SUBACK")
			// A client that says goodbye properly leaves no will.
			polite := startProc(t, "mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-V", v, "-d", "-t", "nothing", "-E",
				"--will-topic", topic, "--will-payload", "polite", "--will-qos", "1")
			polite.wait(t)
			// One that vanishes does.
			rude := startProc(t, "mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-V", v, "-d", "-t", "nothing",
				"--will-topic", topic, "--will-payload", "gone", "--will-qos", "1")
			rude.waitFor(t, "received SUBACK")
			rude.cmd.Process.Kill()
			if got := payloads(watcher.wait(t)); !slices.Equal(got, []string{"gone"}) {
				t.Fatalf("watcher got %q, want the will only", got)
			}
		})
	}
}

func TestMQTTMosquittoPersistentSession(t *testing.T) {
	_, _, port := startMQTT(t, herald.Options{})
	for _, v := range mqttVersions {
		t.Run(v, func(t *testing.T) {
			id, topic := "persist-"+v, "p/"+v
			// Subscribe, then leave: the session stays.
			startProc(t, "mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-V", v, "-c", "-i", id, "-q", "2", "-t", topic, "-E").wait(t)
			for i, qos := range []string{"1", "1", "1", "2", "2", "2"} {
				mosquittoPub(t, port, v, "-q", qos, "-t", topic, "-m", "q"+qos+"-"+string(rune('0'+i)))
			}
			sub := startProc(t, "mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-V", v, "-c", "-i", id, "-q", "2", "-t", topic, "-C", "6")
			// In order per QoS: the client hands QoS 2 messages over at
			// PUBREL, so the two streams may interleave.
			var q1, q2 []string
			for _, l := range payloads(sub.wait(t)) {
				if strings.HasPrefix(l, "q1") {
					q1 = append(q1, l)
				} else {
					q2 = append(q2, l)
				}
			}
			if !slices.Equal(q1, []string{"q1-0", "q1-1", "q1-2"}) || !slices.Equal(q2, []string{"q2-3", "q2-4", "q2-5"}) {
				t.Fatalf("got %q and %q, want every queued message once, in order", q1, q2)
			}
		})
	}
}

func TestMQTTMosquittoV5Properties(t *testing.T) {
	_, _, port := startMQTT(t, herald.Options{})
	sub := startProc(t, "mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-V", "mqttv5", "-d", "-t", "props", "-C", "1", "-F", "%j")
	sub.waitFor(t, "received SUBACK")
	mosquittoPub(t, port, "mqttv5", "-t", "props", "-m", "{\"x\":1}",
		"-D", "publish", "user-property", "colour", "green",
		"-D", "publish", "content-type", "application/json",
		"-D", "publish", "response-topic", "replies/here",
		"-D", "publish", "correlation-data", "abc123")
	got := strings.Join(payloads(sub.wait(t)), "")
	for _, want := range []string{`"colour":"green"`, `"content-type":"application/json"`, `"response-topic":"replies/here"`, `"correlation-data":"abc123"`} {
		if !strings.Contains(got, want) {
			t.Errorf("output %s lacks %s", got, want)
		}
	}
}

// mqttAddr is host:port of the MQTT listener.
func mqttAddr(port string) string { return net.JoinHostPort("127.0.0.1", port) }

func TestMQTTNodeClients(t *testing.T) {
	_, base, port := startMQTT(t, herald.Options{})
	out := testutil.Node(t, 2*time.Minute, "mqtt_clients.mjs", map[string]string{
		"HERALD_WS":   wsURL(base),
		"HERALD_MQTT": "mqtt://" + mqttAddr(port),
	})
	if n := strings.Count(out, "ok "); n != 20 {
		t.Fatalf("%d cases passed, want 20:\n%s", n, out)
	}
}

func TestMQTTPahoWebSocket(t *testing.T) {
	_, base, _ := startMQTT(t, herald.Options{})
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(base, "http://"))
	out := testutil.Python(t, time.Minute, "tests/python/mqtt_paho_ws.py", map[string]string{"HERALD_HOST": host, "HERALD_PORT": port})
	if !strings.Contains(out, "ok v311") || !strings.Contains(out, "ok v5") {
		t.Fatalf("paho: %s", out)
	}
}

// stompFrame is a STOMP frame as the test's minimal client reads it.
type stompFrame struct {
	command string
	headers map[string]string
	body    string
}

func stompDial(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(procTimeout))
	br := bufio.NewReader(c)
	c.Write([]byte("CONNECT\naccept-version:1.2\nhost:localhost\nheart-beat:0,0\n\n\x00"))
	if f := readStomp(t, br); f.command != "CONNECTED" {
		t.Fatalf("STOMP: %+v", f)
	}
	return c, br
}

func readStomp(t *testing.T, br *bufio.Reader) stompFrame {
	t.Helper()
	f := stompFrame{headers: map[string]string{}}
	for f.command == "" {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("STOMP read: %v", err)
		}
		f.command = strings.TrimRight(l, "\r\n")
	}
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("STOMP read: %v", err)
		}
		l = strings.TrimRight(l, "\r\n")
		if l == "" {
			break
		}
		k, v, _ := strings.Cut(l, ":")
		if _, dup := f.headers[k]; !dup {
			f.headers[k] = v
		}
	}
	body, err := br.ReadString(0)
	if err != nil {
		t.Fatalf("STOMP read: %v", err)
	}
	f.body = strings.TrimSuffix(body, "\x00")
	return f
}

// TestMQTTCrossProtocol: MQTT, JSON-RPC, STOMP and Go share one topic
// space, payloads and metadata.
func TestMQTTCrossProtocol(t *testing.T) {
	srv, base, port := startMQTT(t, herald.Options{})
	stompLn := testutil.Listen(t)
	go srv.ServeSTOMP(stompLn)

	rpc := newRPC(t, base)
	if r := rpc.call(1, "subscribe", map[string]any{"topic": "wsone/notify"}); r["error"] != nil {
		t.Fatalf("subscribe: %v", r)
	}
	sc, sbr := stompDial(t, stompLn.Addr().String())
	sc.Write([]byte("SUBSCRIBE\nid:0\ndestination:/topic/wsone.notify\nreceipt:r1\n\n\x00"))
	if f := readStomp(t, sbr); f.command != "RECEIPT" {
		t.Fatalf("STOMP SUBSCRIBE: %+v", f)
	}
	sub := startProc(t, "mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-V", "mqttv5", "-d", "-t", "wsone/notify", "-C", "3", "-F", "%j")
	sub.waitFor(t, "received SUBACK")

	// MQTT → JSON and STOMP, with the content type and a user property.
	mosquittoPub(t, port, "mqttv5", "-q", "1", "-t", "wsone/notify", "-m", `{"led":"on"}`,
		"-D", "publish", "content-type", "application/json", "-D", "publish", "user-property", "source", "mqtt")
	n := rpc.note()
	params, _ := n["params"].(map[string]any)
	data, _ := params["data"].(map[string]any)
	headers, _ := params["headers"].(map[string]any)
	if params["topic"] != "wsone/notify" || data["led"] != "on" || headers["source"] != "mqtt" {
		t.Fatalf("JSON subscriber got %v", n)
	}
	f := readStomp(t, sbr)
	if f.command != "MESSAGE" || f.body != `{"led":"on"}` || f.headers["source"] != "mqtt" || !strings.HasPrefix(f.headers["content-type"], "application/json") {
		t.Fatalf("STOMP subscriber got %+v", f)
	}

	// Go → MQTT.
	if _, err := srv.Publish(ctxT(t), "wsone/notify", []byte("from go"), herald.WithContentType("text/plain; charset=utf-8")); err != nil {
		t.Fatal(err)
	}
	// STOMP → MQTT.
	sc.Write([]byte("SEND\ndestination:/topic/wsone.notify\ncontent-type:text/plain\nfrom:stomp\n\nfrom stomp\x00"))

	got := payloads(sub.wait(t))
	want := []string{`"payload":"{\"led\":\"on\"}"`, `"payload":"from go"`, `"payload":"from stomp"`}
	if len(got) != 3 {
		t.Fatalf("MQTT subscriber got %q", got)
	}
	for i, w := range want {
		if !strings.Contains(got[i], w) {
			t.Errorf("MQTT message %d is %s, want %s", i, got[i], w)
		}
	}
	if !strings.Contains(got[2], `"from":"stomp"`) {
		t.Errorf("STOMP header not carried as a user property: %s", got[2])
	}
}

// TestMQTTWebSocketFraming: packets may be split across WebSocket messages
// and several may share one [MQTT-6.0.0-2]; replies come in binary
// messages; a text message closes the connection [MQTT-6.0.0-1].
func TestMQTTWebSocketFraming(t *testing.T) {
	_, base, _ := startMQTT(t, herald.Options{})
	c := rawDial(t, base, "mqtt")
	connect := []byte{0x10, 0x0d, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3c, 0x00, 0x01, 'w'}
	pingreq := []byte{0xc0, 0x00}
	c.frame(wsframe.OpBinary, true, connect[:5])
	c.frame(wsframe.OpBinary, true, append(append([]byte{}, connect[5:]...), pingreq...))
	var got []byte
	c.SetReadDeadline(time.Now().Add(procTimeout))
	buf := make([]byte, 1024)
	for len(got) < 6 {
		n, err := c.br.Read(buf)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		c.cr.Feed(buf[:n], func(op byte, p []byte) error {
			if op != wsframe.OpBinary {
				t.Errorf("reply in a frame of opcode %d", op)
			}
			got = append(got, p...)
			return nil
		})
	}
	if want := []byte{0x20, 0x02, 0x00, 0x00, 0xd0, 0x00}; string(got) != string(want) {
		t.Fatalf("got % x, want CONNACK and PINGRESP % x", got, want)
	}
	c.frame(wsframe.OpText, true, []byte("PINGREQ, please"))
	if code := c.closeCode(t); code != 1003 {
		t.Fatalf("close code %d after a text message, want 1003", code)
	}
}
