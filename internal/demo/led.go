// Package demo is the demo application served by the herald binary: the
// LED of reference 000 (request/response over plain text or JSON-RPC, each
// result pushed to subscribers of Topic) and the chat room of reference
// 001, with the web pages that drive them.
package demo

import (
	"context"
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/heraldhq/herald"
)

// Topic is where every LED command's result is published, as
// "[<client host>] - <response>".
const Topic = "wsone/notify"

// maxEcho bounds how much of an unknown command is quoted back. Every
// result is broadcast to all subscribers, so without a bound one client
// could fan a 64 KiB message out to everyone by sending garbage.
const maxEcho = 64

// LED is a stand-in for the Raspberry Pi's LED: an on/off state that
// commands read and change. The zero value is an LED that is off.
type LED struct {
	mu sync.Mutex
	on bool
}

// Handle runs one command and returns the reply. The command is trimmed
// and lower-cased: "status" reports the state, "on" and "off" set it, and
// anything else is an error reply (not a Go error: the reference answers
// bad commands in band). Every reply is also passed to publish, prefixed
// with the host of the client the command came from; publish may be nil.
func (l *LED) Handle(ctx context.Context, text string, publish func(ctx context.Context, msg string)) string {
	cmd := strings.ToLower(strings.TrimSpace(text))
	var resp string
	switch cmd {
	case "status":
		l.mu.Lock()
		on := l.on
		l.mu.Unlock()
		resp = "LED is " + onOff(on)
	case "on", "off":
		// Read and write under one lock so that "(was ...)" is exact
		// even when clients race.
		l.mu.Lock()
		was := l.on
		l.on = cmd == "on"
		l.mu.Unlock()
		resp = "LED is now " + cmd + " (was " + onOff(was) + ")"
	default:
		// Quoted Go-style so that a newline in the command cannot forge
		// extra lines in the clients' logs.
		resp = "ERROR. Unknown command: " + strconv.Quote(truncate(cmd, maxEcho)) + `, Usage: "status|on|off"`
	}
	if publish != nil {
		publish(ctx, "["+clientHost(ctx)+"] - "+resp)
	}
	return resp
}

// On reports whether the LED is on.
func (l *LED) On() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.on
}

// Register installs led on srv as the plain-text handler (connections
// without a subprotocol), as the JSON-RPC methods "status", "on" and "off"
// (params ignored) and as "led" with params ["command"]; each result is
// the reply string.
// Results are published to Topic.
func Register(srv *herald.Server, led *LED) {
	publish := func(ctx context.Context, msg string) {
		// The notification is a side effect: the caller still gets its
		// reply if it cannot be published, which only happens once the
		// server is shutting down.
		_, _ = srv.Publish(ctx, Topic, []byte(msg), herald.WithContentType("text/plain; charset=utf-8"))
	}
	srv.HandleText(func(ctx context.Context, text string) (string, error) {
		return led.Handle(ctx, text, publish), nil
	})
	for _, cmd := range []string{"status", "on", "off"} {
		srv.Handle(cmd, func(ctx context.Context, _ json.RawMessage) (any, error) {
			return led.Handle(ctx, cmd, publish), nil
		})
	}
	// "led" takes any command text, so JSON clients (the demo page) get
	// the reference's answer to an unknown command, not "method not found".
	srv.Handle("led", func(ctx context.Context, params json.RawMessage) (any, error) {
		var args []string
		if err := json.Unmarshal(params, &args); err != nil || len(args) != 1 {
			return nil, herald.Errorf(herald.CodeInvalidParams, `led takes ["command"]`)
		}
		return led.Handle(ctx, args[0], publish), nil
	})
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// clientHost is the host part of the calling client's address, or
// "unknown" when the context carries no client (a direct Go call).
func clientHost(ctx context.Context) string {
	c, ok := herald.ClientFromContext(ctx)
	if !ok || c.RemoteAddr == "" {
		return "unknown"
	}
	host, _, err := net.SplitHostPort(c.RemoteAddr)
	if err != nil {
		return c.RemoteAddr // already a bare host
	}
	return host
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence,
// marking the cut with "...".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
