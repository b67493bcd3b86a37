package emulate

// Expire implements core.Expirer for a stream, which only carries a
// session's messages: the session is what expires (its credentials may
// have been refreshed since the stream opened), and when it does the
// stream ends with the session's "close" event.
func (c *consumer) Expire() {}
