package herald

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/heraldhq/herald/internal/auth"
)

// JWTOptions configure NewJWTAuthenticator.
type JWTOptions struct {
	// Algorithms accepted: any of "HS256", "RS256", "ES256". A token
	// naming another algorithm (including "none") is refused.
	Algorithms []string
	// KeyFiles are PEM files of public keys (PUBLIC KEY, RSA PUBLIC KEY
	// or CERTIFICATE blocks) for RS256 and ES256; a key's kid is its
	// file's base name without extension.
	KeyFiles []string
	// SecretFiles hold HS256 secrets (at least 32 bytes; surrounding
	// white space is trimmed); kid as for KeyFiles.
	SecretFiles []string
	// Secrets are HS256 secrets given directly, by kid.
	Secrets map[string][]byte
	// JWKSFile is a JSON Web Key Set of RSA, EC P-256 and oct keys,
	// chosen by the token's kid: publish a new key there, Reload, and
	// retire the old one later.
	JWKSFile string
	// Audience and Issuer, when set, must be the token's "aud" (or one
	// of them) and "iss".
	Audience string
	Issuer   string
	// Leeway tolerates clock skew on exp, nbf and iat; default 30s.
	Leeway time.Duration
	// Cookie names a cookie that may carry the token (browsers); empty:
	// tokens come only from the Authorization header, the access_token
	// parameter, the STOMP passcode or the MQTT password.
	Cookie string
	// Roles map names in a token's "roles" claim to permissions;
	// DefaultRole applies to tokens that name no role and carry no
	// "herald" claim. With neither, such tokens are not restricted.
	Roles       map[string]Permissions
	DefaultRole string
}

// JWTAuthenticator authenticates connections by JSON Web Token. The
// token's "sub" is the identity's Subject, its claims are the Claims,
// "exp" (required) is Expires, and its permissions come from the
// "herald" claim ({"pub":[...],"sub":[...],"call":[...]}) and the roles
// its "roles" claim names (see JWTOptions.Roles).
type JWTAuthenticator struct {
	v      *auth.Verifier
	cookie string
	roles  auth.Roles
	def    string
}

// NewJWTAuthenticator loads the keys of o.
func NewJWTAuthenticator(o JWTOptions) (*JWTAuthenticator, error) {
	roles := make(auth.Roles, len(o.Roles))
	for name, p := range o.Roles {
		ap := auth.Permissions(p)
		if err := ap.Validate(); err != nil {
			return nil, fmt.Errorf("herald: role %q: %w", name, err)
		}
		roles[name] = ap
	}
	if _, ok := roles[o.DefaultRole]; o.DefaultRole != "" && !ok {
		return nil, fmt.Errorf("herald: default role %q is not defined", o.DefaultRole)
	}
	v, err := auth.NewVerifier(auth.JWTConfig{
		Algorithms: o.Algorithms, KeyFiles: o.KeyFiles, SecretFiles: o.SecretFiles,
		JWKSFile: o.JWKSFile, Secrets: o.Secrets, Audience: o.Audience, Issuer: o.Issuer, Leeway: o.Leeway,
	})
	if err != nil {
		return nil, fmt.Errorf("herald: %w", err)
	}
	return &JWTAuthenticator{v: v, cookie: o.Cookie, roles: roles, def: o.DefaultRole}, nil
}

// Reload re-reads the key files (the binary calls it on SIGHUP). On
// error the keys in use are kept.
func (a *JWTAuthenticator) Reload() error { return a.v.Reload() }

// Authenticate implements Authenticator.
func (a *JWTAuthenticator) Authenticate(_ context.Context, r *ConnectRequest) (Identity, error) {
	tok := r.BearerToken(a.cookie)
	if tok == "" {
		return Identity{}, ErrNoCredentials
	}
	claims, err := a.v.Verify(tok)
	if err != nil {
		if errors.Is(err, auth.ErrExpired) {
			return Identity{}, fmt.Errorf("%w: token expired", ErrUnauthorized)
		}
		return Identity{}, fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	p, err := auth.Grant(claims, a.roles, a.def)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	sub, _ := claims["sub"].(string)
	id := Identity{Subject: sub, Claims: claims, Expires: auth.Expiry(claims)}
	if p != nil {
		hp := Permissions(*p)
		id.Permissions = &hp
	}
	return id, nil
}
