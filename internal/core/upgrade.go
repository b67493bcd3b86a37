package core

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/heraldhq/herald/internal/limit"
	"github.com/heraldhq/herald/internal/outq"
	"github.com/heraldhq/herald/internal/poll"
	"github.com/heraldhq/herald/internal/wsframe"
)

// ServeWebSocket upgrades r to a WebSocket session. Every refusal happens
// before the upgrade, as an HTTP status with a plain-text reason.
func (c *Core) ServeWebSocket(w http.ResponseWriter, r *http.Request) {
	if !c.CheckHandshake(w, r) {
		return
	}
	if !OriginAllowed(r, c.cfg.AllowedOrigins) {
		c.m.rejected.Inc()
		http.Error(w, "origin "+r.Header.Get("Origin")+" is not allowed", http.StatusForbidden)
		return
	}
	r.Header = CredentialHeader(r, c.cfg.AllowedOrigins)
	proto, a, ok := c.pickAdapter(wsframe.Subprotocols(r.Header))
	if !ok {
		c.m.rejected.Inc()
		http.Error(w, "none of the offered subprotocols is supported; supported: "+strings.Join(c.protocolNames(), ", "), http.StatusBadRequest)
		return
	}
	protocol := proto
	if protocol == "" {
		protocol = "text"
	}
	// Admission before authentication: a flood must not reach the hook.
	ticket, err := c.Admit(c.ClientAddr(r))
	if err != nil {
		c.m.rejected.Inc()
		RefuseHTTP(w, err)
		return
	}
	var id Identity
	if _, inBand := a.(InBand); !inBand {
		id, err = c.connect(r.Context(), &ConnectInfo{RemoteAddr: c.ClientAddr(r), Header: r.Header, Protocol: protocol, Transport: "websocket", Path: r.URL.Path, TLS: r.TLS})
	}
	if err != nil {
		ticket.Release()
		c.m.rejected.Inc()
		status := http.StatusForbidden
		if errors.Is(err, ErrUnauthorized) {
			status = http.StatusUnauthorized
		}
		http.Error(w, err.Error(), status)
		return
	}
	c.Upgrade(w, r, Accept{Subprotocol: proto, Protocol: protocol, Adapter: a, Identity: id, Compression: c.cfg.Compression, Ticket: ticket})
}

// CheckHandshake validates r as a WebSocket opening handshake; when it is
// not one it answers 400 (426 for a wrong version) and returns false.
func (c *Core) CheckHandshake(w http.ResponseWriter, r *http.Request) bool {
	err := wsframe.CheckRequest(r)
	if err == nil {
		return true
	}
	c.m.rejected.Inc()
	if errors.Is(err, wsframe.ErrBadVersion) {
		w.Header().Set("Sec-WebSocket-Version", "13")
		http.Error(w, err.Error(), http.StatusUpgradeRequired)
		return false
	}
	http.Error(w, err.Error(), http.StatusBadRequest)
	return false
}

// Rejected counts a handshake an endpoint built on Upgrade refused.
func (c *Core) Rejected() { c.m.rejected.Inc() }

// Accept says how Upgrade serves a handshake.
type Accept struct {
	Subprotocol string // echoed in Sec-WebSocket-Protocol; "" for none
	Protocol    string // the session's Scope.Protocol
	Adapter     Adapter
	Identity    Identity
	Compression bool    // accept a permessage-deflate offer
	MaxMessage  int     // inbound message limit; 0 means the core's
	Ticket      *Ticket // the caller's Admit; nil: Upgrade admits the connection itself
}

// Upgrade completes the handshake of r, which the caller has vetted
// (CheckHandshake, origin, authentication, admission), and serves the
// connection as a session of a.Adapter. It fails, having answered with an
// HTTP error when it still could, if the connection cannot be taken over.
func (c *Core) Upgrade(w http.ResponseWriter, r *http.Request, a Accept) (err error) {
	ticket := a.Ticket
	if ticket == nil {
		if ticket, err = c.Admit(c.ClientAddr(r)); err != nil {
			c.m.rejected.Inc()
			RefuseHTTP(w, err)
			return err
		}
	}
	defer func() {
		if err != nil {
			ticket.Release()
		}
	}()
	scope := Scope{
		SessionID:  newID(),
		RemoteAddr: c.ClientAddr(r),
		Protocol:   a.Protocol,
		Transport:  "websocket",
		Identity:   a.Identity,
	}
	scope.SetHeader(r.Header)
	proto := a.Subprotocol

	ext, deflate := "", false
	if a.Compression {
		ext, deflate = wsframe.NegotiateDeflate(r.Header.Values("Sec-WebSocket-Extensions"))
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "websocket: connection cannot be taken over (HTTP/2?)", http.StatusHTTPVersionNotSupported)
		return errors.New("herald: connection cannot be hijacked")
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		c.log.Warn("hijack failed", "err", err)
		return err
	}
	var resp strings.Builder
	resp.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ")
	resp.WriteString(wsframe.AcceptKey(r.Header.Get("Sec-WebSocket-Key")))
	if proto != "" {
		resp.WriteString("\r\nSec-WebSocket-Protocol: " + proto)
	}
	if deflate {
		resp.WriteString("\r\nSec-WebSocket-Extensions: " + ext)
	}
	resp.WriteString("\r\n\r\n")
	if _, err := conn.Write([]byte(resp.String())); err != nil {
		conn.Close()
		return err
	}
	s := c.newSession(scope, true, deflate)
	s.ticket = ticket
	if a.MaxMessage > 0 {
		s.wsin.MaxMessage = a.MaxMessage
	}
	c.attach(s, a.Adapter, conn, brw.Reader)
	return nil
}

// ServeConn runs a raw byte-stream session (STOMP or MQTT over TCP) of
// adapter a on conn, which the core now owns.
func (c *Core) ServeConn(conn net.Conn, a Adapter, protocol string) {
	s := c.newSession(Scope{
		SessionID:  newID(),
		RemoteAddr: conn.RemoteAddr().String(),
		Protocol:   protocol,
		Transport:  "tcp",
	}, false, false)
	if !c.admitRaw(s) {
		conn.Close()
		return
	}
	c.attach(s, a, conn, nil)
}

func (c *Core) newSession(scope Scope, ws, deflate bool) *Session {
	s := &Session{core: c, Scope: scope, ws: ws, deflate: deflate, q: outq.New(c.cfg.Queue)}
	s.Scope.live = newLive(scope.Identity)
	s.box = c.workers.NewSerial(c.cfg.MaxInFlight)
	s.msgs = limit.NewBucket(c.cfg.Limits.MessageRate, c.cfg.Limits.MessageBurst, nil)
	s.lastRead.Store(uint32(c.now()))
	s.lastPing = uint32(c.now())
	if ws {
		s.wsin = &wsframe.Reader{MaxMessage: c.cfg.MaxMessage, Deflate: deflate}
	}
	return s
}

// bind completes a session once its transport exists: the protocol is
// opened, then the bytes the HTTP server read past the handshake are fed,
// all before the first event can arrive.
func (s *Session) bind(a Adapter, tr transport, early []byte) {
	s.tr = tr
	// Work Open pushes (joining a room) must see s.proto set.
	s.box.Hold()
	s.proto = a.Open(s)
	s.box.Release()
	if len(early) > 0 {
		s.OnRead(early)
	}
}

// attach starts serving s on conn. The session joins the registry only
// when fully bound, so Shutdown never sees a half-built one.
func (c *Core) attach(s *Session, a Adapter, conn net.Conn, br *bufio.Reader) {
	var early []byte
	if br != nil && br.Buffered() > 0 {
		early, _ = br.Peek(br.Buffered())
		early = slices.Clone(early)
	}
	if p, err := c.pollerOrErr(); err == nil && poll.Pollable(conn) {
		_, err := p.Add(conn, s, func(pc *poll.Conn) { s.bind(a, polled{pc}, early) })
		if err == nil {
			c.register(s)
			return
		}
		c.log.Warn("poller refused connection; serving it with goroutines", "err", err)
	}
	// The WaitGroup must not grow once Shutdown waits on it.
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		conn.Close()
		return
	}
	c.streamWG.Add(2)
	c.mu.Unlock()
	sc := &streamConn{c: conn, timeout: c.cfg.WriteTimeout}
	s.wake = make(chan struct{}, 1)
	s.bind(a, sc, nil)
	go func() {
		defer c.streamWG.Done()
		for range s.wake {
			s.Run()
		}
	}()
	go func() {
		defer c.streamWG.Done()
		if len(early) > 0 {
			s.OnRead(early)
		}
		sc.serve(s)
	}()
	c.register(s)
}

// register adds a bound session to the registry, or closes it when
// shutdown has begun meanwhile.
func (c *Core) register(s *Session) {
	if !c.add(s) && s.Open() {
		s.CloseWith(CloseGoingAway, "server shutting down")
	}
}

func (c *Core) connect(ctx context.Context, info *ConnectInfo) (Identity, error) {
	if c.cfg.Hooks.Connect == nil {
		return Identity{}, nil
	}
	return c.noteExpiry(c.cfg.Hooks.Connect(ctx, info))
}

// Connect runs the connect hook for protocols that authenticate after the
// transport is up (STOMP CONNECT, MQTT CONNECT).
func (c *Core) Connect(ctx context.Context, info *ConnectInfo) (Identity, error) {
	return c.connect(ctx, info)
}

// pickAdapter chooses the first offered subprotocol we speak, in the
// client's order of preference; no offer selects the "" adapter.
func (c *Core) pickAdapter(offered []string) (string, Adapter, bool) {
	if len(offered) == 0 {
		a, ok := c.adapters[""]
		return "", a, ok
	}
	for _, p := range offered {
		if a, ok := c.adapters[p]; ok && p != "" {
			// The adapter's own string, not the header's: the session
			// keeps it, and the header's backing memory should go.
			if i := slices.Index(a.Protocols(), p); i >= 0 {
				return a.Protocols()[i], a, true
			}
			return p, a, true
		}
	}
	return "", nil, false
}

func (c *Core) protocolNames() []string {
	var names []string
	for p := range c.adapters {
		if p != "" {
			names = append(names, p)
		}
	}
	slices.Sort(names)
	return names
}

// String describes a session for logs.
func (s *Session) String() string {
	return fmt.Sprintf("%s %s/%s %s", s.Scope.SessionID, s.Scope.Transport, s.Scope.Protocol, s.Scope.RemoteAddr)
}
