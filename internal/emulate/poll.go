package emulate

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/heraldhq/herald/internal/httpx"
	"github.com/heraldhq/herald/internal/store"
)

// poll answers GET ?session=ID&ack=N[&wait=0]: the messages numbered
// after N, at once if there are any, else as soon as one arrives or after
// the poll timeout (an empty batch); wait=0 never holds. A newer poll or
// a stream on the same session releases a held one (empty batch).
func (m *Manager) poll(w http.ResponseWriter, r *http.Request, id string) {
	ss, after, ok := m.begin(w, r, id)
	if !ok {
		return
	}
	if err := ss.ack(after); err != nil {
		badAck(w, err)
		return
	}
	if ended, code, reason := ss.end(); ended && !m.pending(id, after) {
		// Nothing left to deliver: the session is simply gone.
		m.forget(ss)
		ss.mu.Lock()
		expired := ss.expired
		ss.mu.Unlock()
		writeGone(w, tomb{code: code, reason: reason, expired: expired})
		return
	}
	hold := m.cfg.PollTimeout
	if r.URL.Query().Get("wait") == "0" {
		hold = 0
	}
	released := ss.beginPoll()
	defer ss.endPoll()

	var timer <-chan time.Time
	for {
		first, msgs, err := m.cfg.Store.Read(id, after, m.cfg.MaxBatch, m.cfg.MaxBatchBytes)
		if err != nil && !errors.Is(err, store.ErrNoSession) {
			badAck(w, err)
			return
		}
		ended, code, reason := ss.end()
		if len(msgs) > 0 || ended || hold == 0 {
			// The end goes with the last batch; the log is dropped then
			// (the next request gets 410).
			last := ended && !m.more(id, first, msgs)
			if len(msgs) > 0 && !m.sync(w, r.Context()) {
				return // a crash must not give these numbers to other messages
			}
			writeBatch(w, first, msgs, last, code, reason)
			if last {
				m.forget(ss)
			}
			return
		}
		ch, err := m.cfg.Store.Wait(id, after)
		if err != nil {
			writeBatch(w, 0, nil, true, code, reason)
			return
		}
		if timer == nil {
			t := time.NewTimer(hold)
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-ch:
		case <-timer:
			hold = 0
		case <-released:
			hold = 0
		case <-r.Context().Done():
			return
		}
	}
}

// pending reports whether the log holds a message numbered after
// `after`; more, whether it holds one past a batch just read.
func (m *Manager) pending(id string, after uint64) bool {
	_, msgs, _ := m.cfg.Store.Read(id, after, 1, 1)
	return len(msgs) > 0
}

func (m *Manager) more(id string, first uint64, msgs [][]byte) bool {
	return len(msgs) > 0 && m.pending(id, first+uint64(len(msgs))-1)
}

// writeBatch answers {"seq":first,"messages":[...]} (seq 0 when empty),
// with "closed":{"code","reason"} once the session has ended.
func writeBatch(w http.ResponseWriter, first uint64, msgs [][]byte, ended bool, code uint16, reason string) {
	size := 64
	for _, b := range msgs {
		size += len(b) + 1
	}
	b := make([]byte, 0, size)
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, first, 10)
	b = append(b, `,"messages":[`...)
	for i, msg := range msgs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, msg...)
	}
	b = append(b, ']')
	if ended {
		b = append(b, `,"closed":`...)
		b = append(b, closeJSON(code, reason)...)
	}
	b = append(b, "}\n"...)
	httpx.JSON(w, http.StatusOK, b)
}

// ackParam reads the optional ack=N parameter.
// begin starts serving a GET on session id: the session (its expiry
// pushed back) and the client's acknowledgement cursor. It has answered
// the request when ok is false.
func (m *Manager) begin(w http.ResponseWriter, r *http.Request, id string) (ss *session, after uint64, ok bool) {
	if ss = m.lookup(w, r, id); ss == nil {
		return nil, 0, false
	}
	ss.touch()
	after, ok = ackParam(w, r)
	return ss, after, ok
}

func ackParam(w http.ResponseWriter, r *http.Request) (uint64, bool) {
	v := r.URL.Query().Get("ack")
	if v == "" {
		return 0, true
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		httpx.Error(w, http.StatusBadRequest, "bad_ack", "ack must be a message number")
		return 0, false
	}
	return n, true
}

func badAck(w http.ResponseWriter, err error) {
	httpx.Error(w, http.StatusBadRequest, "bad_ack", err.Error())
}

// beginPoll registers a poll and releases any poll held before it, and
// any attached stream: the newest listener wins. The returned channel is
// closed when this poll is released in turn.
func (ss *session) beginPoll() <-chan struct{} {
	ss.mu.Lock()
	ss.polls++
	if ss.replaced != nil {
		close(ss.replaced)
	}
	ss.replaced = make(chan struct{})
	ch := ss.replaced
	con := ss.consumer
	ss.consumer = nil
	ss.mu.Unlock()
	if con != nil {
		con.release()
	}
	return ch
}

func (ss *session) endPoll() {
	ss.mu.Lock()
	ss.polls--
	ss.mu.Unlock()
	ss.touch()
}

func (ss *session) end() (bool, uint16, string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.ended, ss.code, ss.reason
}
