package core

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ParseTrustedProxies reads CIDRs ("10.0.0.0/8") and single addresses
// ("127.0.0.1", taken as /32 or /128) of reverse proxies whose forwarding
// headers are believed.
func ParseTrustedProxies(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is not an address or CIDR", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// ClientAddr is the address of the client behind r, as host:port: the
// peer's address, unless the peer is a trusted proxy (Config.
// TrustedProxies), in which case the forwarding headers say who the
// client is. Every place that records a connection's remote address from
// an HTTP request (identity, logs, per-IP limits) must use it, so that
// behind a load balancer they all see the client and not the balancer,
// and nobody else can pretend to be someone else with a header.
func (c *Core) ClientAddr(r *http.Request) string {
	return ClientAddr(r, c.cfg.TrustedProxies)
}

// ClientAddr is Core.ClientAddr with the trusted proxies given.
//
// The forwarding chain is read right to left (the rightmost entry was
// added by the proxy closest to us): each hop that is itself a trusted
// proxy is skipped, and the first one that is not is the client. If every
// hop is trusted, the leftmost one is. Forwarded (RFC 7239) is preferred
// to X-Forwarded-For when both are present. A malformed entry ends the
// walk at the last good address: a header cannot make us trust more than
// the proxies we know. An address without a port gets port 0, so callers
// can always split host and port.
func ClientAddr(r *http.Request, trusted []netip.Prefix) string {
	if len(trusted) == 0 {
		return r.RemoteAddr
	}
	peer, ok := addrOf(r.RemoteAddr)
	if !ok || !isTrusted(peer, trusted) {
		return r.RemoteAddr
	}
	hops := forwardedFor(r.Header)
	client := r.RemoteAddr
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := addrOf(hops[i])
		if !ok {
			break
		}
		client = hostPort(hops[i], a)
		if !isTrusted(a, trusted) {
			break
		}
	}
	return client
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedFor returns the "for" hops of the Forwarded headers, or else
// of X-Forwarded-For, oldest first.
func forwardedFor(h http.Header) []string {
	var hops []string
	if fw := h.Values("Forwarded"); len(fw) > 0 {
		for _, v := range fw {
			for _, elem := range strings.Split(v, ",") {
				for _, pair := range strings.Split(elem, ";") {
					k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
					if ok && strings.EqualFold(k, "for") {
						hops = append(hops, strings.Trim(val, `"`))
					}
				}
			}
		}
		return hops
	}
	for _, v := range h.Values("X-Forwarded-For") {
		for _, hop := range strings.Split(v, ",") {
			hops = append(hops, strings.TrimSpace(hop))
		}
	}
	return hops
}

// addrOf parses "ip", "ip:port", "[v6]" or "[v6]:port".
func addrOf(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil && a.Zone() == "" {
		return a.Unmap(), true
	}
	return netip.Addr{}, false
}

// hostPort returns hop as host:port, with port 0 when hop has none.
func hostPort(hop string, a netip.Addr) string {
	if ap, err := netip.ParseAddrPort(hop); err == nil {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String()
	}
	return net.JoinHostPort(a.String(), "0")
}
