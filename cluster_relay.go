package herald

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/heraldhq/herald/internal/broker"
)

// An HTTP stream's GET that reaches a node other than its session's is
// relayed: the session's node serves the stream into a relayWriter whose
// parts cross NATS in order (broker.Relay), and this node writes them to
// the client as they come. The first part is the answer's status and
// header. If the relay breaks (a node stops, a part is lost to a client
// too slow to keep up), the stream ends and EventSource reconnects with
// Last-Event-ID: nothing acknowledged is lost.

// relayStream relays the stream of session id from the node that holds
// it; false if no node does (the caller answers as for an unknown
// session).
func (s *Server) relayStream(w http.ResponseWriter, r *http.Request, id string, req []byte) bool {
	ctx := r.Context()
	rel, err := s.cluster.Broker().ForwardRelay(ctx, forwardName, id, req)
	if err != nil {
		if !errors.Is(err, broker.ErrNoOwner) && s.opts.Logger != nil {
			s.opts.Logger.Warn("relaying a session's stream", "err", err)
		}
		return false
	}
	defer rel.Close()
	var head forwarded
	if raw, err := rel.Next(ctx); err != nil || json.Unmarshal(raw, &head) != nil || head.Status == 0 {
		http.Error(w, "bad answer from the session's node", http.StatusBadGateway)
		return true
	}
	for k, v := range head.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(head.Status)
	rc := http.NewResponseController(w)
	if rc.Flush() != nil {
		return true
	}
	timeout := s.core.Config().WriteTimeout
	for {
		p, err := rel.Next(ctx)
		if err != nil {
			return true // the end, or a break: the client reconnects
		}
		_ = rc.SetWriteDeadline(time.Now().Add(timeout))
		if _, err := w.Write(p); err != nil || rc.Flush() != nil {
			return true
		}
	}
}

// serveRelayedStream serves, on the session's node, a stream GET that
// reached another node.
func (s *Server) serveRelayedStream(ctx context.Context, raw []byte, send func([]byte) error) {
	var req forwarded
	if json.Unmarshal(raw, &req) != nil {
		head, _ := json.Marshal(forwarded{Status: http.StatusBadRequest})
		_ = send(head)
		return
	}
	r, err := http.NewRequestWithContext(ctx, req.Method, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		head, _ := json.Marshal(forwarded{Status: http.StatusBadRequest})
		_ = send(head)
		return
	}
	r.Header, r.Host, r.RemoteAddr = req.Header, req.Host, req.Remote
	rw := &relayWriter{header: http.Header{}, send: send}
	s.emulation().Stream().ServeHTTP(rw, r)
	_ = rw.FlushError()
}

// relayWriter is the http.ResponseWriter of a relayed stream: what is
// written goes to the asking node at each Flush (the stream flushes after
// each batch of events).
type relayWriter struct {
	header http.Header
	send   func([]byte) error
	status int
	headed bool // the head part was sent
	buf    []byte
	err    error
}

func (rw *relayWriter) Header() http.Header { return rw.header }

func (rw *relayWriter) WriteHeader(code int) {
	if rw.status == 0 {
		rw.status = code
	}
}

func (rw *relayWriter) Write(p []byte) (int, error) {
	if rw.err != nil {
		return 0, rw.err
	}
	rw.WriteHeader(http.StatusOK)
	rw.buf = append(rw.buf, p...)
	return len(p), nil
}

// FlushError sends the head (once) and what was written since the last
// flush; http.ResponseController.Flush uses it.
func (rw *relayWriter) FlushError() error {
	if rw.err != nil {
		return rw.err
	}
	if !rw.headed {
		rw.WriteHeader(http.StatusOK)
		head, _ := json.Marshal(forwarded{Status: rw.status, Header: rw.header})
		if rw.err = rw.send(head); rw.err != nil {
			return rw.err
		}
		rw.headed = true
	}
	if len(rw.buf) > 0 {
		rw.err = rw.send(rw.buf)
		rw.buf = rw.buf[:0]
	}
	return rw.err
}

func (rw *relayWriter) Flush() { _ = rw.FlushError() }
