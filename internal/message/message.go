// Package message defines the unit that flows through Herald: one published
// payload with its topic, metadata and the routing facts (ID, sequence,
// epoch, time) that the router stamps on it.
//
// Every protocol adapter (JSON-RPC over WebSocket, SSE, STOMP, MQTT, Go code)
// consumes the same *Message, so a message published once is shared, not
// copied, by all of its subscribers. That sharing is why a Message must be
// treated as immutable once it has been published, and why it carries a
// cache of its encoded forms (see Encoded).
package message

import (
	"sync/atomic"
	"time"
)

// Header is one metadata entry (STOMP header, MQTT 5 user property, JSON
// meta). Headers are a slice rather than a map because the protocols that
// carry them are ordered and may repeat a key.
type Header struct{ Key, Value string }

// Message is one published payload.
//
// The publisher fills Topic, Data and optionally ContentType, Headers,
// Publisher and Retain; the router sets ID, Seq, Epoch and Time on publish.
// After Publish the message is shared by every subscriber and by the
// history, so nobody may modify it any more. A Message must not be copied by
// value (it holds an atomic pointer; go vet reports copies) because a copy
// would share the encoded cache while its fields could diverge.
type Message struct {
	Topic       string
	Data        []byte
	ContentType string   // "" = unknown bytes; "application/json"; "text/plain"...
	Headers     []Header // order kept
	Publisher   string   // session id of the publisher ("" for server-side); used for no-local
	Retain      bool     // reserved for MQTT

	// Set by the router on publish.
	ID    uint64    // node-unique, increasing
	Seq   uint64    // per-topic sequence, starts at 1 within an epoch
	Epoch string    // per-topic epoch: changes when the topic's sequence restarts
	Time  time.Time // publish time

	// Stream is the cluster stream's sequence of the stream message that
	// carried this one (0: not from a cluster stream). It orders every
	// topic's messages together, so an MQTT session can say how far it
	// got across topics (internal/mqtt cluster sessions).
	Stream uint64

	// enc caches encoded forms of the message; see Encoded.
	enc atomic.Pointer[encodings]
}

// Position is where a client stands in one topic's stream: the last Seq it
// saw, and the Epoch that Seq belongs to. A Seq alone is meaningless once
// the topic's sequence restarts, so the two always travel together.
//
// The zero Position means "seen nothing yet".
type Position struct {
	Epoch string
	Seq   uint64
}

// Position returns the stream position of m, meaningful once m has been
// published (the router sets Epoch and Seq).
func (m *Message) Position() Position {
	return Position{Epoch: m.Epoch, Seq: m.Seq}
}

// IsZero reports whether p is the zero Position (no epoch, no sequence).
func (p Position) IsZero() bool { return p.Epoch == "" && p.Seq == 0 }
