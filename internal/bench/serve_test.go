package bench

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

func TestServe(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- runServe(ctx, &Config{Scenario: "serve", Listen: "127.0.0.1:0"}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	// herald bench serve: ws://127.0.0.1:PORT/ws metrics http://.../metrics pid N
	f := strings.Fields(line)
	if len(f) != 8 || !strings.HasPrefix(f[3], "ws://127.0.0.1:") || f[6] != "pid" {
		t.Fatalf("first line %q", line)
	}
	go io.Copy(io.Discard, pr)
	rep, code, stderr := runMain(t, "rpc", "--url", f[3], "--conns", "2", "--requests", "20")
	if code != 0 || rep.Received != 20 || rep.Errors != 0 {
		t.Fatalf("echo against serve: code %d, %+v, %s", code, rep, stderr)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited %d", code)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestServeBadAddress(t *testing.T) {
	t.Parallel()
	var stderr strings.Builder
	if code := runServe(context.Background(), &Config{Listen: "256.0.0.1:1"}, io.Discard, &stderr); code != 1 || stderr.Len() == 0 {
		t.Fatalf("code %d, stderr %q", code, stderr.String())
	}
}
