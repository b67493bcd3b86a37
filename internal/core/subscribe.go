package core

import (
	"context"
	"slices"

	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/router"
)

// Deliverer is implemented by protocols whose sessions receive
// publications.
type Deliverer interface {
	Deliver(m *message.Message)
}

// Deliver implements router.Subscriber.
func (s *Session) Deliver(m *message.Message) {
	if d, ok := s.proto.(Deliverer); ok && s.Open() {
		d.Deliver(m)
	}
}

// Subscribe authorizes and adds a subscription for the session; replay
// (see router.Subscribe) receives what history can give since the client's
// positions, before any live message.
func (s *Session) Subscribe(ctx context.Context, filter string, since map[string]message.Position, replay func([]router.Gap, []*message.Message)) error {
	if err := s.core.Authorize(ctx, &s.Scope, ActionSubscribe, filter); err != nil {
		return err
	}
	s.mu.Lock()
	dup := slices.Contains(s.subs, filter)
	full := !dup && s.core.MaxSubscriptions() > 0 && len(s.subs) >= s.core.MaxSubscriptions()
	s.mu.Unlock()
	if dup && since == nil {
		return nil
	}
	if full {
		s.core.SubscriptionLimited()
		return ErrTooManySubscriptions
	}
	if replay == nil {
		replay = func([]router.Gap, []*message.Message) {}
	}
	if err := s.core.router.Subscribe(s, filter, since, replay); err != nil {
		return err
	}
	s.mu.Lock()
	if s.ended {
		// end already took its snapshot: undo here.
		s.mu.Unlock()
		s.core.router.Unsubscribe(s, filter)
		return ErrClosed
	}
	if !dup {
		s.subs = append(s.subs, filter)
	}
	s.mu.Unlock()
	return nil
}

// Unsubscribe removes a subscription; it reports whether one existed.
func (s *Session) Unsubscribe(filter string) bool {
	s.mu.Lock()
	i := slices.Index(s.subs, filter)
	if i >= 0 {
		s.subs = slices.Delete(s.subs, i, i+1)
	}
	s.mu.Unlock()
	if i < 0 {
		return false
	}
	return s.core.router.Unsubscribe(s, filter)
}

// Subscriptions returns a copy of the session's filters.
func (s *Session) Subscriptions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.subs)
}
