package message

// encoding is one cached encoded form of a message.
type encoding struct {
	key string
	b   []byte
}

// encodings is an immutable list of cached forms. It is replaced, never
// modified, so readers need no lock: they load the pointer and scan.
//
// A slice (not a map) because a message has only a handful of forms, one
// per protocol/transport that has a subscriber for it, and a linear scan of
// a few short strings beats hashing.
type encodings struct {
	list []encoding
}

// lookup returns the cached form under key.
func (e *encodings) lookup(key string) ([]byte, bool) {
	if e == nil {
		return nil, false
	}
	for i := range e.list {
		if e.list[i].key == key {
			return e.list[i].b, true
		}
	}
	return nil, false
}

// Encoded returns the encoding of m under key (e.g. "jsonrpc/ws"), calling
// enc to compute it only if no form under key is cached yet.
//
// Herald encodes once per protocol, not once per subscriber: fanning one
// message out to thousands of WebSocket clients must cost one JSON encoding,
// not thousands. The hit path is lock-free and allocation-free (an atomic
// load of an immutable list). On a miss the new form is added with a
// compare-and-swap; when goroutines race on the same key, enc may run more
// than once, but every caller gets a valid result and, once a form is
// published, all callers see that same slice.
//
// enc must be a pure function of m for a given key, must not call Encoded on
// m for the same key, and may return nil (which is cached too). The returned
// slice is shared: callers must never modify it.
func (m *Message) Encoded(key string, enc func(*Message) []byte) []byte {
	cur := m.enc.Load()
	if b, ok := cur.lookup(key); ok {
		return b
	}
	b := enc(m)
	for {
		var old []encoding
		if cur != nil {
			old = cur.list
		}
		next := &encodings{list: make([]encoding, len(old), len(old)+1)}
		copy(next.list, old)
		next.list = append(next.list, encoding{key: key, b: b})
		if m.enc.CompareAndSwap(cur, next) {
			return b
		}
		// Someone else added a form. If it is ours, use theirs so every
		// subscriber shares one slice; otherwise retry with what we have.
		cur = m.enc.Load()
		if won, ok := cur.lookup(key); ok {
			return won
		}
	}
}
