package main

import (
	"fmt"
	"log/slog"
	"path"
	"slices"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/internal/topic"
)

// AuthConfig is the auth: section: built-in JWT authentication and
// role-based permissions (docs/security.md).
//
//	auth:
//	  jwt:
//	    algorithms: [RS256]
//	    jwks_file: /etc/herald/jwks.json
//	    audience: herald
//	    issuer: https://id.example.com
//	    cookie: herald_token
//	  anonymous: false
//	  default_role: user
//	  roles:
//	    user:  {subscribe: ["news/#"], publish: ["chat/+"], call: ["orders.*"]}
//	    admin: {subscribe: ["#"], publish: ["#"], call: ["#"]}
type AuthConfig struct {
	JWT JWTConfig `yaml:"jwt"`
	// Anonymous admits clients without a token; AnonymousRole restricts
	// them (without it they are unrestricted, like every client of a
	// server with no auth: section).
	Anonymous     bool                  `yaml:"anonymous"`
	AnonymousRole string                `yaml:"anonymous_role"`
	Roles         map[string]RoleConfig `yaml:"roles"`
	// DefaultRole applies to tokens with neither a "roles" nor a
	// "herald" claim; without it such tokens are unrestricted.
	DefaultRole string `yaml:"default_role"`
}

// JWTConfig is auth.jwt.
type JWTConfig struct {
	Algorithms  []string      `yaml:"algorithms"`
	KeyFiles    []string      `yaml:"key_files"`
	SecretFiles []string      `yaml:"secret_files"`
	JWKSFile    string        `yaml:"jwks_file"`
	Audience    string        `yaml:"audience"`
	Issuer      string        `yaml:"issuer"`
	Leeway      time.Duration `yaml:"leeway"`
	Cookie      string        `yaml:"cookie"`
}

// RoleConfig is one entry of auth.roles.
type RoleConfig struct {
	Publish   []string `yaml:"publish"`
	Subscribe []string `yaml:"subscribe"`
	Call      []string `yaml:"call"`
}

func (j *JWTConfig) enabled() bool {
	return len(j.Algorithms) > 0 || len(j.KeyFiles) > 0 || len(j.SecretFiles) > 0 || j.JWKSFile != ""
}

// authSettings are the auth keys; roles are YAML in a variable or flag.
var authSettings = []setting{
	yamlSetting("auth.roles", "roles named by tokens: {name: {publish: [...], subscribe: [...], call: [...]}}", func(c *Config) *map[string]RoleConfig { return &c.Auth.Roles }),
	listSetting("auth.jwt.algorithms", "LIST", "JWT algorithms accepted: HS256, RS256, ES256 (enables JWT authentication)", func(c *Config) *[]string { return &c.Auth.JWT.Algorithms }),
	listSetting("auth.jwt.key_files", "LIST", "PEM public key files (RS256, ES256); a key's kid is its file name without extension", func(c *Config) *[]string { return &c.Auth.JWT.KeyFiles }),
	listSetting("auth.jwt.secret_files", "LIST", "HS256 secret files, 32 bytes or more", func(c *Config) *[]string { return &c.Auth.JWT.SecretFiles }),
	stringSetting("auth.jwt.jwks_file", "FILE", "JSON Web Key Set file, keys chosen by kid; re-read on SIGHUP", func(c *Config) *string { return &c.Auth.JWT.JWKSFile }),
	stringSetting("auth.jwt.audience", "AUD", `required "aud" of tokens`, func(c *Config) *string { return &c.Auth.JWT.Audience }),
	stringSetting("auth.jwt.issuer", "ISS", `required "iss" of tokens`, func(c *Config) *string { return &c.Auth.JWT.Issuer }),
	durationSetting("auth.jwt.leeway", "30s", "clock skew allowed on exp, nbf and iat", func(c *Config) *time.Duration { return &c.Auth.JWT.Leeway }),
	stringSetting("auth.jwt.cookie", "NAME", "cookie that may carry the token (same-origin or explicitly allowed origins only)", func(c *Config) *string { return &c.Auth.JWT.Cookie }),
	boolSetting("auth.anonymous", "admit clients without a token (with auth.jwt)", func(c *Config) *bool { return &c.Auth.Anonymous }),
	stringSetting("auth.anonymous_role", "ROLE", "role restricting anonymous clients", func(c *Config) *string { return &c.Auth.AnonymousRole }),
	stringSetting("auth.default_role", "ROLE", "role of tokens that name none", func(c *Config) *string { return &c.Auth.DefaultRole }),
}

func init() { settings = append(settings, authSettings...) }

// validateAuth reports the auth: section's mistakes.
func (c *Config) validateAuth(bad func(key, format string, a ...any)) {
	a := &c.Auth
	if !a.JWT.enabled() {
		if a.Anonymous || a.AnonymousRole != "" || a.DefaultRole != "" || a.JWT.Cookie != "" || a.JWT.Audience != "" || a.JWT.Issuer != "" {
			bad("auth", "needs auth.jwt.algorithms and keys: without authentication every client is anonymous already")
		}
		if len(a.Roles) > 0 && c.Hooks.ConnectURL == "" {
			bad("auth.roles", "roles are named by tokens: configure auth.jwt")
		}
		return
	}
	if len(a.JWT.Algorithms) == 0 {
		bad("auth.jwt.algorithms", "list the algorithms to accept (HS256, RS256, ES256)")
	}
	for _, alg := range a.JWT.Algorithms {
		if !slices.Contains([]string{"HS256", "RS256", "ES256"}, alg) {
			bad("auth.jwt.algorithms", "%q is not HS256, RS256 or ES256", alg)
		}
	}
	if len(a.JWT.KeyFiles) == 0 && len(a.JWT.SecretFiles) == 0 && a.JWT.JWKSFile == "" {
		bad("auth.jwt", "needs key_files, secret_files or jwks_file")
	}
	if a.JWT.Leeway < 0 {
		bad("auth.jwt.leeway", "%v is negative", a.JWT.Leeway)
	}
	if c.Hooks.ConnectURL != "" {
		bad("hooks.connect_url", "cannot be combined with auth.jwt: choose one authenticator")
	}
	for name, r := range a.Roles {
		for _, f := range slices.Concat(r.Publish, r.Subscribe) {
			if err := topic.ValidFilter(f); err != nil {
				bad("auth.roles."+name, "%q: %v", f, err)
			}
		}
		for _, g := range r.Call {
			if _, err := path.Match(g, ""); err != nil {
				bad("auth.roles."+name+".call", "%q is not a valid pattern", g)
			}
		}
	}
	for key, role := range map[string]string{"auth.default_role": a.DefaultRole, "auth.anonymous_role": a.AnonymousRole} {
		if _, ok := a.Roles[role]; role != "" && !ok {
			bad(key, "%q is not defined under auth.roles", role)
		}
	}
	if a.AnonymousRole != "" && !a.Anonymous {
		bad("auth.anonymous_role", "needs auth.anonymous: true")
	}
}

// applyAuth installs the JWT authenticator, if configured, in opts and
// returns its key reload (nil without one).
func applyAuth(c *Config, opts *herald.Options, logger *slog.Logger) (reload func() error, err error) {
	a := &c.Auth
	if !a.JWT.enabled() {
		return nil, nil
	}
	if a.JWT.Audience == "" {
		// A token your identity provider issued for another service
		// would be accepted here too.
		logger.Warn("auth.jwt.audience is not set: tokens issued for any audience are accepted")
	}
	roles := make(map[string]herald.Permissions, len(a.Roles))
	for name, r := range a.Roles {
		roles[name] = herald.Permissions{Publish: r.Publish, Subscribe: r.Subscribe, Call: r.Call}
	}
	j, err := herald.NewJWTAuthenticator(herald.JWTOptions{
		Algorithms: a.JWT.Algorithms, KeyFiles: a.JWT.KeyFiles, SecretFiles: a.JWT.SecretFiles,
		JWKSFile: a.JWT.JWKSFile, Audience: a.JWT.Audience, Issuer: a.JWT.Issuer, Leeway: a.JWT.Leeway,
		Cookie: a.JWT.Cookie, Roles: roles, DefaultRole: a.DefaultRole,
	})
	if err != nil {
		return nil, err
	}
	opts.Authenticator = j
	opts.Anonymous = a.Anonymous
	if r, ok := roles[a.AnonymousRole]; ok && a.AnonymousRole != "" {
		opts.AnonymousPermissions = &r
	}
	return j.Reload, nil
}

// reloadJWTKeys is the authentication part of a SIGHUP: the key files
// are read again; a failure keeps the keys in use.
func reloadJWTKeys(reload func() error, logger *slog.Logger) {
	if reload == nil {
		return
	}
	if err := reload(); err != nil {
		logger.Error("SIGHUP: JWT keys not reloaded; the keys in use are kept", "err", err)
		return
	}
	logger.Info("SIGHUP: JWT keys reloaded")
}

// describeAuth is the startup log's word on authentication.
func describeAuth(c *Config) string {
	switch {
	case c.Auth.JWT.enabled() && c.Auth.Anonymous:
		return fmt.Sprintf("jwt (%v), anonymous allowed", c.Auth.JWT.Algorithms)
	case c.Auth.JWT.enabled():
		return fmt.Sprintf("jwt (%v)", c.Auth.JWT.Algorithms)
	case c.Hooks.ConnectURL != "":
		return "connect hook"
	}
	return "none: every client is anonymous"
}
