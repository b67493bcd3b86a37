package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/metrics"
	"github.com/heraldhq/herald/internal/wsframe"
)

// Gateway serves the gateway routes of one core. Create one per server:
// it registers the gateway's metric families.
type Gateway struct {
	core *core.Core
	m    *gwMetrics
}

// New returns the gateway of c, with its metrics in reg.
func New(c *core.Core, reg *metrics.Registry) *Gateway {
	return &Gateway{core: c, m: newMetrics(reg)}
}

// Handler returns the WebSocket endpoint of r. Mount it at the route's
// path; every refusal is an HTTP status before the upgrade.
func (g *Gateway) Handler(r Route) (http.Handler, error) {
	if err := r.normalize(); err != nil {
		return nil, err
	}
	rt := &route{Route: r, gw: g, m: g.m.route(r.Name)}
	frames := g.core.Config().Queue.Messages
	if frames <= 0 {
		frames = 1024 // outq's default
	}
	rt.frameHW = max(frames/2, 1)
	return rt, nil
}

func (rt *route) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := rt.gw.core
	if !c.CheckHandshake(w, r) {
		rt.m.refused("handshake")
		return
	}
	origins := rt.AllowedOrigins
	if origins == nil {
		origins = c.Config().AllowedOrigins
	}
	if !core.OriginAllowed(r, origins) {
		rt.refuse(w, "origin", "origin "+r.Header.Get("Origin")+" is not allowed", http.StatusForbidden)
		return
	}
	r.Header = core.CredentialHeader(r, origins)
	sub, text, ok := rt.pick(wsframe.Subprotocols(r.Header))
	if !ok {
		rt.refuse(w, "subprotocol", "none of the offered subprotocols is supported; supported: "+strings.Join(rt.supported(), ", "), http.StatusBadRequest)
		return
	}
	if !rt.reserve() {
		w.Header().Set("Retry-After", "5")
		rt.refuse(w, "limit", "too many connections to this backend", http.StatusServiceUnavailable)
		return
	}
	var id core.Identity
	if rt.AuthRequired {
		var err error
		id, err = rt.authenticate(r)
		if err != nil {
			rt.release()
			status, reason := http.StatusForbidden, "forbidden"
			if errors.Is(err, core.ErrUnauthorized) {
				status, reason = http.StatusUnauthorized, "unauthorized"
			}
			rt.refuse(w, reason, err.Error(), status)
			return
		}
	}
	err := c.Upgrade(w, r, core.Accept{
		Subprotocol: sub,
		Protocol:    "gateway",
		Adapter:     adapter{rt: rt, text: text},
		Identity:    id,
		MaxMessage:  rt.MaxMessage,
	})
	if err != nil {
		rt.release()
	}
}

// authenticate runs the connect hook, which must exist and accept.
func (rt *route) authenticate(r *http.Request) (core.Identity, error) {
	c := rt.gw.core
	if c.Config().Hooks.Connect == nil {
		return core.Identity{}, fmt.Errorf("%w: authentication required", core.ErrUnauthorized)
	}
	return c.Connect(r.Context(), &core.ConnectInfo{
		RemoteAddr: c.ClientAddr(r), Header: r.Header, Protocol: "gateway", Transport: "websocket", Path: r.URL.Path, TLS: r.TLS,
	})
}

func (rt *route) refuse(w http.ResponseWriter, reason, msg string, status int) {
	rt.gw.core.Rejected()
	rt.m.refused(reason)
	http.Error(w, msg, status)
}

// adapter opens a splice per connection.
type adapter struct {
	rt   *route
	text bool
}

func (adapter) Protocols() []string { return nil }

func (a adapter) Open(s *core.Session) core.Protocol { return open(a.rt, s, a.text) }
