package emulate

import (
	"bytes"
	"encoding/json"

	"github.com/heraldhq/herald/internal/message"
)

var resultMarker = []byte(`"position":{`)

// resultPosition reads the position a subscribe result reports for an
// exact topic: where the subscription starts. Kept with the session, it
// lets a takeover resubscribe from there even if no message of the topic
// was delivered yet, so what was published meanwhile is replayed.
func resultPosition(b []byte) (string, message.Position, bool) {
	if !bytes.Contains(b, resultMarker) || !bytes.Contains(b, []byte(`"result"`)) {
		return "", message.Position{}, false
	}
	var r struct {
		Result struct {
			Topic    string    `json:"topic"`
			Position *position `json:"position"`
		} `json:"result"`
	}
	if json.Unmarshal(b, &r) != nil || r.Result.Topic == "" || r.Result.Position == nil {
		return "", message.Position{}, false
	}
	return r.Result.Topic, message.Position{Epoch: r.Result.Position.Epoch, Seq: r.Result.Position.Seq}, true
}

// laterIn reports whether pos already holds a later position of topic t
// in p's epoch.
func laterIn(pos map[string]message.Position, t string, p message.Position) bool {
	cur, ok := pos[t]
	return ok && cur.Epoch == p.Epoch && cur.Seq > p.Seq
}
