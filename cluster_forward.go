package herald

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/heraldhq/herald/internal/broker"
)

// Long-poll and streaming sessions live on the node that created them. In
// a cluster, a request for a session this node does not hold (the load
// balancer sent it elsewhere) is forwarded over NATS to the node that
// holds it, and its answer relayed: consecutive polls may hit any node.
// A stream's long-lived GET is relayed part by part (cluster_relay.go).

// forwardName names the session forwarding on the broker.
const forwardName = "emulated"

// forwardTimeout bounds a forwarded request: the longest poll hold and
// some margin.
const forwardTimeout = 2 * time.Minute

// forwarded is a request or an answer as it crosses nodes.
type forwarded struct {
	Method string      `json:"method,omitempty"`
	Host   string      `json:"host,omitempty"`
	URL    string      `json:"url,omitempty"`
	Remote string      `json:"remote,omitempty"`
	Status int         `json:"status,omitempty"`
	Header http.Header `json:"header"`
	Body   []byte      `json:"body,omitempty"`
}

// clusterSessions wraps an emulated-session endpoint (local: this node's
// handler) so that requests for other nodes' sessions are forwarded.
func (s *Server) clusterSessions(local http.Handler, streaming bool) http.Handler {
	if s.cluster == nil {
		return local
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("session")
		if id == "" || s.emulation().Has(id) {
			local.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, int64(s.core.Config().MaxMessage)+1))
		if err != nil {
			local.ServeHTTP(w, r)
			return
		}
		req, _ := json.Marshal(forwarded{Method: r.Method, Host: r.Host, URL: r.URL.RequestURI(), Remote: s.core.ClientAddr(r), Header: r.Header, Body: body})
		if streaming && r.Method == http.MethodGet {
			if !s.relayStream(w, r, id, req) {
				local.ServeHTTP(w, r) // unknown here too: 404 or 410
			}
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), forwardTimeout)
		defer cancel()
		raw, err := s.cluster.Broker().Forward(ctx, forwardName, id, req)
		if err != nil {
			if !errors.Is(err, broker.ErrNoOwner) && s.opts.Logger != nil {
				s.opts.Logger.Warn("forwarding a session request", "err", err)
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			local.ServeHTTP(w, r) // unknown here too: 404 or 410
			return
		}
		var resp forwarded
		if json.Unmarshal(raw, &resp) != nil || resp.Status == 0 {
			http.Error(w, "bad answer from the session's node", http.StatusBadGateway)
			return
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.Status)
		w.Write(resp.Body)
	})
}

// clusterSessionOwner answers the other nodes' forwarded requests for the
// sessions this node holds.
func (s *Server) clusterSessionOwner() error {
	emu := s.emulation()
	if err := s.cluster.Broker().RelayOwners(forwardName, s.serveRelayedStream); err != nil {
		return err
	}
	return s.cluster.Broker().Owners(forwardName, emu.Has, func(raw []byte) []byte {
		var req forwarded
		if json.Unmarshal(raw, &req) != nil {
			b, _ := json.Marshal(forwarded{Status: http.StatusBadRequest})
			return b
		}
		ctx, cancel := context.WithTimeout(context.Background(), forwardTimeout)
		defer cancel()
		r, err := http.NewRequestWithContext(ctx, req.Method, req.URL, bytes.NewReader(req.Body))
		if err != nil {
			b, _ := json.Marshal(forwarded{Status: http.StatusBadRequest})
			return b
		}
		r.Header, r.Host, r.RemoteAddr = req.Header, req.Host, req.Remote
		rec := httptest.NewRecorder()
		// Poll and Stream share the session manager and treat POST and
		// DELETE alike; a forwarded GET is never a stream's.
		emu.Poll().ServeHTTP(rec, r)
		b, _ := json.Marshal(forwarded{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()})
		return b
	})
}
