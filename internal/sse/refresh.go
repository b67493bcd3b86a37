package sse

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/heraldhq/herald/internal/auth"
	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/httpx"
)

// refresh replaces the credentials of a live stream:
//
//	POST /events?stream=ID
//	Authorization: Bearer <new token>      (or an access_token parameter)
//
// The stream id is in the "ready" event. The token must be accepted by
// the authenticator for the stream's subject; then its identity
// (permissions, expiry) applies to the stream, and the stream's topics
// are authorized again: those no longer allowed are dropped. Answers: 200
// {"subject","expires"?,"revoked"?}, 401 or 403 with the reason (the stream keeps
// its current credentials until they expire), 404 for a stream that is
// not (or no longer) served here.
func (h *Handler) refresh(w http.ResponseWriter, r *http.Request) {
	c := h.cfg.Core
	access := httpx.Check(w, r, c.Config().AllowedOrigins)
	if access == httpx.Denied {
		httpx.Error(w, http.StatusForbidden, "origin_not_allowed", "origin "+strconv.Quote(r.Header.Get("Origin"))+" is not allowed")
		return
	}
	v, ok := h.streams.Load(r.URL.Query().Get("stream"))
	if !ok {
		httpx.Error(w, http.StatusNotFound, "unknown_stream", "no such stream here: open one with GET and use the id of its ready event")
		return
	}
	st := v.(*stream)
	s := st.s
	// The token comes from the header or access_token; a stream that
	// authenticates by cookie is refreshed by reconnecting, which sends
	// the renewed cookie.
	tok, _ := auth.Token(httpx.ConnectHeader(r, access), "", "")
	id, err := s.Reauthenticate(r.Context(), tok)
	if err != nil {
		status, code := http.StatusForbidden, "forbidden"
		if errors.Is(err, core.ErrUnauthorized) {
			status, code = http.StatusUnauthorized, "unauthorized"
		}
		httpx.Error(w, status, code, err.Error())
		return
	}
	res := map[string]any{"subject": id.Subject}
	if !id.Expires.IsZero() {
		res["expires"] = id.Expires.Unix()
	}
	if revoked := st.revoke(r.Context()); len(revoked) > 0 {
		res["revoked"] = revoked
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(res)
}

// Expire implements core.Expirer: an "expired" event says why the stream
// ends, then it ends. The browser's EventSource reconnects by itself and
// is then authenticated afresh.
func (st *stream) Expire() {
	ev := AppendEvent(nil, "", "expired", []byte(`{"reason":"`+core.ReasonExpired+`"}`))
	st.s.CloseAfter(ev)
}

// revoke authorizes the stream's filters again, for the identity now in
// force, and drops those refused; it returns them.
func (st *stream) revoke(ctx context.Context) []string {
	st.mu.Lock()
	filters := slices.Clone(st.filters)
	st.mu.Unlock()
	c := st.s.Core()
	var revoked []string
	for _, f := range filters {
		if c.Authorize(ctx, &st.s.Scope, core.ActionSubscribe, f) != nil {
			revoked = append(revoked, f)
		}
	}
	if len(revoked) == 0 {
		return nil
	}
	st.mu.Lock()
	st.filters = slices.DeleteFunc(st.filters, func(f string) bool { return slices.Contains(revoked, f) })
	st.mu.Unlock()
	for _, f := range revoked {
		c.Router().Unsubscribe(st, f)
	}
	return revoked
}
