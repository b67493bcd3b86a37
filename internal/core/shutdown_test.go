package core

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

type nopProto struct{}

func (nopProto) OnMessage(byte, []byte) error { return nil }
func (nopProto) OnClose()                     {}

type nopAdapter struct{}

func (nopAdapter) Protocols() []string    { return []string{"nop"} }
func (nopAdapter) Open(*Session) Protocol { return nopProto{} }

// logLines is a slog handler that hands each record's message and
// attributes to a channel.
type logLines chan string

func (l logLines) Enabled(context.Context, slog.Level) bool { return true }
func (l logLines) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool { b.WriteString(" " + a.String()); return true })
	l <- b.String()
	return nil
}
func (l logLines) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l logLines) WithGroup(string) slog.Handler      { return l }

// TestShutdownSurvivesASessionThatDoesNotEnd: a session whose last step
// cannot run (its mailbox is busy) must not keep Shutdown waiting forever
// once its context is done; the straggler is reported with its state.
func TestShutdownSurvivesASessionThatDoesNotEnd(t *testing.T) {
	logs := make(logLines, 16)
	c := New(Config{Logger: slog.New(logs)})
	s, err := c.OpenVirtual(Scope{Protocol: "nop", Transport: "virtual"}, nopAdapter{}, &sink{room: 100})
	if err != nil {
		t.Fatal(err)
	}
	release, busy := make(chan struct{}), make(chan struct{})
	s.Mailbox().Push(func() { close(busy); <-release })
	<-busy

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan error, 1)
	go func() { done <- c.Shutdown(ctx) }()

	deadline := time.After(30 * time.Second)
	for {
		select {
		case line := <-logs:
			if !strings.Contains(line, "did not end when aborted") {
				continue
			}
			if !strings.Contains(line, "running=true") || !strings.Contains(line, "pending=1") {
				t.Errorf("diagnostic lacks the mailbox state: %s", line)
			}
			close(release) // the worker can finish; so can Shutdown
			if err := <-done; err == nil {
				t.Fatal("Shutdown with a done context reported no error")
			}
			return
		case err := <-done:
			t.Fatalf("Shutdown returned (%v) while the session's mailbox was still busy", err)
		case <-deadline:
			t.Fatal("Shutdown neither ended nor reported the stuck session")
		}
	}
}
