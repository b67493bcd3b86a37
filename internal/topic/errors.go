package topic

import "errors"

// Sentinel errors. Validation errors wrap one of these (test with
// errors.Is) so that protocol adapters can map "bad name" and "bad filter"
// to their own reply codes while the wrapped message says what was wrong.
var (
	// ErrInvalidName reports a topic name that cannot be published to.
	ErrInvalidName = errors.New("topic: invalid topic name")
	// ErrInvalidFilter reports a subscription filter that cannot be used.
	ErrInvalidFilter = errors.New("topic: invalid topic filter")
)
