package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
)

// key is one verification key: an HMAC secret ([]byte), an RSA or an
// ECDSA P-256 public key.
type key struct {
	kid string
	v   any
}

// family is the algorithm family a key may verify: a key is never used
// for another family, which is what stops HS/RS confusion (an RSA public
// key used as an HMAC secret).
func (k key) family() string {
	switch k.v.(type) {
	case []byte:
		return "HS"
	case *rsa.PublicKey:
		return "RS"
	case *ecdsa.PublicKey:
		return "ES"
	}
	return ""
}

// keyName is the kid a key from a file gets: the file's base name without
// its extension ("keys/2026-11.pem" is "2026-11").
func keyName(file string) string {
	b := filepath.Base(file)
	return strings.TrimSuffix(b, filepath.Ext(b))
}

// loadPEM reads the public keys of a PEM file: PUBLIC KEY, RSA PUBLIC
// KEY or CERTIFICATE blocks. Private keys are refused: Herald only
// verifies.
func loadPEM(file string) ([]key, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var keys []key
	for n := 0; ; n++ {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		var pub any
		switch blk.Type {
		case "PUBLIC KEY":
			pub, err = x509.ParsePKIXPublicKey(blk.Bytes)
		case "RSA PUBLIC KEY":
			pub, err = x509.ParsePKCS1PublicKey(blk.Bytes)
		case "CERTIFICATE":
			var c *x509.Certificate
			if c, err = x509.ParseCertificate(blk.Bytes); err == nil {
				pub = c.PublicKey
			}
		default:
			return nil, fmt.Errorf("%s: PEM block %q: want PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE", file, blk.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		k := key{kid: keyName(file), v: pub}
		if n > 0 {
			k.kid = fmt.Sprintf("%s.%d", k.kid, n)
		}
		if err := checkKey(k); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s: no PEM public key", file)
	}
	return keys, nil
}

// loadSecret reads an HMAC secret file; surrounding white space (a final
// newline) is not part of the secret.
func loadSecret(file string) (key, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return key{}, err
	}
	k := key{kid: keyName(file), v: []byte(strings.TrimSpace(string(b)))}
	if err := checkKey(k); err != nil {
		return key{}, fmt.Errorf("%s: %w", file, err)
	}
	return k, nil
}

// checkKey refuses keys too weak to trust.
func checkKey(k key) error {
	switch v := k.v.(type) {
	case []byte:
		if len(v) < 32 {
			return errors.New("HMAC secret shorter than 32 bytes")
		}
	case *rsa.PublicKey:
		if v.N.BitLen() < 2048 {
			return fmt.Errorf("RSA key of %d bits: want 2048 or more", v.N.BitLen())
		}
	case *ecdsa.PublicKey:
		if v.Curve != elliptic.P256() {
			return errors.New("ECDSA key not on P-256 (ES256)")
		}
	default:
		return fmt.Errorf("unsupported key type %T", k.v)
	}
	return nil
}

// jwk is the subset of RFC 7517 Herald reads.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	K   string `json:"k"`
}

// loadJWKS reads a JWKS file ({"keys":[...]}) of RSA, EC P-256 and oct
// keys. Keys for another use than "sig" are skipped.
func loadJWKS(file string) ([]key, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	keys, err := parseJWKS(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return keys, nil
}

// parseJWKS decodes a JWK set.
func parseJWKS(b []byte) ([]key, error) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("JWKS: %w", err)
	}
	var keys []key
	for i, j := range set.Keys {
		if j.Use != "" && j.Use != "sig" {
			continue
		}
		k, err := j.key()
		if err != nil {
			return nil, fmt.Errorf("JWKS key %d (kid %q): %w", i, j.Kid, err)
		}
		if err := checkKey(k); err != nil {
			return nil, fmt.Errorf("JWKS key %d (kid %q): %w", i, j.Kid, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("JWKS has no signing key")
	}
	return keys, nil
}

func (j jwk) key() (key, error) {
	b64 := func(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "=")) }
	switch j.Kty {
	case "RSA":
		n, err := b64(j.N)
		if err != nil {
			return key{}, fmt.Errorf("n: %w", err)
		}
		e, err := b64(j.E)
		if err != nil || len(e) == 0 || len(e) > 4 {
			return key{}, errors.New("e: not a small base64url integer")
		}
		ev := int(new(big.Int).SetBytes(e).Int64())
		return key{kid: j.Kid, v: &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: ev}}, nil
	case "EC":
		if j.Crv != "P-256" {
			return key{}, fmt.Errorf("curve %q: want P-256", j.Crv)
		}
		x, err1 := b64(j.X)
		y, err2 := b64(j.Y)
		if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
			return key{}, errors.New("x, y: want 32 base64url bytes each")
		}
		raw := append(append([]byte{4}, x...), y...)
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
		if err != nil {
			return key{}, err
		}
		return key{kid: j.Kid, v: pub}, nil
	case "oct":
		k, err := b64(j.K)
		if err != nil {
			return key{}, fmt.Errorf("k: %w", err)
		}
		return key{kid: j.Kid, v: k}, nil
	}
	return key{}, fmt.Errorf("key type %q: want RSA, EC or oct", j.Kty)
}
