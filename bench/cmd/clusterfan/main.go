// Command clusterfan measures cross-node fan-out: --conns herald.v1
// subscribers of one topic on the node at --sub, and one publisher on the
// node at --pub sending --rate messages per second for --duration. Each
// message carries its send time; every delivery records now - sent.
// With --sub and --pub on the same standalone node it gives the
// single-node baseline. docs/BENCHMARKS.md has the figures.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

func main() {
	sub := flag.String("sub", "ws://127.0.0.1:8080/ws", "subscribers' node")
	pub := flag.String("pub", "ws://127.0.0.1:8081/ws", "publisher's node")
	conns := flag.Int("conns", 100, "subscribers")
	rate := flag.Float64("rate", 1000, "publishes per second")
	dur := flag.Duration("duration", 10*time.Second, "publishing time")
	pubs := flag.Int("pubs", 1, "publisher connections, taking turns")
	flag.Parse()
	ctx := context.Background()
	dial := func(url string) *websocket.Conn {
		c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"herald.v1"}})
		if err != nil {
			log.Fatal(err)
		}
		c.SetReadLimit(1 << 20)
		return c
	}
	var mu sync.Mutex
	var lat []float64 // µs
	var delivered atomic.Int64
	var ready sync.WaitGroup
	for i := range *conns {
		c := dial(*sub)
		c.Write(ctx, websocket.MessageText, []byte(`{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"topic":"bench/cluster"}}`))
		ready.Add(1)
		go func() {
			var local []float64
			first := true
			for {
				_, b, err := c.Read(ctx)
				if err != nil {
					return
				}
				if first {
					first = false
					ready.Done()
					continue
				}
				var n struct {
					Params struct{ Data string } `json:"params"`
				}
				if json.Unmarshal(b, &n) != nil || n.Params.Data == "" {
					continue
				}
				sent, _ := strconv.ParseInt(n.Params.Data, 10, 64)
				local = append(local, float64(time.Now().UnixNano()-sent)/1e3)
				if delivered.Add(1)%int64(*conns) == 0 || len(local) >= 64 {
					mu.Lock()
					lat = append(lat, local...)
					mu.Unlock()
					local = local[:0]
				}
			}
		}()
		_ = i
	}
	ready.Wait()
	var refused atomic.Int64
	var publishers []*websocket.Conn
	for range *pubs {
		p := dial(*pub)
		publishers = append(publishers, p)
		go func() { // count the publisher's error answers
			for {
				_, b, err := p.Read(ctx)
				if err != nil {
					return
				}
				if json.Valid(b) && strings.Contains(string(b), `"error"`) {
					refused.Add(1)
				}
			}
		}()
	}
	interval := time.Duration(float64(time.Second) / *rate)
	start := time.Now()
	sent := 0
	for time.Since(start) < *dur {
		due := start.Add(time.Duration(sent) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		msg := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"publish","params":{"topic":"bench/cluster","data":"%d"}}`, sent+2, time.Now().UnixNano())
		publishers[sent%len(publishers)].Write(ctx, websocket.MessageText, []byte(msg))
		sent++
	}
	time.Sleep(100 * time.Millisecond)                        // the last answers
	want := int64(sent**conns) - refused.Load()*int64(*conns) // refused ones are not delivered
	deadline := time.Now().Add(30 * time.Second)
	for delivered.Load() < want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(start)
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lat)
	q := func(f float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(f*float64(len(lat))))]
	}
	fmt.Printf("published %d (%d refused), delivered %d of %d in %v: %.0f deliveries/s\n", sent, refused.Load(), delivered.Load(), want, elapsed.Round(time.Millisecond), float64(delivered.Load())/elapsed.Seconds())
	fmt.Printf("latency µs (n=%d): p50 %.0f  p90 %.0f  p99 %.0f  max %.0f\n", len(lat), q(0.5), q(0.9), q(0.99), q(1))
}
