package herald_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/internal/testutil"
)

// lines runs a command and hands its output over line by line; it is
// killed at the end of the test.
type lines struct {
	ch   chan string
	done chan struct{}
}

func runLines(t *testing.T, dir string, env []string, name string, args ...string) *lines {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	l := &lines{ch: make(chan string, 256), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			l.ch <- sc.Text()
		}
		close(l.ch)
		cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill(); <-l.done })
	return l
}

// until returns the first line containing s.
func (l *lines) until(t *testing.T, s string) string {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case line, ok := <-l.ch:
			if !ok {
				t.Fatalf("process ended before printing %q", s)
			}
			if strings.Contains(line, s) {
				return line
			}
			t.Logf("  %s", line)
		case <-timeout:
			t.Fatalf("no line with %q", s)
		}
	}
}

// curl runs curl with args and returns the body and the status code.
func curl(t *testing.T, args ...string) (body, status string) {
	t.Helper()
	out := testutil.Run(t, 20*time.Second, "", nil, testutil.Need(t, "curl"), append([]string{"-sS", "-w", "\n%{http_code}"}, args...)...)
	out = strings.TrimRight(out, "\n")
	i := strings.LastIndex(out, "\n")
	return strings.TrimSpace(out[:max(i, 0)]), out[i+1:]
}

// TestPublishAPIFromCurl: curl publishes through the HTTP API; a
// herald.v1 JSON subscriber, a STOMP subscriber (stomp.py) and an MQTT
// subscriber (mosquitto_sub) all receive the message.
func TestPublishAPIFromCurl(t *testing.T) {
	testutil.Need(t, "curl")
	srv := herald.New(herald.Options{})
	mux := http.NewServeMux()
	mux.Handle("/ws", srv)
	mux.Handle("POST /api/publish", srv.PublishHandler(herald.PublishAPIOptions{Keys: []string{"k-one", "k-two"}}))
	hs := httptest.NewServer(mux)
	stompLn, mqttLn := testutil.Listen(t), testutil.Listen(t)
	served := make(chan error, 2)
	go func() { served <- srv.ServeSTOMP(stompLn) }()
	go func() { served <- srv.ServeMQTT(mqttLn) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Close()
		<-served
		<-served
	})
	api := hs.URL + "/api/publish"

	// The subscribers, each confirmed before anything is published.
	js := newRPC(t, hs.URL)
	if r := js.call(1, "subscribe", map[string]any{"topic": "orders/+"}); r["error"] != nil {
		t.Fatalf("subscribe: %v", r)
	}
	// stdbuf: mosquitto_sub buffers its output when it is not a terminal.
	mq := runLines(t, "", nil, testutil.Need(t, "stdbuf"), "-oL", testutil.Need(t, "mosquitto_sub"), "-h", "127.0.0.1", "-p", testutil.Port(mqttLn), "-V", "mqttv5", "-d", "-t", "orders/42", "-C", "2", "-F", "PAYLOAD %p")
	mq.until(t, "SUBACK")
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		testutil.Need(t, "/usr/bin/python3")
	}
	st := runLines(t, testutil.Root(t), []string{"STOMP_ADDR=" + stompLn.Addr().String(), "STOMP_DEST=/topic/orders.42", "COUNT=2"},
		"/usr/bin/python3", filepath.Join("tests", "python", "stomp_sub.py"))
	st.until(t, "ready")

	// A refused request publishes nothing.
	if body, status := curl(t, "-X", "POST", "-H", "Content-Type: application/json", "-H", "Authorization: Bearer wrong",
		"--data", `{"topic":"orders/42","data":"no"}`, api); status != "401" || !strings.Contains(body, `"unauthorized"`) {
		t.Fatalf("wrong key: %s %s", status, body)
	}
	// One message, then a batch.
	body, status := curl(t, "-X", "POST", "-H", "Content-Type: application/json", "-H", "Authorization: Bearer k-two",
		"--data", `{"topic":"orders/42","data":{"status":"shipped"},"headers":{"source":"curl"}}`, api)
	var pos struct {
		Topic, Epoch string
		Seq          uint64
	}
	if err := json.Unmarshal([]byte(body), &pos); status != "200" || err != nil || pos.Topic != "orders/42" || pos.Seq != 1 || pos.Epoch == "" {
		t.Fatalf("publish: %s %s", status, body)
	}
	body, status = curl(t, "-X", "POST", "-H", "Content-Type: application/json", "-H", "Authorization: Bearer k-one",
		"--data", `[{"topic":"orders/42","data":"delivered"},{"topic":"orders/7","data":"/wD+","encoding":"base64"}]`, api)
	var batch []struct {
		Topic string
		Seq   uint64
	}
	if err := json.Unmarshal([]byte(body), &batch); status != "200" || err != nil || len(batch) != 2 || batch[0].Seq != 2 || batch[1].Topic != "orders/7" {
		t.Fatalf("batch: %s %s", status, body)
	}

	// herald.v1: JSON stays JSON, text is a string, bytes are base64.
	n := js.note()["params"].(map[string]any)
	if d, _ := n["data"].(map[string]any); d["status"] != "shipped" || n["seq"] != float64(1) {
		t.Errorf("JSON subscriber: %v", n)
	}
	if h, _ := n["headers"].(map[string]any); h["source"] != "curl" {
		t.Errorf("JSON subscriber headers: %v", n["headers"])
	}
	if n := js.note()["params"].(map[string]any); n["data"] != "delivered" {
		t.Errorf("JSON subscriber: %v", n)
	}
	if n := js.note()["params"].(map[string]any); n["encoding"] != "base64" || n["data"] != "/wD+" {
		t.Errorf("JSON subscriber, binary: %v", n)
	}
	// MQTT.
	if got := mq.until(t, "PAYLOAD"); got != `PAYLOAD {"status":"shipped"}` {
		t.Errorf("MQTT subscriber: %q", got)
	}
	if got := mq.until(t, "PAYLOAD"); got != "PAYLOAD delivered" {
		t.Errorf("MQTT subscriber: %q", got)
	}
	// STOMP.
	var m struct {
		Destination string `json:"destination"`
		Body        string `json:"body"`
	}
	json.Unmarshal([]byte(st.until(t, `"body"`)), &m)
	if m.Destination != "/topic/orders.42" || m.Body != `{"status":"shipped"}` {
		t.Errorf("STOMP subscriber: %+v", m)
	}
	json.Unmarshal([]byte(st.until(t, `"body"`)), &m)
	if m.Body != "delivered" {
		t.Errorf("STOMP subscriber: %+v", m)
	}
}

// TestPublishAPIDisabledByDefault: no keys, no API.
func TestPublishAPIDisabledByDefault(t *testing.T) {
	srv := herald.New(herald.Options{})
	defer srv.Shutdown(context.Background())
	hs := httptest.NewServer(srv.PublishHandler(herald.PublishAPIOptions{}))
	defer hs.Close()
	resp, err := http.Post(hs.URL, "application/json", strings.NewReader(`{"topic":"a","data":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("status %d, want 404", resp.StatusCode)
	}
}
