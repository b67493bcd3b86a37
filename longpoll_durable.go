package herald

import "github.com/heraldhq/herald/internal/store"

// sessionStore is the long-poll and streaming sessions' store: nil (the
// manager's memory store) without a data directory; with one, sessions
// survive a restart and a client continues its session (see
// docs/durability.md).
func (d *durableState) sessionStore() store.Sessions {
	if d == nil || d.sessions == nil {
		return nil
	}
	return d.sessions
}
