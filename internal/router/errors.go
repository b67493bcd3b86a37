package router

import "errors"

// Errors returned by the Router. Validation errors come from package topic
// (topic.ErrInvalidName, topic.ErrInvalidFilter) and are returned wrapped
// as they are, so callers can tell a client's mistake from a server state.
var (
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("router: closed")
	// ErrNilMessage is returned by Publish(nil).
	ErrNilMessage = errors.New("router: nil message")
	// ErrPublished is returned when a Message is published a second time:
	// a published message is shared by subscribers and history, so
	// stamping it again would race with their reads.
	ErrPublished = errors.New("router: message already published")
	// ErrNilSubscriber is returned by Subscribe(nil, ...).
	ErrNilSubscriber = errors.New("router: nil subscriber")
)
