package emulate

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/heraldhq/herald/internal/message"
)

// positionsOf finds, in a batch of outbound JSON-RPC messages, the last
// position of each topic: from "message" notifications (read from their
// fixed prefix, without parsing the payload) and "missed" ones (the
// client's place moves past a gap). The store keeps them, so that a node
// taking the session over knows where to resubscribe from.
func positionsOf(msgs [][]byte) map[string]message.Position {
	var out map[string]message.Position
	for _, b := range msgs {
		t, p, ok := messagePosition(b)
		if !ok {
			t, p, ok = missedPosition(b)
		}
		if !ok {
			if t, p, ok = resultPosition(b); ok && laterIn(out, t, p) {
				continue // a message delivered before the result was written
			}
		}
		if !ok {
			continue
		}
		if out == nil {
			out = make(map[string]message.Position)
		}
		out[t] = p
	}
	return out
}

var notePrefix = []byte(`{"jsonrpc":"2.0","method":"message","params":{"topic":`)

// messagePosition reads topic, seq and epoch from the head of a message
// notification as native.AppendMessageParams writes it.
func messagePosition(b []byte) (string, message.Position, bool) {
	rest, ok := bytes.CutPrefix(b, notePrefix)
	if !ok {
		return "", message.Position{}, false
	}
	t, rest, ok := jsonString(rest)
	if !ok {
		return "", message.Position{}, false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(`,"seq":`)); !ok {
		return "", message.Position{}, false
	}
	end := 0
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	seq, err := strconv.ParseUint(string(rest[:end]), 10, 64)
	if err != nil {
		return "", message.Position{}, false
	}
	if rest, ok = bytes.CutPrefix(rest[end:], []byte(`,"epoch":`)); !ok {
		return "", message.Position{}, false
	}
	epoch, _, ok := jsonString(rest)
	if !ok {
		return "", message.Position{}, false
	}
	return t, message.Position{Epoch: epoch, Seq: seq}, true
}

// jsonString reads the JSON string at the start of b.
func jsonString(b []byte) (string, []byte, bool) {
	if len(b) == 0 || b[0] != '"' {
		return "", nil, false
	}
	escaped := false
	for i := 1; i < len(b); i++ {
		switch {
		case escaped:
			escaped = false
		case b[i] == '\\':
			escaped = true
		case b[i] == '"':
			var s string
			if json.Unmarshal(b[:i+1], &s) != nil {
				return "", nil, false
			}
			return s, b[i+1:], true
		}
	}
	return "", nil, false
}

var missedMarker = []byte(`"method":"missed"`)

func missedPosition(b []byte) (string, message.Position, bool) {
	if !bytes.Contains(b, missedMarker) {
		return "", message.Position{}, false
	}
	var n struct {
		Method string `json:"method"`
		Params struct {
			Topic string `json:"topic"`
			Epoch string `json:"epoch"`
			To    uint64 `json:"to"`
		} `json:"params"`
	}
	if json.Unmarshal(b, &n) != nil || n.Method != "missed" || n.Params.Topic == "" {
		return "", message.Position{}, false
	}
	return n.Params.Topic, message.Position{Epoch: n.Params.Epoch, Seq: n.Params.To}, true
}
