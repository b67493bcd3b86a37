package store

import (
	"errors"
	"time"

	"github.com/heraldhq/herald/internal/message"
)

// Sessions keeps the state of emulated sessions (long polling and HTTP
// streaming): everything that must outlive one HTTP request, so that no
// request handler owns a session and, with a shared implementation, any
// node of a cluster can serve a session's next request.
//
// Per session it holds the outbound log (messages waiting for the
// client's acknowledgement, numbered from 1), the window of client
// message numbers already accepted (deduplication of retried POSTs), the
// subscriptions and per-topic positions (what a node taking the session
// over resubscribes from), the time of the client's last request, and
// whether the session has ended.
//
// Implementations are safe for concurrent use. Methods on an unknown id
// return ErrNoSession.
type Sessions interface {
	// Create records a new session whose log holds at most lim.
	Create(id string, lim LogLimits, now time.Time) error
	// Delete forgets the session.
	Delete(id string) error

	// Append adds messages to the log, in order, as far as its limits
	// allow, and returns how many it took; fewer than len(msgs) means the
	// log is full until the client acknowledges. The log keeps msgs as
	// they are: callers must not modify them afterwards.
	Append(id string, msgs [][]byte) (int, error)
	// Read returns up to max messages (and about maxBytes, at least one)
	// numbered after `after`, and the number of the first. It does not
	// acknowledge anything.
	Read(id string, after uint64, max, maxBytes int) (first uint64, msgs [][]byte, err error)
	// Ack drops the messages numbered up to upto and reports how many
	// were dropped. Acknowledging what was never sent is an error
	// (ErrAhead): the client is confused or malicious.
	Ack(id string, upto uint64) (int, error)
	// Wait returns a channel that is closed once the log holds a message
	// numbered after `after` or the session ends (closed at once if that
	// is already so).
	Wait(id string, after uint64) (<-chan struct{}, error)

	// Accept records the client's message number seq and reports whether
	// it is new. Numbers start at 1; each is accepted once. Numbers more
	// than DedupeWindow ahead of the lowest unseen one are refused with
	// ErrAhead.
	Accept(id string, seq uint64) (bool, error)

	// SetSubscriptions replaces the session's filters; SetPositions
	// records the last position delivered per topic (merged into what is
	// there).
	SetSubscriptions(id string, filters []string) error
	SetPositions(id string, pos map[string]message.Position) error

	// Touch records client activity at now.
	Touch(id string, now time.Time) error
	// End marks the session ended with a WebSocket-style close code and
	// reason; its log stays readable until Delete.
	End(id string, code uint16, reason string) error
	// Info returns a snapshot of the session.
	Info(id string) (SessionInfo, error)
}

// LogLimits bound one session's outbound log.
type LogLimits struct {
	Messages int // default 1024
	Bytes    int // default 4 MiB
}

// DedupeWindow is how far ahead of the lowest unseen client message
// number a POST may be: clients send one POST at a time, or a few.
const DedupeWindow = 64

// SessionInfo is a snapshot of one session's state.
type SessionInfo struct {
	Created, LastSeen time.Time
	Subscriptions     []string
	Positions         map[string]message.Position
	Next              uint64 // number the next appended message gets
	Acked             uint64 // every message up to here was acknowledged
	Pending, Bytes    int    // messages and bytes in the log
	Ended             bool
	Code              uint16
	Reason            string
}

// Errors of Sessions.
var (
	ErrNoSession     = errors.New("store: no such session")
	ErrSessionExists = errors.New("store: session exists")
	ErrAhead         = errors.New("store: number beyond what the session has seen")
)
