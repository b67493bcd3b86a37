package auth

import (
	"fmt"
	"strings"
	"time"
)

// ClaimName is the private claim that carries permissions in a token:
//
//	"herald": {"pub": ["chat/+"], "sub": ["chat/#"], "call": ["orders.*"]}
const ClaimName = "herald"

// Roles maps role names (the "roles" claim) to what they allow.
type Roles map[string]Permissions

// Grant is what a verified token allows: its "herald" claim, merged with
// the permissions of the roles its "roles" claim names (an array of
// strings or one space-separated string; unknown roles are ignored).
// When the token has neither, the default role applies; with no default
// role the result is nil: no restriction from the token.
func Grant(claims map[string]any, roles Roles, defaultRole string) (*Permissions, error) {
	var p *Permissions
	if raw, ok := claims[ClaimName]; ok {
		own, err := claimPermissions(raw)
		if err != nil {
			return nil, err
		}
		p = own
	}
	named := roleNames(claims["roles"])
	for _, r := range named {
		if rp, ok := roles[r]; ok {
			p = Merge(p, &rp)
		}
	}
	if p == nil && len(named) > 0 {
		p = &Permissions{} // only unknown roles: nothing
	}
	if p == nil && defaultRole != "" {
		rp, ok := roles[defaultRole]
		if !ok {
			return nil, fmt.Errorf("auth: default role %q is not defined", defaultRole)
		}
		p = &rp
	}
	return p, nil
}

func claimPermissions(raw any) (*Permissions, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: claim %q is not an object", ErrInvalidToken, ClaimName)
	}
	p := &Permissions{}
	for name, dst := range map[string]*[]string{"pub": &p.Publish, "sub": &p.Subscribe, "call": &p.Call} {
		v, ok := m[name]
		if !ok {
			continue
		}
		list, ok := stringList(v)
		if !ok {
			return nil, fmt.Errorf("%w: %s.%s is not a list of strings", ErrInvalidToken, ClaimName, name)
		}
		*dst = list
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return p, nil
}

func roleNames(v any) []string {
	if s, ok := v.(string); ok {
		return strings.Fields(s)
	}
	list, _ := stringList(v)
	return list
}

// stringList converts a decoded JSON array of strings.
func stringList(v any) ([]string, bool) {
	arr, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		s, ok := e.(string)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// Expiry is the token's "exp" as a time (the zero time when absent).
func Expiry(claims map[string]any) time.Time {
	switch e := claims["exp"].(type) {
	case float64:
		return time.Unix(int64(e), 0)
	}
	return time.Time{}
}
