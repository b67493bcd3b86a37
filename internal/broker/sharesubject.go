package broker

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// shareSubjects maps a valid MQTT topic filter to the stream subjects
// (prefix.s.…) that hold every message it can match, as few and as
// narrow as the escaping allows:
//
//   - each literal level is escaped as Subject escapes it, "+" becomes
//     "*" (one token; an empty level is the token "%");
//   - a trailing "#" becomes ">" and, for a filter "x/#", also "x" itself
//     (§4.7.1.2: "#" matches the parent level too);
//   - a filter without wildcards is one subject, Subject's, hashed form
//     included;
//   - a filter with wildcards also gets prefix.s.h.* (topics whose
//     subject is too long travel hashed, so no subject says what they
//     hold), and loses a candidate longer than Subject's limit, which
//     only hashed topics could match.
//
// The subjects over-approximate: "$" topics are escaped like any other
// level, so a filter starting with a wildcard also gets them, and hashed
// topics are anybody's. The consumer of a share group therefore matches
// each message's topic itself (topic.Match) and acknowledges, without
// delivering, what the filter does not match.
func shareSubjects(prefix, filter string) []string {
	stream := func(s string) string { return prefix + ".s." + strings.TrimPrefix(s, prefix+".") }
	if !strings.ContainsAny(filter, "+#") {
		return []string{stream(Subject(prefix, filter))}
	}
	var b strings.Builder
	b.WriteString(prefix)
	b.WriteString(".t.")
	var out []string
	add := func(s string) {
		if len(s) <= maxSubject {
			out = append(out, stream(s))
		}
	}
	for i, level := range strings.Split(filter, "/") {
		if i > 0 {
			b.WriteByte('.')
		}
		switch level {
		case "+":
			b.WriteByte('*')
		case "#": // the last level of a valid filter
			if i > 0 {
				add(strings.TrimSuffix(b.String(), "."))
			}
			b.WriteByte('>')
		default:
			escapeLevel(&b, level)
		}
	}
	add(b.String())
	return append(out, prefix+".s.h.*")
}

// shareConsumer is the name of the JetStream consumer that serves the
// share group key ("$share/name/filter") for the whole cluster: a hash,
// since a consumer name allows neither "." nor "*" nor ">" nor "/".
func shareConsumer(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "herald-share-" + hex.EncodeToString(sum[:16])
}
