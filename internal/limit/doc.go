// Package limit holds the small accounting pieces of Herald's admission
// and rate limits: a token bucket and a per-key counter. Both take their
// clock from the caller, so tests can drive time without sleeping.
package limit
