package stomp

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/heraldhq/herald/internal/topic"
)

// Destination prefixes.
const (
	topicPrefix     = "/topic/"
	queuePrefix     = "/queue/"
	tempQueuePrefix = "/temp-queue/"
)

type destKind uint8

const (
	destTopic     destKind = iota + 1
	destQueue              // point-to-point, internal/queue
	destTempQueue          // private to the session: RPC replies
	destRPC                // a request to a Go handler
)

// dest is a parsed destination header.
type dest struct {
	kind destKind
	name string // canonical topic or filter, queue name, temp queue name, or method
}

var errDestination = errors.New("unsupported destination")

// maxQueueName bounds queue and temp-queue names.
const maxQueueName = 1024

// parseDest reads a destination header. filter allows the wildcards of a
// SUBSCRIBE; rpcPrefix is the RPC prefix ("" for none).
func parseDest(d, rpcPrefix string, filter bool) (dest, error) {
	switch {
	case rpcPrefix != "" && strings.HasPrefix(d, rpcPrefix):
		method := d[len(rpcPrefix):]
		if method == "" {
			return dest{}, fmt.Errorf("%s names no method", d)
		}
		return dest{destRPC, method}, nil
	case strings.HasPrefix(d, topicPrefix):
		name, err := TopicFromSTOMP(d[len(topicPrefix):], filter)
		if err != nil {
			return dest{}, err
		}
		return dest{destTopic, name}, nil
	case strings.HasPrefix(d, queuePrefix), strings.HasPrefix(d, tempQueuePrefix):
		kind, name := destQueue, d[len(queuePrefix):]
		if strings.HasPrefix(d, tempQueuePrefix) {
			kind, name = destTempQueue, d[len(tempQueuePrefix):]
		}
		if name == "" || len(name) > maxQueueName || !utf8.ValidString(name) {
			return dest{}, fmt.Errorf("queue name must be 1 to %d bytes of UTF-8", maxQueueName)
		}
		return dest{kind, name}, nil
	}
	return dest{}, errDestination
}

// TopicFromSTOMP maps the part of a /topic/ destination after the prefix
// to a canonical topic name, or filter when filter is set. '.' and '/'
// both separate levels; in a filter a level "*" is "+" (one level) and a
// last level ">" is "#" (any depth), ActiveMQ's wildcards. Within a level
// "%2E" stands for '.', "%2A" and "%3E" for a level that is literally "*"
// or ">", and "%25" for '%' (TopicToSTOMP writes them), so every canonical
// name has a STOMP spelling; any other '%' is kept as it is.
func TopicFromSTOMP(s string, filter bool) (string, error) {
	var b strings.Builder
	b.Grow(len(s))
	for i, level := range splitLevels(s) {
		if i > 0 {
			b.WriteByte('/')
		}
		switch {
		case filter && level == "*":
			b.WriteByte('+')
		case filter && level == ">":
			b.WriteByte('#')
		case level == "*" || level == ">":
			return "", fmt.Errorf("wildcard level %q in a destination to send to (a literal %s is %s)", level, level, map[string]string{"*": "%2A", ">": "%3E"}[level])
		default:
			b.WriteString(unescapeLevel(level))
		}
	}
	name := b.String()
	check := topic.ValidName
	if filter {
		check = topic.ValidFilter
	}
	if err := check(name); err != nil {
		return "", err
	}
	return name, nil
}

// TopicToSTOMP is the /topic/ destination of a canonical topic name.
func TopicToSTOMP(name string) string {
	var b strings.Builder
	b.Grow(len(topicPrefix) + len(name) + 8)
	b.WriteString(topicPrefix)
	appendTopic(&b, name)
	return b.String()
}

func appendTopic(b *strings.Builder, name string) {
	for i, level := range strings.Split(name, "/") {
		if i > 0 {
			b.WriteByte('.')
		}
		switch level {
		case "*":
			b.WriteString("%2A")
			continue
		case ">":
			b.WriteString("%3E")
			continue
		}
		for j := 0; j < len(level); j++ {
			switch c := level[j]; c {
			case '.':
				b.WriteString("%2E")
			case '%':
				b.WriteString("%25")
			default:
				b.WriteByte(c)
			}
		}
	}
}

// splitLevels splits s at every '.' and '/', keeping empty levels.
func splitLevels(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '.' || s[i] == '/' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

var levelUnescaper = strings.NewReplacer("%2E", ".", "%2e", ".", "%2A", "*", "%2a", "*", "%3E", ">", "%3e", ">", "%25", "%")

func unescapeLevel(level string) string {
	if !strings.Contains(level, "%") {
		return level
	}
	return levelUnescaper.Replace(level)
}
