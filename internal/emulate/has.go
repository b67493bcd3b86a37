package emulate

// Has reports whether session id is held by this Manager (live, or ended
// with its log still readable): a cluster forwards the requests of a
// session it does not hold to the node that does.
func (m *Manager) Has(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.live[id]
	return ok
}
