package auth

import (
	"fmt"
	"path"
	"strings"

	"github.com/heraldhq/herald/internal/topic"
)

// Permissions are what an identity may do. The zero value allows nothing;
// a nil *Permissions means "not restricted here" to its users.
type Permissions struct {
	Publish   []string // topic filters the identity may publish to
	Subscribe []string // topic filters whose every topic it may subscribe to
	Call      []string // RPC method globs (path.Match); "#" for all
}

// Validate reports the first pattern that cannot be a permission.
func (p *Permissions) Validate() error {
	for _, list := range [][]string{p.Publish, p.Subscribe} {
		for _, f := range list {
			if err := topic.ValidFilter(f); err != nil {
				return fmt.Errorf("auth: permission %q: %w", f, err)
			}
		}
	}
	for _, g := range p.Call {
		if _, err := path.Match(g, ""); err != nil {
			return fmt.Errorf("auth: method pattern %q: %w", g, err)
		}
	}
	return nil
}

// CanPublish reports whether one publish pattern matches name.
func (p *Permissions) CanPublish(name string) bool {
	for _, f := range p.Publish {
		if topic.Match(f, name) {
			return true
		}
	}
	return false
}

// CanSubscribe reports whether one subscribe pattern covers filter.
func (p *Permissions) CanSubscribe(filter string) bool {
	for _, f := range p.Subscribe {
		if Covers(f, filter) {
			return true
		}
	}
	return false
}

// CanCall reports whether one call pattern matches method.
func (p *Permissions) CanCall(method string) bool {
	for _, g := range p.Call {
		if g == "#" {
			return true
		}
		if ok, _ := path.Match(g, method); ok {
			return true
		}
	}
	return false
}

// Merge returns the union of p and q (either may be nil).
func Merge(p, q *Permissions) *Permissions {
	switch {
	case p == nil:
		return q
	case q == nil:
		return p
	}
	return &Permissions{
		Publish:   append(append([]string(nil), p.Publish...), q.Publish...),
		Subscribe: append(append([]string(nil), p.Subscribe...), q.Subscribe...),
		Call:      append(append([]string(nil), p.Call...), q.Call...),
	}
}

// Covers reports whether every topic filter f can match is also matched by
// pattern: the test a subscription must pass, since a client subscribed
// to f receives all of those topics. Both are assumed valid filters; an
// invalid one covers or is covered by nothing useful but never panics.
//
// Level by level: "#" in pattern covers the rest of f (including no more
// levels, as "a/#" matches "a"); "+" in pattern covers one level of f,
// literal or "+"; a literal covers only the same literal; "#" in f is
// covered only by "#". Names beginning with '$' are not matched by a
// leading wildcard (topic.Match), so a leading wildcard in pattern does
// not cover a leading "$..." level in f, and a leading wildcard in f is
// never a problem for that reason alone.
func Covers(pattern, f string) bool {
	first := true
	for {
		pl, prest, pmore := strings.Cut(pattern, "/")
		fl, frest, fmore := strings.Cut(f, "/")
		if first && (pl == "+" || pl == "#") && strings.HasPrefix(fl, "$") {
			return false
		}
		first = false
		switch {
		case pl == "#":
			return true
		case fl == "#":
			return false
		case pl == "+", pl == fl && fl != "+":
		default:
			return false
		}
		switch {
		case !pmore && !fmore:
			return true
		case !fmore:
			// f ends here; pattern continues: only a trailing "#" (zero
			// levels) still matches what f matches.
			return prest == "#"
		case !pmore:
			return false
		}
		pattern, f = prest, frest
	}
}
