package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/heraldhq/herald/internal/wsframe"
)

// runChat is reference 001's load test against the "chat" subprotocol:
// every text message a member sends is broadcast to every member,
// sender included, so M messages to N members owe M×N deliveries.
//
// Method. Reference 001 sent as fast as it could and timed until the last
// delivery, which mostly measures how deep the server lets queues grow
// (here they are bounded, and overflowing one disconnects the member). So
// the sender is paced by a window: before sending broadcast i it waits
// until at least (i-W+1)×N deliveries have arrived, which keeps at most W
// broadcasts (W×N deliveries) outstanding in the whole system. With W well
// below the server's per-connection queue, nothing is dropped and the
// figure, M×N deliveries divided by the time from the first send to the
// last delivery, is the server's sustained fan-out rate (plus whatever the
// client's own reading costs: see the CPU figures in the report).
//
// Members join the room asynchronously after their handshake, so before
// measuring, a warm-up message (starting with 'W') is broadcast every
// 100 ms until every member has received one; warm-up deliveries are not
// counted. Measured messages start with 'M' and carry their send time.
//
// Any WebSocket server that broadcasts every text message to every
// member can be the target (--subprotocol names what it wants, "" for
// nothing), which is what reference 001's server does.
func runChat(ctx context.Context, cfg *Config, say, stderr io.Writer) *Report {
	rep := newReport(cfg)
	rep.Settings = Settings{Messages: cfg.Messages, Size: cfg.Size, Window: cfg.Window}
	rep.Unit = "deliveries"
	stats := NewStats()
	stop := startProgress(stderr, cfg, "chat", stats, rep)
	defer stop()

	joined := NewCounter()
	hists := make([]*Histogram, cfg.Conns)
	d := &Dialer{
		Target: cfg.Target, Protocol: cfg.Subprotocol, Sources: cfg.Sources,
		Concurrency: cfg.DialConcurrency, ReadBuffer: cfg.ReadBuffer, Timeout: cfg.Timeout, Stats: stats,
		Setup: func(c *Conn) {
			var n int64 // deliveries in the current read; reader goroutine only
			seen := false
			h := NewHistogram()
			hists[c.ID] = h
			c.OnData = func(_ byte, p []byte) {
				if len(p) > 0 && p[0] == 'W' {
					if !seen {
						seen = true
						joined.Add(1)
					}
					return
				}
				if len(p) > 1 && p[0] == 'M' {
					if sent, ok := parseInt(p[1:]); ok {
						h.Record(time.Now().UnixNano() - sent)
					}
				}
				n++
			}
			c.AfterRead = func() {
				if n > 0 {
					stats.Received.Add(n)
					n = 0
				}
			}
		},
	}
	conns := openConns(ctx, cfg, d, 0, cfg.Conns, rep, say)
	if conns == nil {
		return rep
	}
	defer closeConns(conns, cfg, stats, rep, say, func() {
		rep.LatencyHist = NewHistogram()
		for _, h := range hists {
			rep.LatencyHist.Merge(h)
		}
	})

	n := int64(len(conns))
	if err := joinRoom(conns, joined, stats, time.Now().Add(cfg.Timeout)); err != nil {
		rep.fail(err)
		return rep
	}

	// A measured message is "M<send time in unix ns>:<padding>" when
	// --size leaves room, so every member records the broadcast's latency.
	build := func(b []byte, now int64) []byte {
		b = append(b, 'M')
		if cfg.Size >= 21 {
			b = strconv.AppendInt(b, now, 10)
			b = append(b, ':')
		}
		return appendPad(b, cfg.Size-len(b))
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed))
	window := int64(cfg.Window)
	cpu := startCPU(cfg.PID)
	start := time.Now()
	deadline := start.Add(cfg.Timeout)
	var sent int64
	var err error
	for i := range int64(cfg.Messages) {
		if i >= window {
			if err = waitFor(stats.Received, (i-window+1)*n, stats, n, deadline); err != nil {
				break
			}
		}
		if werr := conns[rng.IntN(len(conns))].WriteWith(wsframe.OpText, time.Now().UnixNano(), build); werr != nil {
			err = fmt.Errorf("send: %w", werr)
			break
		}
		sent++
		stats.Sent.Add(1)
	}
	if err == nil {
		err = waitFor(stats.Received, sent*n, stats, n, deadline)
	}
	elapsed := time.Since(start)
	rep.CPU = cpu.stop()
	rep.Sent, rep.Received, rep.Expected, rep.ElapsedMS = sent, stats.Received.Load(), sent*n, ms(elapsed)
	rep.fail(err)
	rate := float64(rep.Received) / elapsed.Seconds()
	fmt.Fprintf(say, "Sent/Received %d/%d messages in %dms: %.0fmsg/s\n", sent, rep.Received, elapsed.Milliseconds(), rate)
	return rep
}

// joinRoom broadcasts warm-up messages until every member has seen one.
func joinRoom(conns []*Conn, joined *Counter, stats *Stats, deadline time.Time) error {
	n := int64(len(conns))
	for joined.Load() < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d members joined the room in time", joined.Load(), n)
		}
		if stats.Open.Load() < n {
			return errLost
		}
		if err := conns[0].WriteMessage(wsframe.OpText, []byte("W")); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
		joined.WaitAtLeast(n, earlier(time.Now().Add(100*time.Millisecond), deadline))
	}
	return nil
}
