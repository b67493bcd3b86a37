// Package auth holds Herald's built-in authentication and authorization:
// JWT verification (HS256, RS256, ES256 with keys from PEM files, secret
// files or a JWKS file, chosen by kid and re-read on Reload), extraction
// of a token from what a client presents (Authorization header,
// access_token query, cookie, STOMP passcode, MQTT password), and
// per-topic and per-method permissions with MQTT wildcards.
//
// # Permissions
//
// A Permissions value lists patterns for three actions: publish (topic
// names), subscribe (topic filters) and call (RPC method names). Topic
// patterns are MQTT filters ("orders/+/status", "chat/#"). A publication
// is allowed when one publish pattern matches its topic. A subscription is
// allowed only when one subscribe pattern covers the whole filter: every
// topic the filter can match must be matched by that pattern, so a grant
// of "a/+" does not allow subscribing to "a/#". Method patterns are
// path.Match globs ("orders.*"), and "#" allows every method.
package auth
