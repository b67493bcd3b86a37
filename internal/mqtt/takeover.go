package mqtt

// Kick closes the connection of client id cid, if one is connected here,
// as a session takeover (5.0: DISCONNECT 0x8E): in a cluster, the client
// connected to another node. A persistent session stays, offline; a clean
// one ends. It reports whether a connection was closed.
func (a *Adapter) Kick(cid string) bool {
	a.mu.Lock()
	old := a.sessions[cid]
	if old == nil {
		a.mu.Unlock()
		return false
	}
	old.mu.Lock()
	kick := old.conn
	if kick != nil {
		old.detachLocked()
	}
	clean := old.expiry == 0
	old.mu.Unlock()
	var ended *session
	if kick != nil && clean {
		a.retireLocked(old)
		ended = old
	}
	a.mu.Unlock()
	if kick == nil {
		return false
	}
	kick.takenOver()
	if ended != nil {
		a.cleanup(ended)
	}
	return true
}
