package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// echoServer is a WebSocket echo server that is not Herald.
func echoServer(t *testing.T) string {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := context.Background()
		for {
			typ, msg, err := c.Read(ctx)
			if err != nil || c.Write(ctx, typ, msg) != nil {
				return
			}
		}
	}))
	t.Cleanup(hs.Close)
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/echo"
}

func TestEchoEndToEnd(t *testing.T) {
	t.Parallel()
	for _, url := range []string{echoServer(t), startServer(t).URL()} {
		rep, code, stderr := runMain(t, "echo", "--url", url, "--conns", "4", "--duration", "200ms")
		if code != 0 || rep.Error != "" {
			t.Fatalf("%s: code %d, error %q, stderr %s", url, code, rep.Error, stderr)
		}
		if rep.Sent == 0 || rep.Received != rep.Sent || rep.Latency == nil || rep.Latency.Count != uint64(rep.Received) || rep.Unit != "echoes" {
			t.Fatalf("%s: sent %d received %d latency %+v", url, rep.Sent, rep.Received, rep.Latency)
		}
	}
}
