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

// runRPC measures JSON-RPC request/response over herald.v1.
//
// Closed loop (no --rate): each connection sends a request, waits for its
// response, and sends the next, for --duration or until --requests have
// been sent. The reader goroutine that receives a response sends the next
// request itself, so there is no hand-off between goroutines. Latency runs
// from the actual send.
//
// Open loop (--rate R): request k is scheduled at start + k/R and sent on
// connection k mod N, whatever happened to earlier requests. Its latency is
// measured from the scheduled time, not the actual send, so a stall of the
// server (or of this client) shows up in the percentiles instead of
// silently delaying later requests: coordinated omission cannot hide
// queueing. The scheduler sends every request that is due each time it
// wakes.
//
// Each request carries its time as params.t (unix nanoseconds); the echo
// method returns its params, so the response says when its request was
// due and needs no lookup table. Responses are counted per socket read.
func runRPC(ctx context.Context, cfg *Config, say, stderr io.Writer) *Report {
	rep := newReport(cfg)
	open := cfg.Rate > 0
	rep.Settings = Settings{Rate: cfg.Rate, Duration: cfg.Duration.String(), Requests: cfg.Requests,
		Method: cfg.Method, Size: cfg.Size, Mode: "closed"}
	if open {
		rep.Settings.Mode = "open"
		rep.Offered = cfg.Rate
	}
	rep.Unit = "responses"
	stats := NewStats()
	stop := startProgress(stderr, cfg, "rpc", stats, rep)
	defer stop()

	r := &rpcRun{cfg: cfg, stats: stats, clients: make([]*rpcClient, cfg.Conns)}
	r.stopAt.Store(1<<63 - 1)
	r.prefix = fmt.Appendf(nil, `,"method":%q,"params":{"t":`, cfg.Method)
	d := &Dialer{
		Target: cfg.Target, Protocol: "herald.v1", Sources: cfg.Sources,
		Concurrency: cfg.DialConcurrency, ReadBuffer: cfg.ReadBuffer, Timeout: cfg.Timeout, Stats: stats,
		Setup: func(c *Conn) { r.clients[c.ID] = r.newClient(c, !open) },
	}
	conns := openConns(ctx, cfg, d, 0, cfg.Conns, rep, say)
	if conns == nil {
		return rep
	}
	defer closeConns(conns, cfg, stats, rep, say, func() {
		rep.LatencyHist = NewHistogram()
		for _, cl := range r.clients {
			if cl != nil {
				rep.LatencyHist.Merge(cl.hist)
			}
		}
	})
	clients := make([]*rpcClient, 0, len(conns))
	for _, c := range conns {
		clients = append(clients, r.clients[c.ID])
	}

	cpu := startCPU(cfg.PID)
	start := time.Now()
	end := start.Add(cfg.Duration)
	if cfg.Duration <= 0 {
		end = start.Add(24 * time.Hour) // bounded by --requests
	}
	r.stopAt.Store(end.UnixNano())
	if open {
		r.schedule(clients, start, end)
	} else {
		for _, cl := range clients {
			cl.next(time.Now().UnixNano())
		}
		if cfg.Requests > 0 {
			stats.Received.WaitAtLeast(int64(cfg.Requests), end)
		} else {
			time.Sleep(time.Until(end))
		}
	}
	err := r.drain(int64(len(conns)), time.Now().Add(cfg.Timeout))
	elapsed := time.Since(start)
	rep.CPU = cpu.stop()
	rep.Sent, rep.Received, rep.Expected, rep.ElapsedMS = stats.Sent.Load(), stats.Received.Load(), stats.Sent.Load(), ms(elapsed)
	rep.Refused = r.refused.Load()
	rep.fail(err)
	fmt.Fprintf(say, "Sent/Received %d/%d requests in %dms: %.0freq/s\n", rep.Sent, rep.Received, elapsed.Milliseconds(),
		float64(rep.Received)/elapsed.Seconds())
	return rep
}

type rpcRun struct {
	cfg     *Config
	stats   *Stats
	clients []*rpcClient // by connection ID
	prefix  []byte       // `,"method":"echo","params":{"t":`
	stopAt  atomic.Int64 // closed loop: no request is sent after this (unix ns)
	issued  atomic.Int64 // closed loop with --requests: requests claimed
	refused atomic.Int64 // error responses
}

// rpcClient is one connection's state. hist and the counts belong to the
// reader goroutine; seq belongs to build, which runs under the write lock.
type rpcClient struct {
	r      *rpcRun
	c      *Conn
	hist   *Histogram
	build  func([]byte, int64) []byte
	seq    int64
	n      int64 // responses in the current read
	errs   int64 // error responses in the current read
	closed bool  // closed loop: send the next request on each response
}

func (r *rpcRun) newClient(c *Conn, closed bool) *rpcClient {
	cl := &rpcClient{r: r, c: c, hist: NewHistogram(), closed: closed}
	cl.build = cl.request
	c.OnData = cl.onData
	c.AfterRead = cl.afterRead
	return cl
}

// request appends {"jsonrpc":"2.0","id":N,"method":M,"params":{"t":T[,"p":PAD]}}.
func (cl *rpcClient) request(b []byte, t int64) []byte {
	cl.seq++
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	b = strconv.AppendInt(b, cl.seq, 10)
	b = append(b, cl.r.prefix...)
	b = strconv.AppendInt(b, t, 10)
	if size := cl.r.cfg.Size; size > 0 {
		b = append(b, `,"p":"`...)
		b = appendPad(b, size)
		b = append(b, '"')
	}
	return append(b, "}}"...)
}

// next sends a request stamped t, unless the closed loop is over.
func (cl *rpcClient) next(t int64) {
	r := cl.r
	if t >= r.stopAt.Load() {
		return
	}
	if limit := int64(r.cfg.Requests); limit > 0 && r.issued.Add(1) > limit {
		return
	}
	if err := cl.c.WriteWith(wsframe.OpText, t, cl.build); err != nil {
		r.stats.Errors.Add(1)
		return
	}
	r.stats.Sent.Add(1)
}

func (cl *rpcClient) onData(_ byte, p []byte) {
	resp, failed := isResponse(p)
	if !resp {
		return
	}
	now := time.Now().UnixNano()
	cl.n++
	if failed {
		cl.errs++
	} else if t, ok := intAfter(p, keyT); ok {
		cl.hist.Record(now - t)
	}
	if cl.closed {
		cl.next(now)
	}
}

func (cl *rpcClient) afterRead() {
	// Errors first: whoever waits for Received to reach a total must find
	// the errors among those responses already counted.
	if cl.errs > 0 {
		cl.r.stats.Errors.Add(cl.errs)
		cl.r.refused.Add(cl.errs)
		cl.errs = 0
	}
	if cl.n > 0 {
		cl.r.stats.Received.Add(cl.n)
		cl.n = 0
	}
}

// schedule is the open-loop sender: request k is due at start + k/rate and
// carries that time.
func (r *rpcRun) schedule(clients []*rpcClient, start, end time.Time) {
	interval := float64(time.Second) / r.cfg.Rate
	span := end.Sub(start)
	base := start.UnixNano()
	for k := int64(0); r.cfg.Requests == 0 || k < int64(r.cfg.Requests); k++ {
		off := time.Duration(float64(k) * interval)
		if off >= span {
			break
		}
		if wait := time.Until(start.Add(off)); wait > 0 {
			time.Sleep(wait)
		}
		cl := clients[k%int64(len(clients))]
		if err := cl.c.WriteWith(wsframe.OpText, base+int64(off), cl.build); err != nil {
			r.stats.Errors.Add(1)
			continue
		}
		r.stats.Sent.Add(1)
	}
}

// drain waits until every request sent has its response.
func (r *rpcRun) drain(n int64, deadline time.Time) error {
	for {
		sent := r.stats.Sent.Load()
		if err := waitFor(r.stats.Received, sent, r.stats, n, deadline); err != nil {
			return err
		}
		if r.stats.Sent.Load() == sent {
			return nil
		}
	}
}
