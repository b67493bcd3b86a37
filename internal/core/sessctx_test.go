package core

import (
	"context"
	"errors"
	"testing"
	"time"
	"unsafe"

	"github.com/heraldhq/herald/internal/wsframe"
)

func openNop(t *testing.T, c *Core) *Session {
	t.Helper()
	s, err := c.OpenVirtual(Scope{SessionID: "s1", Protocol: "nop", Transport: "virtual"}, nopAdapter{}, &sink{room: 100})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// closeAndWait closes s as its client would and waits for its end.
func closeAndWait(t *testing.T, s *Session) {
	t.Helper()
	done := s.Context().Done()
	s.OnClose(ErrClosed)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the session's context was not cancelled when it ended")
	}
}

// TestSessionContextEndsWithTheSession: the context carries the scope,
// is live while the session is, and is cancelled (with everything
// derived from it) once the session has ended.
func TestSessionContextEndsWithTheSession(t *testing.T) {
	c := New(Config{})
	defer c.Shutdown(context.Background())
	s := openNop(t, c)
	ctx := s.Context()
	if sc, ok := ScopeFrom(ctx); !ok || sc != &s.Scope || sc.SessionID != "s1" {
		t.Fatalf("ScopeFrom = %v, %v", sc, ok)
	}
	if ctx.Err() != nil {
		t.Fatalf("Err of an open session's context: %v", ctx.Err())
	}
	if _, ok := ctx.Deadline(); ok {
		t.Error("the session context has a deadline")
	}
	// A handler's deadline, and a derived context that is cancelled first
	// (its registration must go away).
	handler, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	short, cancelShort := context.WithCancel(ctx)
	cancelShort()
	if n := len(s.watch.fns); n != 1 {
		t.Errorf("%d callbacks registered after one derived context was cancelled, want 1", n)
	}
	afterRan := make(chan struct{})
	context.AfterFunc(ctx, func() { close(afterRan) })

	closeAndWait(t, s)
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Errorf("Err after the end = %v", ctx.Err())
	}
	<-handler.Done()
	<-afterRan
	if !errors.Is(handler.Err(), context.Canceled) || !errors.Is(short.Err(), context.Canceled) {
		t.Errorf("derived contexts: %v, %v", handler.Err(), short.Err())
	}
	// Derived after the end: cancelled at once.
	late, cancelLate := context.WithCancel(ctx)
	defer cancelLate()
	<-late.Done()
}

// TestSessionContextEndsWithTheCore: stopping the core cancels the
// context of a session still open.
func TestSessionContextEndsWithTheCore(t *testing.T) {
	c := New(Config{})
	s := openNop(t, c)
	derived, cancel := context.WithCancel(s.Context())
	defer cancel()
	c.stop()
	<-derived.Done()
	if s.Context().Err() == nil {
		t.Error("the session context outlived the core's")
	}
	c.Shutdown(context.Background())
}

// TestIdleSessionIsLean: an idle session holds no context state and no
// message-rate limiter unless those are used or configured; the figures
// of docs/BENCHMARKS.md depend on it.
func TestIdleSessionIsLean(t *testing.T) {
	c := New(Config{})
	defer c.Shutdown(context.Background())
	s := openNop(t, c)
	_ = s.Context().Value(scopeKey{}) // a handler reading the scope costs nothing
	if s.watch != nil || s.msgs != nil || s.short != nil || s.q.Len() != 0 || s.ticket != unlimited {
		t.Errorf("idle session: watch %v, limiter %v, short write %v, queue %d, ticket %v", s.watch, s.msgs, s.short, s.q.Len(), s.ticket)
	}
	// 384 bytes is a malloc size class; one field more and every
	// connection pays the next class (416).
	if size := unsafe.Sizeof(Session{}); unsafe.Sizeof(uintptr(0)) == 8 && size > 384 {
		t.Errorf("Session is %d bytes on 64-bit, want at most 384", size)
	}
	if size := unsafe.Sizeof(wsframe.Reader{}); unsafe.Sizeof(uintptr(0)) == 8 && size > 112 {
		t.Errorf("the frame parser is %d bytes on 64-bit, want at most 112 (a size class)", size)
	}
	lim := New(Config{Limits: Limits{MessageRate: 10}})
	defer lim.Shutdown(context.Background())
	if s := openNop(t, lim); s.msgs == nil {
		t.Error("a message-rate limit configured, but the session has no limiter")
	}
	capped := New(Config{Limits: Limits{MaxConns: 10}})
	defer capped.Shutdown(context.Background())
	if s := openNop(t, capped); s.ticket == unlimited || capped.lim.total.Load() != 1 {
		t.Errorf("a connection limit configured, but the session holds no place (total %d)", capped.lim.total.Load())
	}
}
