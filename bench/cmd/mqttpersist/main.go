// Command mqttpersist measures persistent QoS 1 publishing against an MQTT
// broker: publishers with a window of unacknowledged PUBLISHes each, to
// topics a persistent session (clean session 0) subscribes to and
// acknowledges, for a fixed duration. It prints one JSON line: messages
// acknowledged per second and the PUBLISH-to-PUBACK latency percentiles,
// which is what a durable broker's group commit trades. Used by
// bench/durable_vs_mosquitto.sh.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:1883", "broker host:port")
	label := flag.String("label", "", "name printed with the result")
	pubs := flag.Int("pubs", 16, "publisher connections")
	window := flag.Int("window", 8, "unacknowledged PUBLISHes per publisher")
	dur := flag.Duration("dur", 5*time.Second, "how long to publish")
	size := flag.Int("size", 64, "payload bytes")
	flag.Parse()
	if err := run(*addr, *label, *pubs, *window, *dur, *size); err != nil {
		fmt.Fprintln(os.Stderr, "mqttpersist:", err)
		os.Exit(1)
	}
}

type conn struct {
	c  net.Conn
	rd *bufio.Reader
	mu sync.Mutex
}

func dial(addr, id string, clean bool) (*conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	k := &conn{c: c, rd: bufio.NewReaderSize(c, 64<<10)}
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: 4,
		Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), ClientIdentifier: id, Clean: clean, Keepalive: 60}}
	var b bytes.Buffer
	pk.ConnectEncode(&b)
	if err := k.write(b.Bytes()); err != nil {
		return nil, err
	}
	typ, body, err := k.read()
	if err != nil || typ != packets.Connack || len(body) < 2 || body[1] != 0 {
		return nil, fmt.Errorf("connect %s: %v %v %x", id, err, typ, body)
	}
	return k, nil
}

func (k *conn) write(b []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	_, err := k.c.Write(b)
	return err
}

// read returns the next packet's type and body.
func (k *conn) read() (byte, []byte, error) {
	first, err := k.rd.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, shift := 0, 0
	for {
		b, err := k.rd.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		n |= int(b&0x7f) << shift
		if b < 0x80 {
			break
		}
		shift += 7
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(k.rd, body); err != nil {
		return 0, nil, err
	}
	return first >> 4, body, nil
}

func run(addr, label string, pubs, window int, dur time.Duration, size int) error {
	// The persistent subscriber: clean session 0, acknowledges everything.
	sub, err := dial(addr, "bench-persist-sub", false)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	sp := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, PacketID: 1, ProtocolVersion: 4,
		Filters: packets.Subscriptions{{Filter: "bench/persist/#", Qos: 1}}}
	sp.SubscribeEncode(&b)
	sub.write(b.Bytes())
	if typ, _, err := sub.read(); err != nil || typ != packets.Suback {
		return fmt.Errorf("subscribe: %v %v", typ, err)
	}
	var delivered atomic.Int64
	subDone := make(chan struct{})
	go func() {
		defer close(subDone)
		for {
			typ, body, err := sub.read()
			if err != nil {
				return
			}
			if typ != packets.Publish || len(body) < 2 {
				continue
			}
			tl := int(body[0])<<8 | int(body[1])
			if len(body) < 2+tl+2 {
				continue
			}
			pid := body[2+tl : 4+tl]
			delivered.Add(1)
			sub.write([]byte{packets.Puback << 4, 2, pid[0], pid[1]})
		}
	}()

	payload := bytes.Repeat([]byte("x"), size)
	var mu sync.Mutex
	var lat []time.Duration
	var sent atomic.Int64
	stop := time.Now().Add(dur)
	var wg sync.WaitGroup
	start := time.Now()
	for p := range pubs {
		k, err := dial(addr, fmt.Sprintf("bench-persist-pub-%d", p), true)
		if err != nil {
			return err
		}
		wg.Go(func() {
			defer k.c.Close()
			slots := make(chan struct{}, window)
			var sentAt [65536]time.Time
			var smu sync.Mutex
			var mine []time.Duration
			readDone := make(chan struct{})
			go func() {
				defer close(readDone)
				for {
					typ, body, err := k.read()
					if err != nil {
						return
					}
					if typ != packets.Puback || len(body) < 2 {
						continue
					}
					pid := int(body[0])<<8 | int(body[1])
					smu.Lock()
					mine = append(mine, time.Since(sentAt[pid]))
					smu.Unlock()
					<-slots
				}
			}()
			pid := 0
			topic := fmt.Sprintf("bench/persist/%d", p)
			for time.Now().Before(stop) {
				slots <- struct{}{}
				pid = pid%65535 + 1
				pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, ProtocolVersion: 4,
					TopicName: topic, PacketID: uint16(pid), Payload: payload}
				var b bytes.Buffer
				pk.PublishEncode(&b)
				smu.Lock()
				sentAt[pid] = time.Now()
				smu.Unlock()
				if k.write(b.Bytes()) != nil {
					break
				}
				sent.Add(1)
			}
			// Wait for the last acknowledgements (bounded).
			deadline := time.After(10 * time.Second)
			for len(slots) > 0 {
				select {
				case <-deadline:
					goto done
				case <-time.After(time.Millisecond):
				}
			}
		done:
			k.c.Close()
			<-readDone
			smu.Lock()
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
			smu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	// Let the subscriber catch up (bounded), then leave.
	for i := 0; i < 200 && delivered.Load() < int64(len(lat)); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	sub.c.Close()
	<-subDone
	slices.Sort(lat)
	pct := func(q float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))].Microseconds()) / 1000
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"label": label, "pubs": pubs, "window": window, "size": size, "seconds": elapsed.Seconds(),
		"sent": sent.Load(), "acked": len(lat), "delivered": delivered.Load(),
		"acked_per_s": float64(len(lat)) / elapsed.Seconds(),
		"p50_ms":      pct(0.50), "p99_ms": pct(0.99), "max_ms": pct(1),
	})
}
