package core

import (
	"fmt"
	"time"
)

// abortGrace is how long Shutdown waits, once it aborted the sessions
// that outlived its context, for their transports to report the close.
const abortGrace = 2 * time.Second

// awaitAborted waits for the aborted sessions to end. Aborting makes
// every transport report the close promptly; should one not, Shutdown
// must still return: the stragglers are logged with their state (a
// session stuck here is a bug worth a report) and the poller, which
// Shutdown closes next, closes their descriptors and ends them.
func (c *Core) awaitAborted(drained <-chan struct{}) {
	t := time.NewTimer(abortGrace)
	defer t.Stop()
	select {
	case <-drained:
		return
	case <-t.C:
	}
	c.mu.Lock()
	left := make([]*Session, 0, len(c.sessions))
	for s := range c.sessions {
		left = append(left, s)
	}
	c.mu.Unlock()
	for _, s := range left {
		c.log.Error("session did not end when aborted; closing it with the poller", "session", s.Scope.SessionID, "state", s.debugState())
	}
}

// debugState describes s for a diagnostic.
func (s *Session) debugState() string {
	pending, running, held, closed := s.box.State()
	s.qmu.Lock()
	flushing, waitWritable, queued := s.flushing, s.waitWritable, s.q.Len()
	s.qmu.Unlock()
	s.mu.Lock()
	ended := s.ended
	s.mu.Unlock()
	return fmt.Sprintf("state=%d protocol=%s transport=%s mailbox{pending=%d running=%t held=%t closed=%t} flush{flushing=%t waitWritable=%t queued=%d} ended=%t",
		s.state.Load(), s.Scope.Protocol, s.Scope.Transport, pending, running, held, closed, flushing, waitWritable, queued, ended)
}
