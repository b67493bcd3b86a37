package herald

import (
	"context"
	"slices"
	"strings"
)

// prefixHandler serves every method starting with prefix.
type prefixHandler struct {
	prefix string
	h      HandlerFunc
}

// HandlePrefix registers h for every request whose method starts with
// prefix ("orders." serves "orders.create" and "orders.cancel"), for
// handlers that serve a family of methods, such as the standalone
// binary's RPC proxy to an HTTP backend. A method registered with Handle
// beats any prefix; among prefixes the longest wins. The handler learns
// the method from MethodFromContext. Registering a prefix again replaces
// its handler; a nil h removes it.
func (s *Server) HandlePrefix(prefix string, h HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prefixes = slices.DeleteFunc(s.prefixes, func(p prefixHandler) bool { return p.prefix == prefix })
	if h == nil {
		return
	}
	s.prefixes = append(s.prefixes, prefixHandler{prefix, h})
	slices.SortStableFunc(s.prefixes, func(a, b prefixHandler) int { return len(b.prefix) - len(a.prefix) })
}

// prefixLocked finds the handler of the longest registered prefix of
// method; the caller holds s.mu.
func (s *Server) prefixLocked(method string) HandlerFunc {
	for _, p := range s.prefixes {
		if strings.HasPrefix(method, p.prefix) {
			return p.h
		}
	}
	return nil
}

type methodKey struct{}

func withMethod(ctx context.Context, method string) context.Context {
	return context.WithValue(ctx, methodKey{}, method)
}

// MethodFromContext returns the method of the request a handler serves,
// whichever protocol carried it.
func MethodFromContext(ctx context.Context) (string, bool) {
	m, ok := ctx.Value(methodKey{}).(string)
	return m, ok
}
