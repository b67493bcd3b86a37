package emulate

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/httpx"
	"github.com/heraldhq/herald/internal/store"
	"github.com/heraldhq/herald/internal/wsframe"
)

// post takes POST ?session=ID[&seq=K][&ack=N] with a body of JSON-RPC
// messages (one or more JSON values, e.g. one per line; an array is a
// JSON-RPC batch). Answers come through the poll or the stream.
//
// seq is the client's number for this POST (1, 2, ...): a retried POST
// with a number the session has accepted is answered 200
// {"duplicate":true} and not run again. The body is read whole before the
// number is recorded, so a POST cut off on the way can be retried.
func (m *Manager) post(w http.ResponseWriter, r *http.Request, id string) {
	ss := m.lookup(w, r, id)
	if ss == nil {
		return
	}
	ss.touch()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(m.cfg.MaxPost)))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			httpx.Error(w, http.StatusRequestEntityTooLarge, "too_large", "the body is larger than "+strconv.Itoa(m.cfg.MaxPost)+" bytes")
			return
		}
		httpx.Error(w, http.StatusBadRequest, "bad_body", "reading the body: "+err.Error())
		return
	}
	ack, ok := ackParam(w, r)
	if !ok {
		return
	}
	if err := ss.ack(ack); err != nil {
		badAck(w, err)
		return
	}
	if ended, _, _ := ss.end(); ended {
		httpx.Error(w, http.StatusGone, "session_closed", "the session has ended")
		return
	}
	var seq uint64
	if v := r.URL.Query().Get("seq"); v != "" {
		seq, err = strconv.ParseUint(v, 10, 64)
		if err != nil {
			httpx.Error(w, http.StatusBadRequest, "bad_seq", "seq must be a positive number")
			return
		}
		fresh, err := m.cfg.Store.Accept(id, seq)
		switch {
		case errors.Is(err, store.ErrAhead):
			httpx.Error(w, http.StatusConflict, "bad_seq", err.Error())
			return
		case err != nil:
			httpx.Error(w, http.StatusGone, "session_closed", "the session has ended")
			return
		case !fresh:
			if !m.duplicate(w, r.Context(), id, seq) {
				return
			}
			httpx.JSON(w, http.StatusOK, []byte(`{"duplicate":true}`+"\n"))
			return
		}
	}
	ss.mu.Lock()
	cs := ss.cs
	ss.mu.Unlock()
	if cs == nil {
		httpx.Error(w, http.StatusGone, "session_closed", "the session has ended")
		return
	}
	n := 0
	for msg := range messages(body) {
		cs.Receive(wsframe.OpText, msg)
		n++
	}
	if !cs.Open() {
		// The server stopped while these ran: the client retries (on the
		// next run, which takes the session over).
		httpx.Error(w, http.StatusServiceUnavailable, "shutting_down", "the server is shutting down")
		return
	}
	if !m.applied(w, r.Context(), id, seq) {
		return
	}
	httpx.JSON(w, http.StatusAccepted, []byte(`{"accepted":`+strconv.Itoa(n)+"}\n"))
}

// messages splits a body into JSON values. From the first thing that is
// not JSON, the rest goes as one message, so the protocol answers it with
// its own parse error.
func messages(body []byte) func(yield func([]byte) bool) {
	return func(yield func([]byte) bool) {
		dec := json.NewDecoder(bytes.NewReader(body))
		for {
			start := dec.InputOffset()
			var raw json.RawMessage
			err := dec.Decode(&raw)
			if err == io.EOF {
				return
			}
			if err != nil {
				if rest := bytes.TrimSpace(body[start:]); len(rest) > 0 {
					yield(rest)
				}
				return
			}
			if !yield(raw) {
				return
			}
		}
	}
}

// end answers DELETE: the session ends at once, its log with it.
func (m *Manager) end(w http.ResponseWriter, r *http.Request, id string) {
	ss := m.lookup(w, r, id)
	if ss == nil {
		return
	}
	ss.mu.Lock()
	cs := ss.cs
	ss.dropped = true
	ended := ss.ended
	ss.mu.Unlock()
	if ended {
		m.forget(ss)
	} else if cs != nil {
		cs.CloseWith(core.CloseNormal, "closed by the client")
	}
	w.WriteHeader(http.StatusNoContent)
}
