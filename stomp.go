package herald

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime/debug"
	"time"

	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/queue"
	"github.com/heraldhq/herald/internal/stomp"
)

// STOMPOptions configure STOMP (1.0, 1.1 and 1.2), spoken over WebSocket
// (subprotocols v10.stomp, v11.stomp, v12.stomp, stomp) and by
// ServeSTOMP listeners. The zero value is ready: see docs/stomp.md.
type STOMPOptions struct {
	// HeartBeatSend is the shortest interval the server offers to send
	// heart-beats at; default 1s (the least it can keep), negative never.
	HeartBeatSend time.Duration
	// HeartBeatReceive is how often the server asks clients to send
	// heart-beats at most; default 10s, negative never. A client silent
	// for 1.5 times the agreed interval is disconnected.
	HeartBeatReceive time.Duration
	// ConnectTimeout is how long a new connection has to send CONNECT;
	// default 10s.
	ConnectTimeout time.Duration
	// RPCPrefix is where a SEND calls a handler registered with Handle:
	// a SEND to /rpc/status with a reply-to header calls "status" and
	// the result arrives there. Default "/rpc/".
	RPCPrefix string
	// MaxUnacked is the most messages a client-acknowledged subscription
	// holds unacknowledged; default 1000.
	MaxUnacked int
	// MaxHeaders and MaxHeaderSize bound a frame's headers (count, and
	// bytes of one header line); default 64 and 8 KiB. Bodies are bounded
	// by Options.MaxMessageSize.
	MaxHeaders    int
	MaxHeaderSize int
	// QueueBacklog is how many messages a /queue/ destination holds while
	// no consumer can take them; default 1000. QueueMemory bounds the
	// payload bytes all queues hold; default 64 MiB.
	QueueBacklog int
	QueueMemory  int
}

// ServeSTOMP accepts STOMP connections on ln (plain TCP, or TLS with a
// crypto/tls listener) until Shutdown; see ServeTCP.
func (s *Server) ServeSTOMP(ln net.Listener) error { return s.ServeTCP(ln, "stomp") }

// ErrQueueFull reports that a queue holds as many messages as it may.
var ErrQueueFull = errors.New("herald: queue full")

// SendToQueue puts data on the STOMP queue /queue/<name>: one of its
// consumers receives it, or the first to subscribe if none is there yet.
// Queues are not topics: Publish never reaches them, nor SendToQueue a
// topic's subscribers.
func (s *Server) SendToQueue(ctx context.Context, name string, data []byte, opts ...PublishOption) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if name == "" {
		return fmt.Errorf("herald: send to queue: empty name")
	}
	m := &message.Message{Topic: name, Data: data}
	for _, o := range opts {
		o(m)
	}
	m.Topic = name // a queue message's Topic is its queue's name
	if err := s.queues.SendContext(ctx, name, m); err != nil {
		if errors.Is(err, queue.ErrFull) || errors.Is(err, queue.ErrTooManyBytes) || errors.Is(err, queue.ErrTooMany) {
			err = fmt.Errorf("%w: %w", ErrQueueFull, err)
		}
		return fmt.Errorf("herald: send to queue %q: %w", name, err)
	}
	return s.opts.durable.wait(ctx) // with a DataDir: returns once durable
}

// registerSTOMP installs the STOMP adapter for WebSocket and for
// ServeSTOMP, both sharing one set of queues.
func (s *Server) registerSTOMP() {
	o := s.opts.STOMP
	s.queues = s.opts.durable.openQueues(s.clusterQueueOptions(queue.Options{Backlog: o.QueueBacklog, MaxBytes: o.QueueMemory}))
	a := stomp.New(stomp.Config{
		Server:           "Herald/" + moduleVersion(),
		HeartBeatSend:    o.HeartBeatSend,
		HeartBeatReceive: o.HeartBeatReceive,
		ConnectTimeout:   o.ConnectTimeout,
		RPCPrefix:        o.RPCPrefix,
		MaxUnacked:       o.MaxUnacked,
		Limits:           stomp.Limits{MaxHeaders: o.MaxHeaders, MaxHeaderSize: o.MaxHeaderSize},
		Queues:           s.queues,
		Metrics:          s.metrics,
	})
	s.core.Register(a)
	s.core.RegisterRaw("stomp", a)
}

// moduleVersion is Herald's version as the build recorded it: the
// module's version when Herald is a dependency or was installed at a
// version, "dev" otherwise.
func moduleVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	const path = "github.com/heraldhq/herald"
	v := ""
	if bi.Main.Path == path {
		v = bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == path {
			v = d.Version
		}
	}
	if v == "" || v == "(devel)" {
		return "dev"
	}
	return v
}
