package broker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// ErrNoOwner is returned by Forward when no node answers for the key.
var ErrNoOwner = errors.New("broker: no node holds it")

// ownerWait bounds the search for the node that holds a key.
const ownerWait = 500 * time.Millisecond

// Owners answers, for name, the other nodes' Forward requests about the
// keys for which has reports true, by running handle (in its own
// goroutine: it may take long, like a held poll) and sending back what it
// returns.
func (b *NATS) Owners(name string, has func(key string) bool, handle func(req []byte) []byte) error {
	// Who holds a key? Only the holder answers.
	if _, err := b.nc.Subscribe(b.prefix+".own."+name, func(msg *nats.Msg) {
		if has(string(msg.Data)) {
			_ = msg.Respond([]byte(b.origin))
		}
	}); err != nil {
		return fmt.Errorf("broker: owners %s: %w", name, err)
	}
	// Requests sent to this node.
	if _, err := b.nc.Subscribe(b.prefix+".fwd."+name+"."+b.origin, func(msg *nats.Msg) {
		go func() { _ = msg.Respond(handle(msg.Data)) }()
	}); err != nil {
		return fmt.Errorf("broker: owners %s: %w", name, err)
	}
	return b.nc.Flush()
}

// Forward finds the node that holds key for name and returns its answer
// to req; ErrNoOwner if no node holds it. ctx bounds the whole exchange.
func (b *NATS) Forward(ctx context.Context, name, key string, req []byte) ([]byte, error) {
	owner, err := b.owner(ctx, name, key)
	if err != nil {
		return nil, err
	}
	resp, err := b.nc.RequestWithContext(ctx, b.prefix+".fwd."+name+"."+owner, req)
	if err != nil {
		return nil, fmt.Errorf("broker: forward %s: %w", name, err)
	}
	return resp.Data, nil
}

// owner returns the origin of the node that holds key for name, or
// ErrNoOwner.
func (b *NATS) owner(ctx context.Context, name, key string) (string, error) {
	octx, cancel := context.WithTimeout(ctx, ownerWait)
	defer cancel()
	msg, err := b.nc.RequestWithContext(octx, b.prefix+".own."+name, []byte(key))
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrNoResponders) || errors.Is(err, nats.ErrTimeout) {
			return "", ErrNoOwner
		}
		return "", fmt.Errorf("broker: forward %s: %w", name, err)
	}
	return string(msg.Data), nil
}
