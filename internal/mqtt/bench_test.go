package mqtt

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/message"
)

// BenchmarkFanout publishes b.N messages of 64 bytes from the server side
// to 1,000 MQTT 3.1.1 subscribers over TCP on 127.0.0.1 (QoS 0, and QoS 1
// with every message acknowledged), and reports deliveries per second.
// The subscribers are light raw clients in the same process (they share
// the cores with the server): they count PUBLISH packets without decoding
// them and acknowledge QoS 1 ones in one write per read.
//
//	go test -run '^$' -bench Fanout -benchtime 2000x ./internal/mqtt
func BenchmarkFanout(b *testing.B) {
	for _, qos := range []byte{0, 1} {
		b.Run(fmt.Sprintf("subscribers=1000/qos=%d", qos), func(b *testing.B) { benchFanout(b, 1000, qos) })
	}
}

func benchFanout(b *testing.B, n int, qos byte) {
	ts := newTestServer(b, core.Hooks{}, Options{})
	subs := make([]*benchSub, n)
	var ready sync.WaitGroup
	for i := range subs {
		s := &benchSub{}
		conn, err := net.Dial("tcp", ts.addr)
		if err != nil {
			b.Fatal(err)
		}
		s.c = conn
		b.Cleanup(func() { conn.Close() })
		conn.Write(connectPacket(4, fmt.Sprint("bench-", i), nil))
		conn.Write(encodeClient(b, &packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe}, ProtocolVersion: 4, PacketID: 1,
			Filters: packets.Subscriptions{{Filter: "bench/fanout", Qos: qos}}}))
		ready.Add(1)
		go s.run(&ready)
		subs[i] = s
	}
	ready.Wait() // every SUBACK is in
	payload := make([]byte, 64)
	ctx := context.Background()
	const ahead = 200 // messages the publisher may be ahead of the slowest subscriber
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU(b)
	start := time.Now()
	for i := range b.N {
		if i%50 == 0 {
			for minReceived(subs) < int64(i-ahead) {
				time.Sleep(50 * time.Microsecond)
			}
		}
		m := &message.Message{Topic: "bench/fanout", Data: payload}
		setMeta(m, meta{qos: qos})
		if err := ts.core.Publish(ctx, nil, m); err != nil {
			b.Fatal(err)
		}
	}
	for minReceived(subs) < int64(b.N) {
		time.Sleep(100 * time.Microsecond)
	}
	elapsed := time.Since(start)
	cpu := processCPU(b) - cpu0
	b.StopTimer()
	b.ReportMetric(float64(b.N*n)/elapsed.Seconds(), "deliveries/s")
	// CPU time (server and in-process subscribers) per delivery: steadier
	// than the rate on a machine shared with other work.
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*n), "cpu-ns/delivery")
	for _, s := range subs {
		if s.err.Load() != nil {
			b.Fatalf("subscriber: %v", *s.err.Load())
		}
	}
}

// processCPU is the user and system CPU time the process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func minReceived(subs []*benchSub) int64 {
	least := subs[0].got.Load()
	for _, s := range subs[1:] {
		least = min(least, s.got.Load())
	}
	return least
}

// benchSub reads a subscriber's stream, counting PUBLISH packets and
// acknowledging QoS 1 ones, without allocating per packet.
type benchSub struct {
	c   net.Conn
	got atomic.Int64
	err atomic.Pointer[error]
}

func (s *benchSub) run(ready *sync.WaitGroup) {
	buf := make([]byte, 64<<10)
	var acks []byte
	var pending []byte // an incomplete packet carried to the next read
	subacked := false
	for {
		n, err := s.c.Read(buf)
		if err != nil {
			if !subacked {
				s.err.Store(&err)
				ready.Done()
			}
			return
		}
		data := buf[:n]
		if len(pending) > 0 {
			pending = append(pending, data...)
			data = pending
		}
		acks = acks[:0]
		for {
			if len(data) < 2 {
				break
			}
			rem, k, ok := uvarint(data[1:])
			if !ok || len(data) < 1+k+rem {
				break
			}
			pkt := data[:1+k+rem]
			data = data[1+k+rem:]
			switch pkt[0] >> 4 {
			case packets.Suback:
				if !subacked {
					subacked = true
					ready.Done()
				}
			case packets.Publish:
				s.got.Add(1)
				if (pkt[0]>>1)&3 == 1 {
					body := pkt[1+k:]
					tl := int(body[0])<<8 | int(body[1])
					acks = append(acks, packets.Puback<<4, 2, body[2+tl], body[3+tl])
				}
			}
		}
		pending = append(pending[:0], data...)
		if len(acks) > 0 {
			if _, err := s.c.Write(acks); err != nil {
				s.err.Store(&err)
				return
			}
		}
	}
}
