package auth

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Errors of token verification; each wraps ErrInvalidToken.
var (
	ErrInvalidToken = errors.New("invalid token")
	ErrExpired      = fmt.Errorf("%w: expired", ErrInvalidToken)
	ErrUnknownKey   = fmt.Errorf("%w: no key for its kid", ErrInvalidToken)
)

// JWTConfig configures a Verifier.
type JWTConfig struct {
	// Algorithms accepted, among HS256, RS256 and ES256. Tokens signed
	// otherwise (including "none") are refused. Required.
	Algorithms  []string
	KeyFiles    []string          // PEM public keys (RS256, ES256); kid = base name
	SecretFiles []string          // HMAC secrets, ≥ 32 bytes (HS256); kid = base name
	JWKSFile    string            // a JWK set of RSA, EC P-256 and oct keys, by kid
	Secrets     map[string][]byte // HMAC secrets given directly, by kid
	Audience    string            // required "aud" member, if set
	Issuer      string            // required "iss", if set
	Leeway      time.Duration     // clock skew allowed on exp, nbf, iat; default 30s
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// Verifier checks JWTs against a set of keys that Reload re-reads.
type Verifier struct {
	cfg    JWTConfig
	parser *jwt.Parser

	mu   sync.RWMutex
	keys []key
}

var supported = []string{"HS256", "RS256", "ES256"}

// NewVerifier loads the keys of cfg.
func NewVerifier(cfg JWTConfig) (*Verifier, error) {
	if len(cfg.Algorithms) == 0 {
		return nil, errors.New("auth: no JWT algorithm configured")
	}
	for _, a := range cfg.Algorithms {
		if !slices.Contains(supported, a) {
			return nil, fmt.Errorf("auth: JWT algorithm %q is not supported (want %s)", a, strings.Join(supported, ", "))
		}
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(cfg.Algorithms),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(cfg.Now),
		jwt.WithIssuedAt(),
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	v := &Verifier{cfg: cfg, parser: jwt.NewParser(opts...)}
	if err := v.Reload(); err != nil {
		return nil, err
	}
	return v, nil
}

// Reload re-reads every key file. On error the keys in use are kept.
func (v *Verifier) Reload() error {
	var keys []key
	for kid, s := range v.cfg.Secrets {
		k := key{kid: kid, v: s}
		if err := checkKey(k); err != nil {
			return fmt.Errorf("auth: secret %q: %w", kid, err)
		}
		keys = append(keys, k)
	}
	for _, f := range v.cfg.SecretFiles {
		k, err := loadSecret(f)
		if err != nil {
			return fmt.Errorf("auth: %w", err)
		}
		keys = append(keys, k)
	}
	for _, f := range v.cfg.KeyFiles {
		ks, err := loadPEM(f)
		if err != nil {
			return fmt.Errorf("auth: %w", err)
		}
		keys = append(keys, ks...)
	}
	if v.cfg.JWKSFile != "" {
		ks, err := loadJWKS(v.cfg.JWKSFile)
		if err != nil {
			return fmt.Errorf("auth: %w", err)
		}
		keys = append(keys, ks...)
	}
	usable := 0
	for _, k := range keys {
		if v.allows(k.family()) {
			usable++
		}
	}
	if usable == 0 {
		return fmt.Errorf("auth: no key for the configured algorithms %s", strings.Join(v.cfg.Algorithms, ", "))
	}
	v.mu.Lock()
	v.keys = keys
	v.mu.Unlock()
	return nil
}

func (v *Verifier) allows(family string) bool {
	for _, a := range v.cfg.Algorithms {
		if strings.HasPrefix(a, family) {
			return true
		}
	}
	return false
}

// Verify checks token and returns its claims. A token with a kid is
// checked against that key only; one without is tried with each key of
// its algorithm's family.
func (v *Verifier) Verify(token string) (jwt.MapClaims, error) {
	var candidates []key
	claims := jwt.MapClaims{}
	_, err := v.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		alg, _ := t.Header["alg"].(string)
		family := alg[:min(2, len(alg))]
		kid, hasKid := t.Header["kid"].(string)
		v.mu.RLock()
		for _, k := range v.keys {
			if k.family() == family && (!hasKid || k.kid == kid) {
				candidates = append(candidates, k)
			}
		}
		v.mu.RUnlock()
		if len(candidates) == 0 {
			if hasKid {
				return nil, fmt.Errorf("%w %q", ErrUnknownKey, kid)
			}
			return nil, fmt.Errorf("%w: no %s key", ErrInvalidToken, alg)
		}
		set := jwt.VerificationKeySet{}
		for _, k := range candidates {
			set.Keys = append(set.Keys, k.v)
		}
		return set, nil
	})
	if err != nil {
		switch {
		case errors.Is(err, ErrInvalidToken):
			return nil, err
		case errors.Is(err, jwt.ErrTokenExpired):
			return nil, ErrExpired
		}
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return claims, nil
}
