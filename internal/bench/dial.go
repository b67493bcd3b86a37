package bench

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Dialer opens many connections at once, a bounded number in flight so the
// server's accept queue does not overflow (a full SYN queue turns into
// one-second retransmits that would pollute the opening time).
type Dialer struct {
	Target      Target
	Protocol    string        // Sec-WebSocket-Protocol to request ("" for none)
	Sources     []netip.Addr  // source addresses, by connection index round-robin; nil lets the kernel choose
	Concurrency int           // dials in flight; default 64
	ReadBuffer  int           // per-connection read buffer; default 32 KiB
	Timeout     time.Duration // per dial + handshake; default 10s
	Stats       *Stats
	// Setup runs for each connection after its handshake and before its
	// reader starts: set OnData and AfterRead here.
	Setup func(c *Conn)
}

// OpenResult is what Open achieved.
type OpenResult struct {
	Conns    []*Conn // the open connections, by index
	Failed   int
	FirstErr error
	Elapsed  time.Duration
	Connect  *Histogram // dial + handshake time of each connection
}

// Open opens n connections with IDs first..first+n-1.
func (d *Dialer) Open(ctx context.Context, first, n int) OpenResult {
	workers := d.Concurrency
	if workers <= 0 {
		workers = 64
	}
	res, conns := openAll(ctx, n, workers, d.Stats, func(i int) (*Conn, error) { return d.dial(ctx, first+i) })
	res.Conns = conns
	return res
}

// openAll dials n connections, at most workers at a time, and returns
// those that opened, in index order, with the connect-time histogram;
// Failed counts the rest (dial errors, or not attempted once ctx ended).
func openAll[C any](ctx context.Context, n, workers int, stats *Stats, dial func(i int) (*C, error)) (OpenResult, []*C) {
	workers = min(max(workers, 1), n)
	slots := make([]*C, n)
	var (
		next     atomic.Int64
		mu       sync.Mutex
		res      = OpenResult{Connect: NewHistogram()}
		wg       sync.WaitGroup
		startAll = time.Now()
	)
	for range workers {
		wg.Go(func() {
			h := NewHistogram()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					break
				}
				start := time.Now()
				c, err := dial(i)
				if err != nil {
					stats.Errors.Add(1)
					mu.Lock()
					if res.FirstErr == nil {
						res.FirstErr = err
					}
					mu.Unlock()
					continue
				}
				h.Record(int64(time.Since(start)))
				slots[i] = c
			}
			mu.Lock()
			res.Connect.Merge(h)
			mu.Unlock()
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(startAll)
	var conns []*C
	for _, c := range slots {
		if c != nil {
			conns = append(conns, c)
		}
	}
	res.Failed = n - len(conns)
	if res.Failed > 0 && res.FirstErr == nil {
		res.FirstErr = ctx.Err()
	}
	return res, conns
}

func (d *Dialer) dial(ctx context.Context, id int) (*Conn, error) {
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	nc, err := dialFrom(ctx, d.Sources, id, d.Target.Addr, timeout)
	if err != nil {
		return nil, err
	}
	size := d.ReadBuffer
	if size <= 0 {
		size = 32 << 10
	}
	buf := make([]byte, max(size, 1024))
	nc.SetDeadline(time.Now().Add(timeout))
	rest, err := handshake(nc, d.Target, d.Protocol, buf)
	if err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	c := newConn(id, nc, buf, rest, d.Stats)
	if d.Setup != nil {
		d.Setup(c)
	}
	c.start()
	return c, nil
}

// dialFrom opens a TCP connection to addr from source address
// sources[id % len(sources)], or one the kernel picks when sources is
// empty.
func dialFrom(ctx context.Context, sources []netip.Addr, id int, addr string, timeout time.Duration) (net.Conn, error) {
	nd := net.Dialer{Timeout: timeout}
	if len(sources) > 0 {
		nd.LocalAddr = &net.TCPAddr{IP: sources[id%len(sources)].AsSlice()}
	}
	return nd.DialContext(ctx, "tcp", addr)
}
