package stomp

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald/internal/core"
)

// supportedVersions is the ERROR frame's version header when no version
// can be agreed.
const supportedVersions = "1.0,1.1,1.2"

const errVersionMsg = "unsupported protocol version"

// negotiate picks the highest version both sides speak: accept-version
// lists the client's; without it the client speaks 1.0.
func negotiate(f *Frame) (Version, bool) {
	av, ok := f.Get("accept-version")
	if !ok {
		return V10, true
	}
	best := Version(0)
	for v := range strings.SplitSeq(av, ",") {
		switch strings.TrimSpace(v) {
		case "1.0":
			best = max(best, V10)
		case "1.1":
			best = max(best, V11)
		case "1.2":
			best = max(best, V12)
		}
	}
	return best, best != 0
}

// onConnect authenticates the session and answers CONNECTED, with the
// heart-beats agreed.
func (c *conn) onConnect(f *Frame) *stompError {
	v := c.v()
	if v == 0 {
		return &stompError{msg: errVersionMsg, code: core.CloseProtocolError, reason: "protocol",
			detail: "supported versions are " + supportedVersions + "; accept-version was " + strconv.Quote(f.Value("accept-version"))}
	}
	cx, cy := 0, 0
	if v >= V11 {
		if hb, ok := f.Get("heart-beat"); ok {
			var err error
			if cx, cy, err = parseHeartBeat(hb); err != nil {
				return protoErr("invalid heart-beat header %q: want two numbers of milliseconds, such as 10000,10000", clip(hb))
			}
		}
	}
	s := c.s
	if err := s.Refused(); err != nil {
		return &stompError{msg: "server busy", detail: err.Error(), code: core.CloseTryAgainLater, reason: "limit"}
	}
	info := &core.ConnectInfo{
		RemoteAddr: s.Scope.RemoteAddr,
		Protocol:   s.Scope.Protocol,
		Transport:  s.Scope.Transport,
		Login:      f.Value("login"),
		Passcode:   f.Value("passcode"),
		TLS:        s.TLS(),
	}
	if c.ws {
		info.Header = s.Scope.Header()
	}
	ctx, cancel := context.WithTimeout(s.Context(), s.Core().Config().RequestTimeout)
	id, err := s.Core().Connect(ctx, info)
	cancel()
	if err != nil {
		msg := "authentication failed"
		if errors.Is(err, core.ErrForbidden) {
			msg = "connection refused"
		}
		if !errors.Is(err, core.ErrUnauthorized) && !errors.Is(err, core.ErrForbidden) {
			s.Core().Logger().Debug("stomp connect hook failed", "session", s.Scope.SessionID, "err", err)
		}
		return &stompError{msg: msg, detail: msg + ": " + err.Error(), code: core.ClosePolicyViolation, reason: "denied"}
	}
	s.SetIdentity(id)

	// Heart-beats: each direction is the larger of what one side can do
	// and what the other wants, and none when either says 0.
	sx, sy := ms(c.a.cfg.HeartBeatSend), ms(c.a.cfg.HeartBeatReceive)
	if v >= V11 {
		if sx > 0 && cy > 0 {
			c.hb.send.Store(int64(max(sx, cy)))
		}
		if cx > 0 && sy > 0 {
			c.hb.recv.Store(int64(max(cx, sy)))
		}
	}

	esc := escapingFor(v, cmdConnected)
	b := append(make([]byte, 0, 128), "CONNECTED\n"...)
	b = appendHeader(b, esc, "version", v.String())
	b = appendHeader(b, esc, "session", s.Scope.SessionID)
	b = appendHeader(b, esc, "server", c.a.cfg.Server)
	if v >= V11 {
		b = appendHeader(b, esc, "heart-beat", strconv.Itoa(sx)+","+strconv.Itoa(sy))
	}
	b = append(b, '\n', 0)
	c.connected.Store(true)
	c.sendControl(b)
	return nil
}

// parseHeartBeat reads "cx,cy".
func parseHeartBeat(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, ",")
	if !ok {
		return 0, 0, errors.New("no comma")
	}
	x, err := strconv.ParseUint(strings.TrimSpace(a), 10, 31)
	if err != nil {
		return 0, 0, err
	}
	y, err := strconv.ParseUint(strings.TrimSpace(b), 10, 31)
	if err != nil {
		return 0, 0, err
	}
	return int(x), int(y), nil
}

// ms is d in whole milliseconds, 0 for a negative (disabled) interval.
func ms(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int(d / time.Millisecond)
}
