// Command mqttpubrate measures one MQTT connection's publish rate: it
// connects (MQTT 3.1.1) to --addr, publishes --n messages of --size bytes
// to one topic keeping up to --inflight QoS 1 publishes unacknowledged
// (or, with --qos 0, sends them all and ends with one QoS 1 publish to
// the same topic, whose PUBACK comes once the ones before it are stored),
// and prints the messages per second. It checks that the PUBACKs come in
// PUBLISH order. Used by bench/pubrate.sh on a three-node cluster
// (ADR 0018). With --stomp it measures a STOMP connection's receipted
// SENDs instead.
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:1883", "MQTT host:port")
	n := flag.Int("n", 5000, "messages to publish")
	qos := flag.Int("qos", 1, "0 or 1")
	inflight := flag.Int("inflight", 100, "QoS 1 publishes unacknowledged at most")
	size := flag.Int("size", 64, "payload bytes")
	topic := flag.String("topic", "bench/pubrate", "topic")
	stompAddr := flag.String("stomp", "", "STOMP host:port: measure receipted SENDs (--inflight) there instead")
	flag.Parse()
	var err error
	if *stompAddr != "" {
		err = runStomp(*stompAddr, strings.ReplaceAll(*topic, "/", "."), *n, *inflight, *size)
	} else {
		err = run(*addr, *topic, *n, *qos, *inflight, *size)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mqttpubrate:", err)
		os.Exit(1)
	}
}

func run(addr, topic string, n, qos, inflight, size int) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	rd := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	// CONNECT, 3.1.1, clean session, keep-alive 60 s.
	id := fmt.Sprintf("pubrate-%d", os.Getpid())
	body := append(str(nil, "MQTT"), 4, 0x02, 0, 60)
	body = str(body, id)
	w.Write(packet(0x10, body))
	w.Flush()
	typ, ack, err := read(rd)
	if err != nil || typ != 0x20 || len(ack) < 2 || ack[1] != 0 {
		return fmt.Errorf("CONNACK: type %x %v %w", typ, ack, err)
	}
	payload := make([]byte, size)
	publish := func(q byte, pid uint16) {
		b := str(nil, topic)
		if q > 0 {
			b = binary.BigEndian.AppendUint16(b, pid)
		}
		w.Write(packet(0x30|q<<1, append(b, payload...)))
	}
	acks := make(chan uint16, inflight+1)
	errc := make(chan error, 1)
	go func() {
		for {
			typ, b, err := read(rd)
			if err != nil {
				errc <- err
				return
			}
			if typ == 0x40 && len(b) >= 2 {
				acks <- binary.BigEndian.Uint16(b)
			}
		}
	}()
	want := uint16(1)
	await := func() error {
		select {
		case pid := <-acks:
			if pid != want {
				return fmt.Errorf("PUBACK for %d, want %d: not in PUBLISH order", pid, want)
			}
			if want++; want == 0 {
				want = 1
			}
			return nil
		case err := <-errc:
			return err
		case <-time.After(30 * time.Second):
			return fmt.Errorf("no PUBACK for %d", want)
		}
	}
	start := time.Now()
	pid, open := uint16(0), 0
	next := func() uint16 {
		if pid++; pid == 0 {
			pid = 1
		}
		return pid
	}
	if qos == 0 {
		for range n {
			publish(0, 0)
		}
		publish(1, next())
		w.Flush()
		if err := await(); err != nil {
			return err
		}
	} else {
		for range n {
			if open == inflight {
				w.Flush()
				if err := await(); err != nil {
					return err
				}
				open--
			}
			publish(1, next())
			open++
			if len(acks) > 0 || open == inflight {
				continue
			}
			w.Flush()
		}
		w.Flush()
		for ; open > 0; open-- {
			if err := await(); err != nil {
				return err
			}
		}
	}
	d := time.Since(start)
	fmt.Printf("qos %d inflight %d: %d messages in %v: %.0f msg/s\n", qos, inflight, n, d.Round(time.Millisecond), float64(n)/d.Seconds())
	w.Write([]byte{0xe0, 0}) // DISCONNECT
	w.Flush()
	return nil
}

func str(b []byte, s string) []byte {
	return append(binary.BigEndian.AppendUint16(b, uint16(len(s))), s...)
}

func packet(first byte, body []byte) []byte {
	b := []byte{first}
	for l := len(body); ; {
		d := byte(l % 128)
		if l /= 128; l > 0 {
			d |= 0x80
		}
		b = append(b, d)
		if l == 0 {
			break
		}
	}
	return append(b, body...)
}

func read(r *bufio.Reader) (byte, []byte, error) {
	first, err := r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	l, mul := 0, 1
	for {
		d, err := r.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		l += int(d&0x7f) * mul
		if d&0x80 == 0 {
			break
		}
		mul *= 128
	}
	b := make([]byte, l)
	_, err = io.ReadFull(r, b)
	return first & 0xf0, b, err
}
