package broker

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// maxSubject bounds the subjects Subject produces. NATS servers refuse
// control lines longer than 4 KiB by default; a topic whose escaped form
// would exceed this goes on a hashed subject instead (the envelope always
// carries the topic itself, so nothing is lost).
const maxSubject = 1024

// ErrSubject is returned by Topic for a subject that Subject did not
// produce.
var ErrSubject = errors.New("broker: not a herald subject")

// Subject maps a valid topic name to the NATS subject it travels on:
// prefix + ".t." + one token per topic level. Each level is escaped so that
// the subject is always a literal (no wildcards), every token is non-empty
// and printable ASCII:
//
//   - bytes in [A-Za-z0-9_-] are kept as they are;
//   - every other byte (".", "*", ">", "$", "%", space, control bytes, the
//     bytes of non-ASCII UTF-8) becomes "%XX", two upper-case hex digits;
//   - an empty level becomes "%" alone (which escaping never produces).
//
// So "a.b/c d" is "prefix.t.a%2Eb.c%20d", "$SYS/x" is "prefix.t.%24SYS.x"
// and "a//b" is "prefix.t.a.%.b". A topic whose subject would be longer
// than 1 KiB is sent on prefix + ".h." + the hex SHA-256 of the topic.
// Topic inverts Subject for the ".t." form.
func Subject(prefix, topic string) string {
	var b strings.Builder
	b.Grow(len(prefix) + 3 + len(topic) + len(topic)/4)
	b.WriteString(prefix)
	b.WriteString(".t.")
	start := 0
	for i := 0; i <= len(topic); i++ {
		if i < len(topic) && topic[i] != '/' {
			continue
		}
		if start > 0 {
			b.WriteByte('.')
		}
		escapeLevel(&b, topic[start:i])
		start = i + 1
		if b.Len() > maxSubject {
			sum := sha256.Sum256([]byte(topic))
			return prefix + ".h." + hex.EncodeToString(sum[:])
		}
	}
	return b.String()
}

func escapeLevel(b *strings.Builder, level string) {
	if level == "" {
		b.WriteByte('%')
		return
	}
	const hexd = "0123456789ABCDEF"
	for i := 0; i < len(level); i++ {
		c := level[i]
		if plain(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexd[c>>4])
		b.WriteByte(hexd[c&15])
	}
}

func plain(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

// Topic returns the topic name that Subject(prefix, name) mapped to subject.
// A hashed subject (".h.") cannot be inverted and is an error, as is
// anything Subject would not have produced.
func Topic(prefix, subject string) (string, error) {
	rest, ok := strings.CutPrefix(subject, prefix+".t.")
	if !ok {
		return "", fmt.Errorf("%w: %q", ErrSubject, clip(subject))
	}
	var b strings.Builder
	b.Grow(len(rest))
	for i, tok := range strings.Split(rest, ".") {
		if i > 0 {
			b.WriteByte('/')
		}
		if tok == "%" {
			continue
		}
		if tok == "" {
			return "", fmt.Errorf("%w: empty token in %q", ErrSubject, clip(subject))
		}
		for j := 0; j < len(tok); j++ {
			c := tok[j]
			if plain(c) {
				b.WriteByte(c)
				continue
			}
			if c != '%' || j+2 >= len(tok) {
				return "", fmt.Errorf("%w: bad escape in %q", ErrSubject, clip(subject))
			}
			v, err := hex.DecodeString(tok[j+1 : j+3])
			if err != nil || plain(v[0]) || tok[j+1] >= 'a' || tok[j+2] >= 'a' {
				return "", fmt.Errorf("%w: bad escape in %q", ErrSubject, clip(subject))
			}
			b.WriteByte(v[0])
			j += 2
		}
	}
	return b.String(), nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
