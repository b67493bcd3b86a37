package bench

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"
)

func TestChatEndToEnd(t *testing.T) {
	t.Parallel()
	b := startServer(t)
	rep, code, stderr := runMain(t, "chat", "--url", b.URL(), "--conns", "20", "--messages", "50", "--size", "64", "--window", "4",
		"--pid", "0", "--label", "e2e")
	if code != 0 || rep.Error != "" {
		t.Fatalf("code %d, error %q, stderr %s", code, rep.Error, stderr)
	}
	if rep.Opened != 20 || rep.Sent != 50 || rep.Expected != 1000 || rep.Received != 1000 || rep.Errors != 0 {
		t.Fatalf("opened %d sent %d received %d of %d, %d errors", rep.Opened, rep.Sent, rep.Received, rep.Expected, rep.Errors)
	}
	if rep.Latency == nil || rep.Latency.Count != 1000 {
		t.Fatalf("latency %+v", rep.Latency)
	}
	if rep.Label != "e2e" || rep.Unit != "deliveries" || rep.Rate <= 0 || rep.Settings.Window != 4 {
		t.Fatalf("report %+v", rep)
	}
}

func TestChatReportsRefusedConnections(t *testing.T) {
	t.Parallel()
	b := startServer(t)
	// /nope is not a WebSocket endpoint: every handshake fails.
	rep, code, _ := runMain(t, "chat", "--url", b.URL()+"/../nope", "--conns", "2", "--messages", "1")
	if code != 1 || rep.Opened != 0 || rep.Failed != 2 || rep.Error == "" {
		t.Fatalf("code %d, report %+v", code, rep)
	}
}

// broadcastServer is a WebSocket chat server that is not Herald: every
// text message goes to every member, no subprotocol.
func broadcastServer(t *testing.T) string {
	t.Helper()
	var mu sync.Mutex
	members := map[*websocket.Conn]bool{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		mu.Lock()
		members[c] = true
		mu.Unlock()
		defer func() {
			mu.Lock()
			delete(members, c)
			mu.Unlock()
			c.CloseNow()
		}()
		for {
			typ, msg, err := c.Read(r.Context())
			if err != nil {
				return
			}
			mu.Lock()
			for m := range members {
				m.Write(r.Context(), typ, msg)
			}
			mu.Unlock()
		}
	}))
	t.Cleanup(hs.Close)
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/"
}

func TestChatAgainstOtherBroadcastServer(t *testing.T) {
	t.Parallel()
	url := broadcastServer(t)
	rep, code, stderr := runMain(t, "chat", "--url", url, "--subprotocol", "", "--conns", "5", "--messages", "20", "--window", "2")
	if code != 0 || rep.Error != "" || rep.Received != 100 || rep.Latency == nil || rep.Latency.Count != 100 {
		t.Fatalf("code %d, error %q, received %d, latency %+v, stderr %s", code, rep.Error, rep.Received, rep.Latency, stderr)
	}
}
