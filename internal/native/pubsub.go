package native

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/outq"
	resume "github.com/heraldhq/herald/internal/position"
	"github.com/heraldhq/herald/internal/router"
	"github.com/heraldhq/herald/internal/topic"
	"github.com/heraldhq/herald/internal/wsframe"
)

var errInvalidParams = errors.New("invalid params")

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errInvalidParams}, a...)...)
}

type position struct {
	Epoch string `json:"epoch"`
	Seq   uint64 `json:"seq"`
}

type subscribeParams struct {
	Topic string `json:"topic"`
	// Since is either one position (for an exact topic) or an object
	// mapping topic names to positions (for a wildcard filter).
	Since json.RawMessage `json:"since"`
}

func (c *rpcConn) subscribe(params json.RawMessage) (any, error) {
	var p subscribeParams
	if err := json.Unmarshal(params, &p); err != nil || p.Topic == "" {
		return nil, invalid(`subscribe needs {"topic": filter}`)
	}
	if err := topic.ValidFilter(p.Topic); err != nil {
		return nil, invalid("%v", err)
	}
	since, err := parseSince(p.Topic, p.Since)
	if err != nil {
		return nil, err
	}
	if err := c.s.Subscribe(c.s.Context(), p.Topic, since, c.replay); err != nil {
		return nil, err
	}
	res := map[string]any{"topic": p.Topic}
	if !topic.IsWildcard(p.Topic) {
		// Peek, not Position: an idle subscription must not create topic
		// state. The zero position (nothing seen) resumes correctly.
		pos, _ := c.s.Core().Router().Peek(p.Topic)
		res["position"] = position{pos.Epoch, pos.Seq}
	}
	return res, nil
}

func parseSince(filter string, raw json.RawMessage) (map[string]message.Position, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '"' {
		// A resume token: positions on any number of topics, the same
		// string SSE uses as its event id (internal/position).
		var tok string
		json.Unmarshal(raw, &tok)
		pos, err := resume.Decode(tok)
		if err != nil {
			return nil, invalid("since: %v", err)
		}
		return pos, nil
	}
	var one struct {
		Epoch *string `json:"epoch"`
		Seq   *uint64 `json:"seq"`
	}
	if json.Unmarshal(raw, &one) == nil && one.Seq != nil {
		if topic.IsWildcard(filter) {
			return nil, invalid("since for a wildcard filter maps topic names to positions")
		}
		epoch := ""
		if one.Epoch != nil {
			epoch = *one.Epoch
		}
		return map[string]message.Position{filter: {Epoch: epoch, Seq: *one.Seq}}, nil
	}
	var many map[string]position
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, invalid(`since must be {"epoch","seq"} or {topic: {"epoch","seq"}}`)
	}
	out := make(map[string]message.Position, len(many))
	for t, p := range many {
		out[t] = message.Position{Epoch: p.Epoch, Seq: p.Seq}
	}
	return out, nil
}

// replay runs under the router's lock: queue the gaps, then the held
// messages, before any live message.
func (c *rpcConn) replay(gaps []router.Gap, msgs []*message.Message) {
	for _, g := range gaps {
		params := map[string]any{"topic": g.Topic, "epoch": g.Epoch, "from": g.From, "to": g.To}
		if g.Reset {
			params["reset"] = true // the client's epoch is gone: restart from the current one
		}
		b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": "missed", "params": params})
		c.s.Send(outq.Item{Own: c.s.AppendFrame(nil, wsframe.OpText, b)})
	}
	for _, m := range msgs {
		c.Deliver(m)
	}
}

func (c *rpcConn) unsubscribe(params json.RawMessage) (any, error) {
	var p struct {
		Topic string `json:"topic"`
	}
	if err := json.Unmarshal(params, &p); err != nil || p.Topic == "" {
		return nil, invalid(`unsubscribe needs {"topic": filter}`)
	}
	return c.s.Unsubscribe(p.Topic), nil
}

type publishParams struct {
	Topic    string            `json:"topic"`
	Data     json.RawMessage   `json:"data"`
	Encoding string            `json:"encoding"` // "base64" for binary data
	Headers  map[string]string `json:"headers"`
}

func (c *rpcConn) publish(params json.RawMessage) (any, error) {
	var p publishParams
	if err := json.Unmarshal(params, &p); err != nil || p.Topic == "" {
		return nil, invalid(`publish needs {"topic": name, "data": value}`)
	}
	if err := topic.ValidName(p.Topic); err != nil {
		return nil, invalid("%v", err)
	}
	m := &message.Message{Topic: p.Topic}
	if err := DecodeData(m, p.Data, p.Encoding); err != nil {
		return nil, err
	}
	for k, v := range p.Headers {
		m.Headers = append(m.Headers, message.Header{Key: k, Value: v})
	}
	if err := c.s.Core().Publish(c.s.Context(), c.s, m); err != nil {
		return nil, err
	}
	return position{m.Epoch, m.Seq}, nil
}

// ErrBadBase64 reports data declared base64 that is not.
var ErrBadBase64 = errors.New("data is not valid base64")

// DecodeData maps a JSON value to message bytes so every protocol sees
// the same payload: a JSON string becomes its text, base64 becomes its
// bytes, anything else stays JSON. The publish method and the HTTP
// publish API (internal/pubapi) share it.
func DecodeData(m *message.Message, data json.RawMessage, encoding string) error {
	switch {
	case len(data) == 0:
		m.ContentType = "application/json"
		m.Data = []byte("null")
	case data[0] == '"':
		var s string
		json.Unmarshal(data, &s)
		if encoding == "base64" {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return fmt.Errorf("%w: %w", errInvalidParams, ErrBadBase64)
			}
			m.ContentType = "application/octet-stream"
			m.Data = b
			return nil
		}
		m.ContentType = "text/plain; charset=utf-8"
		m.Data = []byte(s)
	default:
		m.ContentType = "application/json"
		m.Data = data
	}
	return nil
}

// Deliver implements core.Deliverer: the notification is encoded once per
// message (and once more compressed) and shared by every subscriber.
func (c *rpcConn) Deliver(m *message.Message) {
	key, enc := "jsonrpc/ws", encodeNotification
	if !c.s.WebSocket() {
		key, enc = "jsonrpc/raw", encodeNotificationRaw
	} else if c.s.Deflate() && len(m.Data) >= compressMin {
		key, enc = "jsonrpc/ws+deflate", encodeNotificationDeflate
	}
	frame := m.Encoded(key, enc)
	if c.s.Send(outq.Item{Shared: frame, Key: m.Topic, Droppable: true}) {
		c.s.Core().Delivered(1)
	}
}

// compressMin is the payload size below which compression costs more
// than it saves.
const compressMin = 512

func notificationJSON(m *message.Message) []byte {
	b := make([]byte, 0, 96+len(m.Topic)+len(m.Data))
	b = append(b, `{"jsonrpc":"2.0","method":"message","params":`...)
	b = AppendMessageParams(b, m)
	return append(b, '}')
}

func appendData(b []byte, m *message.Message) []byte {
	isJSON := len(m.ContentType) >= 16 && m.ContentType[:16] == "application/json"
	switch {
	case isJSON && json.Valid(m.Data):
		b = append(b, `,"data":`...)
		return append(b, m.Data...)
	case utf8.Valid(m.Data):
		s, _ := json.Marshal(string(m.Data))
		b = append(b, `,"data":`...)
		return append(b, s...)
	}
	b = append(b, `,"encoding":"base64","data":"`...)
	b = base64.StdEncoding.AppendEncode(b, m.Data)
	return append(b, '"')
}

func encodeNotification(m *message.Message) []byte {
	body := notificationJSON(m)
	return wsframe.AppendFrame(make([]byte, 0, wsframe.HeaderLen(len(body))+len(body)), wsframe.OpText, body)
}

func encodeNotificationRaw(m *message.Message) []byte {
	return append(notificationJSON(m), '\n')
}

func encodeNotificationDeflate(m *message.Message) []byte {
	z := wsframe.Compress(nil, notificationJSON(m))
	b := wsframe.AppendHeader(make([]byte, 0, wsframe.HeaderLen(len(z))+len(z)), wsframe.OpText, true, true, len(z))
	return append(b, z...)
}
