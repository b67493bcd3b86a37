package native

import (
	"context"
	"encoding/json"

	"github.com/heraldhq/herald/internal/core"
)

type refreshParams struct {
	Token string `json:"token"`
}

type refreshResult struct {
	Subject string   `json:"subject"`
	Expires int64    `json:"expires,omitempty"` // unix seconds; absent: never
	Revoked []string `json:"revoked,omitempty"` // subscriptions the new credentials no longer allow
}

// refresh replaces the connection's credentials in band:
//
//	{"method":"refresh","params":{"token":"<new JWT>"}}
//
// The server's authenticator checks the token as at connect time; on
// success its identity (permissions, expiry) applies from now on, every
// subscription is authorized again and those no longer allowed are
// dropped; the result is {"subject","expires","revoked"}. A refused token
// (-32001) leaves the current credentials in force until they expire.
func (c *rpcConn) refresh(params json.RawMessage) (any, error) {
	var p refreshParams
	if err := json.Unmarshal(params, &p); err != nil || p.Token == "" {
		return nil, invalid(`refresh needs {"token": string}`)
	}
	ctx, cancel := context.WithTimeout(c.s.Context(), c.s.Core().Config().RequestTimeout)
	defer cancel()
	id, err := c.s.Reauthenticate(ctx, p.Token)
	if err != nil {
		return nil, err
	}
	r := refreshResult{Subject: id.Subject}
	if !id.Expires.IsZero() {
		r.Expires = id.Expires.Unix()
	}
	for _, f := range c.s.Subscriptions() {
		if c.s.Core().Authorize(ctx, &c.s.Scope, core.ActionSubscribe, f) != nil {
			c.s.Unsubscribe(f)
			r.Revoked = append(r.Revoked, f)
		}
	}
	return r, nil
}
