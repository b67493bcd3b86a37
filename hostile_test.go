package herald_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/heraldhq/herald/internal/stomp/stomptest"
	"github.com/heraldhq/herald/internal/testutil"
)

// honestClient is a well-behaved herald.v1 client.
type honestClient struct{ c *websocket.Conn }

func dialHonest(ctx context.Context, addr string) (*honestClient, error) {
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws", &websocket.DialOptions{Subprotocols: []string{"herald.v1"}})
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(1 << 20)
	return &honestClient{c: c}, nil
}

// call makes one echo request and checks its answer.
func (h *honestClient) call(ctx context.Context, id int) error {
	req := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"echo","params":[%d]}`, id, id)
	if err := h.c.Write(ctx, websocket.MessageText, []byte(req)); err != nil {
		return err
	}
	_, b, err := h.c.Read(ctx)
	if err != nil {
		return err
	}
	var resp struct {
		ID     int   `json:"id"`
		Result []int `json:"result"`
		Error  any   `json:"error"`
	}
	if err := json.Unmarshal(b, &resp); err != nil || resp.ID != id || len(resp.Result) != 1 || resp.Result[0] != id {
		return fmt.Errorf("call %d: answer %s", id, b)
	}
	return nil
}

// subscribe subscribes to topic and waits for the confirmation.
func (h *honestClient) subscribe(ctx context.Context, topic string) error {
	req := fmt.Sprintf(`{"jsonrpc":"2.0","id":0,"method":"subscribe","params":{"topic":%q}}`, topic)
	if err := h.c.Write(ctx, websocket.MessageText, []byte(req)); err != nil {
		return err
	}
	_, b, err := h.c.Read(ctx)
	if err != nil || !strings.Contains(string(b), `"result"`) {
		return fmt.Errorf("subscribe: %s %v", b, err)
	}
	return nil
}

// next reads the data of the next publication.
func (h *honestClient) next(ctx context.Context) (string, error) {
	_, b, err := h.c.Read(ctx)
	if err != nil {
		return "", err
	}
	var n struct {
		Params struct {
			Data string `json:"data"`
		} `json:"params"`
	}
	if err := json.Unmarshal(b, &n); err != nil {
		return "", err
	}
	return n.Params.Data, nil
}

// TestHostileClients attacks a server with thousands of hostile
// connections (slowloris handshakes, silent STOMP and MQTT connections,
// subscribers that never read, garbage, subscribe floods, connection
// floods) from 127.0.0.2 and 127.0.0.3, while honest clients on 127.0.0.1
// make requests and receive publications over WebSocket, STOMP and MQTT.
// It asserts only that all the honest work succeeds.
func TestHostileClients(t *testing.T) {
	if testing.Short() {
		t.Skip("hostile-load test skipped with -short")
	}
	sub := testutil.Need(t, "mosquitto_sub")
	h := startHostileServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// Honest clients connect first, as established users would be.
	const rpcClients, calls, subscribers, messages = 6, 50, 4, 100
	var rpcs, subs []*honestClient
	for i := range rpcClients + subscribers {
		c, err := dialHonest(ctx, h.httpAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.c.CloseNow()
		if i < rpcClients {
			rpcs = append(rpcs, c)
		} else {
			if err := c.subscribe(ctx, "news"); err != nil {
				t.Fatal(err)
			}
			subs = append(subs, c)
		}
	}
	st := stomptest.Dial(t, h.stompAddr)
	st.Connect()
	st.Send("SUBSCRIBE", "", "id", "n", "destination", "/topic/news", "receipt", "r")
	st.Receipt("r")
	host, port, _ := strings.Cut(h.mqtt, ":")
	// Line-buffered, so that the SUBACK's debug line arrives at once.
	mq := exec.CommandContext(ctx, testutil.Need(t, "stdbuf"), "-oL", sub, "-h", host, "-p", port, "-V", "5", "-k", "60", "-d", "-t", "news", "-C", fmt.Sprint(messages))
	out, err := mq.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := mq.Start(); err != nil {
		t.Fatal(err)
	}
	defer mq.Wait()
	defer mq.Process.Kill()
	mqLines := bufio.NewScanner(out)
	mqNext := func(debugPrefix string) (string, error) {
		for mqLines.Scan() {
			line := mqLines.Text()
			if debugPrefix != "" && strings.Contains(line, debugPrefix) {
				return line, nil
			}
			if debugPrefix == "" && !strings.HasPrefix(line, "Client ") && !strings.HasPrefix(line, "Subscribed ") {
				return line, nil
			}
		}
		return "", fmt.Errorf("mosquitto_sub ended: %v", mqLines.Err())
	}
	if _, err := mqNext("received SUBACK"); err != nil {
		t.Fatal(err)
	}

	// HOSTILE_ONLY=slow|never|garbage|flood|conn|none runs one kind of
	// attack alone, to find which one hurts when the test fails.
	sizes := defaultAttack
	switch os.Getenv("HOSTILE_ONLY") {
	case "slow":
		sizes = attackSizes{Slowloris: 1200, SilentTCP: 600}
	case "never":
		sizes = attackSizes{NeverRead: 300}
	case "garbage":
		sizes = attackSizes{Garbage: 60}
	case "flood":
		sizes = attackSizes{SubscribeFlood: 20}
	case "conn":
		sizes = attackSizes{ConnFlood: 20}
	case "none":
		sizes = attackSizes{}
	}
	a := startAttack(h, sizes)
	held := sizes.Slowloris + sizes.SilentTCP + sizes.NeverRead
	eventually(t, "the attack's connections are open", func() bool { return a.dials.Load() >= int64(held) })

	var wg sync.WaitGroup
	errs := make(chan error, rpcClients+1)
	for i, c := range rpcs {
		wg.Go(func() {
			for k := range calls {
				if err := c.call(ctx, i*calls+k); err != nil {
					errs <- fmt.Errorf("honest client %d, call %d: %w", i, k, err)
					return
				}
			}
		})
	}
	// Publications in batches the honest subscribers must all receive,
	// in order, before the next: they are never slow consumers.
	const batch = 10
	for first := 0; first < messages; first += batch {
		for k := first; k < first+batch; k++ {
			if _, err := h.srv.Publish(ctx, "news", fmt.Appendf(nil, "n-%d", k)); err != nil {
				t.Fatal(err)
			}
		}
		for k := first; k < first+batch; k++ {
			want := fmt.Sprintf("n-%d", k)
			for i, s := range subs {
				if got, err := s.next(ctx); err != nil || got != want {
					t.Fatalf("WebSocket subscriber %d: %q, %v; want %q", i, got, err, want)
				}
			}
			if f := st.Expect("MESSAGE"); string(f.Body) != want {
				t.Fatalf("STOMP subscriber: %q, want %q", f.Body, want)
			}
			if got, err := mqNext(""); err != nil || got != want {
				t.Fatalf("MQTT subscriber: %q, %v; want %q", got, err, want)
			}
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	a.end()
	t.Logf("hostile connections: %d dialled, %d handshakes refused by limits, %d closed by the server; limits: %s",
		a.dials.Load(), a.refused.Load(), a.closedByServer.Load(), limitCounts(t, h))
}

// limitCounts summarizes herald_limit_exceeded_total.
func limitCounts(t *testing.T, h *hostileServer) string {
	var parts []string
	for _, l := range []string{"connections_per_ip", "handshake_rate_per_ip", "message_rate", "subscriptions"} {
		parts = append(parts, fmt.Sprintf("%s=%v", l, exceeded(t, h.srv, l)))
	}
	return strings.Join(parts, " ")
}
