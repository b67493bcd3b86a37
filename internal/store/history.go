// Package store is the seam between the router and wherever recent messages
// are kept. History is what a reconnecting client resumes from: the router
// asks it for the messages after the client's last position and tells the
// client plainly about anything it no longer holds.
//
// MemoryHistory keeps messages in process memory; a file-backed History can
// later replace it without the router changing.
package store

import (
	"time"

	"github.com/heraldhq/herald/internal/message"
)

// History holds recent messages per topic, bounded by count and age.
//
// Implementations must be safe for concurrent use. The router calls Append
// and Since for one topic while holding that topic's lock, so an
// implementation needs no per-topic ordering of its own, but calls for
// different topics arrive concurrently.
//
// A History holds messages of one epoch per topic: appending a message whose
// Epoch differs from the held ones discards them (their sequence numbers
// would be meaningless next to the new epoch's).
type History interface {
	// Append records m. m.Topic, m.Seq, m.Epoch and m.Time are already
	// set, and Append is called in Seq order per topic. The History keeps
	// the pointer: m must not be modified afterwards.
	Append(m *message.Message)

	// Since calls fn, oldest first, for the held messages of topic with
	// Seq > after, and returns the oldest held Seq (0 if none is held), so
	// the caller can tell whether anything between after and the first
	// message it received is missing. fn may be nil (to ask only for the
	// oldest Seq); it must not call back into the History.
	Since(topic string, after uint64, fn func(*message.Message)) (oldest uint64)

	// Trim drops entries that have expired by now (age limit). It is
	// called periodically and must be cheap when nothing expires.
	Trim(now time.Time)

	// Drop forgets everything held for topic.
	Drop(topic string)
}
