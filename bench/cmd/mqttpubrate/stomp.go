package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strconv"
	"time"
)

// runStomp is run for STOMP 1.2: n SENDs to /topic/<topic>, each with a
// receipt, at most inflight without their RECEIPT; the RECEIPTs must come
// in SEND order.
func runStomp(addr, topic string, n, inflight, size int) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	rd := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	w.WriteString("CONNECT\naccept-version:1.2\nhost:bench\n\n\x00")
	w.Flush()
	if f, err := rd.ReadString(0); err != nil || !bytes.Contains([]byte(f), []byte("CONNECTED")) {
		return fmt.Errorf("CONNECT: %q %w", f, err)
	}
	frames := make(chan string, inflight+1)
	errc := make(chan error, 1)
	go func() {
		for {
			f, err := rd.ReadString(0)
			if err != nil {
				errc <- err
				return
			}
			frames <- f
		}
	}()
	want := 0
	await := func() error {
		select {
		case f := <-frames:
			if exp := "receipt-id:" + strconv.Itoa(want) + "\n"; !bytes.Contains([]byte(f), []byte(exp)) {
				return fmt.Errorf("got %q, want the RECEIPT of %d", f, want)
			}
			want++
			return nil
		case err := <-errc:
			return err
		case <-time.After(30 * time.Second):
			return fmt.Errorf("no RECEIPT for %d", want)
		}
	}
	body := make([]byte, size)
	for i := range body {
		body[i] = 'x'
	}
	start := time.Now()
	open := 0
	for i := range n {
		if open == inflight {
			w.Flush()
			if err := await(); err != nil {
				return err
			}
			open--
		}
		fmt.Fprintf(w, "SEND\ndestination:/topic/%s\nreceipt:%d\n\n", topic, i)
		w.Write(body)
		w.WriteByte(0)
		open++
		if open < inflight && len(frames) == 0 {
			w.Flush()
		}
	}
	w.Flush()
	for ; open > 0; open-- {
		if err := await(); err != nil {
			return err
		}
	}
	d := time.Since(start)
	fmt.Printf("stomp inflight %d: %d messages in %v: %.0f msg/s\n", inflight, n, d.Round(time.Millisecond), float64(n)/d.Seconds())
	w.WriteString("DISCONNECT\n\n\x00")
	w.Flush()
	return nil
}
