package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald/internal/wsframe"
)

// runSSE is the fanout scenario with Server-Sent Events subscribers:
// --conns streams GET <--url>?topic=<--topic> (Herald's /events), and one
// publisher at --rate messages per second, open loop, either a herald.v1
// WebSocket (--publish-url ws://…, the default: the events URL's host
// with /ws) or Herald's HTTP publish API (--publish-url http://…/api/publish,
// one POST per message on a kept-alive connection, so the publisher
// falls behind when a POST takes longer than the interval, which the
// latency shows). A subscriber is counted once its "ready" event has
// arrived; each message's data carries "<due time in unix ns>:<padding>".
func runSSE(ctx context.Context, cfg *Config, say, stderr io.Writer) *Report {
	rep := newReport(cfg)
	rep.Settings = Settings{Rate: cfg.Rate, Duration: cfg.Duration.String(), Size: cfg.Size, Topic: cfg.Topic,
		Mode: "sse, publish over " + cfg.PublishURL}
	rep.Unit = "deliveries"
	rep.Offered = cfg.Rate * float64(cfg.Conns)
	stats := NewStats()
	stop := startProgress(stderr, cfg, "sse", stats, rep)
	defer stop()

	path := cfg.sse.Path
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	path += sep + "topic=" + url.QueryEscape(cfg.Topic)
	ready := NewCounter()
	subs := make([]*sseSub, cfg.Conns)
	res, conns := openAll(ctx, cfg.Conns, cfg.DialConcurrency, stats, func(i int) (*sseConn, error) {
		c, err := dialSSE(ctx, cfg.sse, path, cfg.Sources, i, cfg.ReadBuffer, cfg.Timeout, stats)
		if err != nil {
			return nil, err
		}
		s := &sseSub{stats: stats, ready: ready, hist: NewHistogram()}
		c.OnLine, c.AfterRead = s.onLine, s.afterRead
		subs[i] = s
		c.start()
		return c, nil
	})
	rep.Opened, rep.Failed, rep.OpenMS, rep.ConnectHist = len(conns), res.Failed, ms(res.Elapsed), res.Connect
	fmt.Fprintf(say, "Opened %d of %d connections to %s in %dms\n", len(conns), cfg.Conns, cfg.sse.Addr, res.Elapsed.Milliseconds())
	if res.Failed > 0 {
		rep.fail(fmt.Errorf("%d connections failed: %w", res.Failed, res.FirstErr))
	}
	if len(conns) == 0 {
		rep.finish()
		return rep
	}
	var wsPub []*Conn
	defer func() {
		start := time.Now()
		closeSSE(conns)
		closeAll(wsPub, start.Add(5*time.Second))
		el := time.Since(start)
		rep.CloseMS = ms(el)
		fmt.Fprintf(say, "Closed %d connections to %s in %dms\n", len(conns), cfg.sse.Addr, el.Milliseconds())
		rep.LatencyHist = NewHistogram()
		for _, s := range subs {
			if s != nil {
				rep.LatencyHist.Merge(s.hist)
			}
		}
		rep.Errors = stats.Errors.Load()
		rep.finish()
	}()
	n := int64(len(conns))
	if !ready.WaitAtLeast(n, time.Now().Add(cfg.Timeout)) {
		rep.fail(fmt.Errorf("only %d of %d streams ready", ready.Load(), n))
		return rep
	}

	var send func(due int64) error
	acked, refused := NewCounter(), NewCounter()
	if strings.HasPrefix(cfg.PublishURL, "http://") {
		hp := &httpPublisher{url: cfg.PublishURL, topic: cfg.Topic, size: cfg.Size, client: &http.Client{Timeout: cfg.Timeout}}
		send = func(due int64) error {
			ok, err := hp.publish(ctx, due)
			acked.Add(1)
			if !ok {
				refused.Add(1)
				stats.Errors.Add(1)
			}
			return err
		}
	} else {
		t, err := ParseTarget(cfg.PublishURL)
		if err != nil {
			rep.fail(err)
			return rep
		}
		topic, _ := json.Marshal(cfg.Topic)
		pub := &publisher{stats: stats, size: cfg.Size, acked: acked, refused: refused}
		pub.prefix = fmt.Appendf(nil, `,"method":"publish","params":{"topic":%s,"data":"`, topic)
		pub.build = pub.request
		d := &Dialer{Target: t, Protocol: "herald.v1", Timeout: cfg.Timeout, Stats: NewStats(),
			Setup: func(c *Conn) { c.OnData, c.AfterRead = pub.onData, pub.afterRead }}
		pr := d.Open(ctx, cfg.Conns, 1)
		if len(pr.Conns) == 0 {
			rep.fail(fmt.Errorf("publisher: %w", pr.FirstErr))
			return rep
		}
		wsPub = pr.Conns
		send = func(due int64) error { return wsPub[0].WriteWith(wsframe.OpText, due, pub.build) }
	}

	cpu := startCPU(cfg.PID)
	start := time.Now()
	rep.fail(publishOpenLoop(cfg, stats, send))
	sent := stats.Sent.Load()
	deadline := time.Now().Add(cfg.Timeout)
	var err error
	if !acked.WaitAtLeast(sent, deadline) {
		err = fmt.Errorf("only %d of %d publications answered", acked.Load(), sent)
	}
	owed := (acked.Load() - refused.Load()) * n
	if err == nil {
		err = waitFor(stats.Received, owed, stats, n, deadline)
	}
	elapsed := time.Since(start)
	rep.CPU = cpu.stop()
	rep.Sent, rep.Received, rep.Expected, rep.ElapsedMS = sent, stats.Received.Load(), owed, ms(elapsed)
	rep.Refused = refused.Load()
	rep.fail(err)
	fmt.Fprintf(say, "Sent/Received %d/%d messages in %dms: %.0fmsg/s\n", sent, rep.Received, elapsed.Milliseconds(),
		float64(rep.Received)/elapsed.Seconds())
	return rep
}

var (
	sseReady = []byte("event: ready")
	sseData  = []byte("data:")
)

// sseSub is one stream's counts; its fields belong to its reader.
type sseSub struct {
	stats *Stats
	ready *Counter
	hist  *Histogram
	n     int64
}

func (s *sseSub) onLine(line []byte) {
	switch {
	case bytes.HasPrefix(line, sseData):
		if due, ok := intAfter(line, keyData); ok {
			s.hist.Record(time.Now().UnixNano() - due)
			s.n++
		}
	case bytes.Equal(line, sseReady):
		s.ready.Add(1)
	}
}

func (s *sseSub) afterRead() {
	if s.n > 0 {
		s.stats.Received.Add(s.n)
		s.n = 0
	}
}

// httpPublisher publishes through Herald's HTTP publish API.
type httpPublisher struct {
	url, topic string
	size       int
	client     *http.Client
	body       []byte
}

// publish POSTs one message; ok is false when the server refused it.
func (p *httpPublisher) publish(ctx context.Context, due int64) (ok bool, err error) {
	topic, _ := json.Marshal(p.topic)
	b := append(p.body[:0], `{"topic":`...)
	b = append(b, topic...)
	b = append(b, `,"data":"`...)
	start := len(b)
	b = strconv.AppendInt(b, due, 10)
	b = append(b, ':')
	b = appendPad(b, p.size-(len(b)-start))
	b = append(b, `"}`...)
	p.body = b
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(b))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return false, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, nil
}
