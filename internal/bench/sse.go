package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// sseDriver is the fanout scenario with Server-Sent Events subscribers:
// --conns streams GET <--url>?topic=<--topic> (Herald's /events), and one
// publisher at --rate messages per second, open loop, either a herald.v1
// WebSocket (--publish-url ws://…, the default: the events URL's host
// with /ws) or Herald's HTTP publish API (--publish-url http://…/api/publish,
// one POST per message on a kept-alive connection, so the publisher
// falls behind when a POST takes longer than the interval, which the
// latency shows). A subscriber is counted once its "ready" event has
// arrived; each message's data carries "<due time in unix ns>:<padding>".
type sseDriver struct{}

func (sseDriver) mode(cfg *Config) string { return "sse, publish over " + cfg.PublishURL }

func (sseDriver) subscribers(ctx context.Context, cfg *Config, stats *Stats, first, n int) *subSide {
	path := cfg.sse.Path
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	path += sep + "topic=" + url.QueryEscape(cfg.Topic)
	ready := NewCounter()
	subs := make([]*sseSub, n)
	res, conns := openAll(ctx, n, cfg.DialConcurrency, stats, func(i int) (*sseConn, error) {
		c, err := dialSSE(ctx, cfg.sse, path, cfg.Sources, first+i, cfg.ReadBuffer, cfg.Timeout, stats)
		if err != nil {
			return nil, err
		}
		s := &sseSub{stats: stats, ready: ready, hist: NewHistogram()}
		c.OnLine, c.AfterRead = s.onLine, s.afterRead
		subs[i] = s
		c.start()
		return c, nil
	})
	return &subSide{res: res, opened: len(conns), subscribed: ready,
		close:   func() { closeSSE(conns) },
		latency: func() *Histogram { return mergeHists(subs, func(s *sseSub) *Histogram { return s.hist }) }}
}

func (sseDriver) publisher(ctx context.Context, cfg *Config, stats *Stats, id int) (*pubSide, error) {
	if !strings.HasPrefix(cfg.PublishURL, "http://") {
		t, err := ParseTarget(cfg.PublishURL)
		if err != nil {
			return nil, err
		}
		return heraldPublisher(ctx, cfg, t, stats, id)
	}
	acked, refused := NewCounter(), NewCounter()
	hp := &httpPublisher{url: cfg.PublishURL, topic: cfg.Topic, size: cfg.Size, client: &http.Client{Timeout: cfg.Timeout}}
	return &pubSide{
		send: func(due int64) error {
			ok, err := hp.publish(ctx, due)
			acked.Add(1)
			if !ok {
				refused.Add(1)
				stats.Errors.Add(1)
			}
			return err
		},
		settle: func(sent int64, _ time.Time) (int64, int64, error) {
			return acked.Load() - refused.Load(), refused.Load(), nil
		},
		close: hp.client.CloseIdleConnections,
	}, nil
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
