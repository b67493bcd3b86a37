package native

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/router"
)

// AppendMessageParams appends the JSON object a client sees for a
// published message: {"topic","seq","epoch","data"[,"encoding"][,"headers"]}.
// It is the params of the JSON-RPC "message" notification and the data of
// an SSE message event, so every JSON transport shows a message alike.
func AppendMessageParams(b []byte, m *message.Message) []byte {
	b = append(b, `{"topic":`...)
	b = appendJSONString(b, m.Topic)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, m.Seq, 10)
	b = append(b, `,"epoch":`...)
	b = appendJSONString(b, m.Epoch)
	b = appendData(b, m)
	if len(m.Headers) > 0 {
		b = append(b, `,"headers":{`...)
		for i, h := range m.Headers {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, h.Key)
			b = append(b, ':')
			b = appendJSONString(b, h.Value)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// AppendMissedParams appends the JSON object of a "missed" notification:
// {"topic","epoch","from","to"[,"reset":true]}.
func AppendMissedParams(b []byte, g router.Gap) []byte {
	b = append(b, `{"topic":`...)
	b = appendJSONString(b, g.Topic)
	b = append(b, `,"epoch":`...)
	b = appendJSONString(b, g.Epoch)
	b = append(b, `,"from":`...)
	b = strconv.AppendUint(b, g.From, 10)
	b = append(b, `,"to":`...)
	b = strconv.AppendUint(b, g.To, 10)
	if g.Reset {
		b = append(b, `,"reset":true`...)
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string. Printable ASCII, the
// common case for topics and epochs, is copied as it is; anything else
// goes through encoding/json (Go's strconv quoting is not JSON).
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
