// Package broker carries published messages between router instances
// (nodes). The router hands every publish to its Broker and fans out what
// the Broker delivers back, so the same code path serves a single process
// (Memory) and, later, a cluster (a NATS implementation).
//
// The interface is kept narrow on purpose: publish, receive everything,
// close. Topic filtering, history and sequencing stay in the router.
package broker

import (
	"context"
	"errors"

	"github.com/heraldhq/herald/internal/message"
)

// ErrClosed is returned by Publish on a closed Broker.
var ErrClosed = errors.New("broker: closed")

// Broker carries published messages between router instances.
type Broker interface {
	// Publish sends m to every subscriber of the broker, on this node and
	// others. m must not be modified afterwards. An error means m was not
	// delivered to anyone on this node.
	Publish(ctx context.Context, m *message.Message) error

	// Subscribe registers deliver to receive every message published
	// through this broker, including the ones published locally. deliver
	// must not block. cancel stops delivery to deliver for publishes that
	// start after it returns (one already in progress may still call
	// it). cancel may be called more than once.
	Subscribe(deliver func(*message.Message)) (cancel func())

	// Close releases the broker; later Publish calls fail with ErrClosed.
	Close() error
}
