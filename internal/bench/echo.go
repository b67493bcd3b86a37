package bench

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/internal/wsframe"
)

// runEcho measures any WebSocket echo server: each of --conns connections
// sends a text message of --size bytes, "<send time in unix ns>:<padding>",
// waits for it to come back and sends the next (closed loop), for
// --duration. The reader that receives an echo records its round trip
// and sends the next message itself, so there is no hand-off between
// goroutines. --subprotocol names what the server wants ("" for none).
func runEcho(ctx context.Context, cfg *Config, say, stderr io.Writer) *Report {
	rep := newReport(cfg)
	rep.Settings = Settings{Duration: cfg.Duration.String(), Size: cfg.Size, Mode: "closed"}
	rep.Unit = "echoes"
	stats := NewStats()
	stop := startProgress(stderr, cfg, "echo", stats, rep)
	defer stop()

	var stopAt atomic.Int64 // readers send no more from this time on
	stopAt.Store(1<<63 - 1)
	build := func(b []byte, now int64) []byte {
		b = strconv.AppendInt(b, now, 10)
		b = append(b, ':')
		return appendPad(b, cfg.Size-len(b))
	}
	hists := make([]*Histogram, cfg.Conns)
	d := &Dialer{
		Target: cfg.Target, Protocol: cfg.Subprotocol, Sources: cfg.Sources,
		Concurrency: cfg.DialConcurrency, ReadBuffer: cfg.ReadBuffer, Timeout: cfg.Timeout, Stats: stats,
		Setup: func(c *Conn) {
			h := NewHistogram()
			hists[c.ID] = h
			var n int64
			c.OnData = func(_ byte, p []byte) {
				sent, ok := parseInt(p)
				if !ok {
					return
				}
				now := time.Now().UnixNano()
				h.Record(now - sent)
				n++
				if now < stopAt.Load() {
					if err := c.WriteWith(wsframe.OpText, now, build); err != nil {
						stats.Errors.Add(1)
						return
					}
					stats.Sent.Add(1)
				}
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
	cpu := startCPU(cfg.PID)
	start := time.Now()
	stopAt.Store(start.Add(cfg.Duration).UnixNano())
	for _, c := range conns {
		if err := c.WriteWith(wsframe.OpText, time.Now().UnixNano(), build); err != nil {
			rep.fail(fmt.Errorf("send: %w", err))
			break
		}
		stats.Sent.Add(1)
	}
	hold(ctx, cfg.Duration)
	// Every message sent before the stop time is owed its echo.
	// A reader may be sending its last one as the time passes: wait until
	// the count of sent messages is stable and all have come back.
	deadline := time.Now().Add(cfg.Timeout)
	var err error
	for sent := int64(-1); err == nil && sent != stats.Sent.Load(); {
		sent = stats.Sent.Load()
		err = waitFor(stats.Received, sent, stats, int64(len(conns)), deadline)
	}
	elapsed := time.Since(start)
	rep.CPU = cpu.stop()
	rep.Sent, rep.Received, rep.Expected, rep.ElapsedMS = stats.Sent.Load(), stats.Received.Load(), stats.Sent.Load(), ms(elapsed)
	rep.fail(err)
	fmt.Fprintf(say, "Sent/Received %d/%d messages in %dms: %.0fmsg/s\n", rep.Sent, rep.Received, elapsed.Milliseconds(),
		float64(rep.Received)/elapsed.Seconds())
	return rep
}
