package core

import (
	"context"
	"slices"
	"time"
)

// sessionContext is a Session's context.Context. It is the session itself
// under another type, so the context costs an idle connection nothing: a
// context.WithCancel over a WithValue, created by the first request, used
// to cost each subscribed connection three objects and about 180 bytes
// (with the core context's entry for it). What waiting on the context
// needs (a channel, the callbacks of contexts derived from it) is made by
// the first caller of Done or AfterFunc (ctxWatch).
//
// It is cancelled when the session has ended or the core stops. The core's
// context carries no values, so Value knows only the Scope.
type sessionContext Session

// ctxWatch is a session context's state for waiters.
type ctxWatch struct {
	done      chan struct{}
	fns       []*func() // AfterFunc callbacks not yet stopped
	stopCore  func() bool
	cancelled bool
}

// Context carries the session's Scope. It is cancelled when the session
// has ended (after the connection closed and the work the client had
// already sent has run) or the server has stopped.
func (s *Session) Context() context.Context { return (*sessionContext)(s) }

func (c *sessionContext) Deadline() (time.Time, bool) { return time.Time{}, false }

func (c *sessionContext) Value(key any) any {
	if key == (scopeKey{}) {
		return &c.Scope
	}
	return nil
}

func (c *sessionContext) Err() error {
	s := (*Session)(c)
	s.mu.Lock()
	ended := s.ended
	s.mu.Unlock()
	if ended {
		return context.Canceled
	}
	return s.core.ctx.Err()
}

func (c *sessionContext) Done() <-chan struct{} {
	s := (*Session)(c)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.watchLocked().done
}

// AfterFunc lets contexts derived from the session's (a handler's
// deadline) be cancelled with it without a goroutine each: the context
// package looks for this method.
func (c *sessionContext) AfterFunc(f func()) (stop func() bool) {
	s := (*Session)(c)
	s.mu.Lock()
	w := s.watchLocked()
	if w.cancelled {
		s.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	p := &f
	w.fns = append(w.fns, p)
	s.mu.Unlock()
	return func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		if i := slices.Index(w.fns, p); i >= 0 {
			w.fns = slices.Delete(w.fns, i, i+1)
			return true
		}
		return false
	}
}

func (c *sessionContext) String() string { return "herald session context" }

// watchLocked returns the session's ctxWatch, creating it on first use.
// Callers hold s.mu.
func (s *Session) watchLocked() *ctxWatch {
	if s.watch == nil {
		w := &ctxWatch{done: make(chan struct{})}
		s.watch = w
		if s.ended {
			w.cancelled = true
			close(w.done)
		} else {
			w.stopCore = context.AfterFunc(s.core.ctx, s.cancelContext)
		}
	}
	return s.watch
}

// cancelContext closes the session context's Done channel, if anyone
// asked for it, and runs the callbacks of contexts derived from it.
func (s *Session) cancelContext() {
	s.mu.Lock()
	w := s.watch
	if w == nil || w.cancelled {
		s.mu.Unlock()
		return
	}
	w.cancelled = true
	close(w.done)
	fns := w.fns
	w.fns = nil
	s.mu.Unlock()
	if w.stopCore != nil {
		w.stopCore()
	}
	for _, f := range fns {
		(*f)()
	}
}
