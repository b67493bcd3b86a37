package emulate

import (
	"errors"
	"net/http"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/httpx"
)

// refuseOpen forgets ss, whose core session could not be opened, and
// tells the client why: a connection limit (503, or 429 for the
// handshake rate, with Retry-After) or the shutdown.
func (m *Manager) refuseOpen(w http.ResponseWriter, ss *session, err error) {
	m.mu.Lock()
	delete(m.live, ss.id)
	m.mu.Unlock()
	m.cfg.Store.Delete(ss.id)
	switch {
	case errors.Is(err, core.ErrHandshakeRate):
		w.Header().Set("Retry-After", "1")
		httpx.Error(w, http.StatusTooManyRequests, "rate_limited", err.Error())
	case errors.Is(err, core.ErrTooManyConnections):
		w.Header().Set("Retry-After", "1")
		httpx.Error(w, http.StatusServiceUnavailable, "too_many_connections", err.Error())
	default:
		httpx.Error(w, http.StatusServiceUnavailable, "shutting_down", "the server is shutting down")
	}
}
