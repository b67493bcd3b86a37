package herald

import (
	"github.com/heraldhq/herald/internal/broker"
	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/queue"
)

// clusterQueueOptions joins the STOMP queues o describes with the other
// nodes': in a cluster with JetStream the queues live in the cluster's
// queue stream (broker.JSQueues), so a message outlives the node that
// holds it; without JetStream nodes hand messages to each other
// (clusterQueues); a single node has neither.
func (s *Server) clusterQueueOptions(o queue.Options) queue.Options {
	if s.cluster == nil {
		return o
	}
	br := s.cluster.Broker()
	if br.Sequenced() {
		backlog, bytes := o.Backlog, o.MaxBytes
		if backlog <= 0 {
			backlog = 1000 // queue.Options' defaults
		}
		if bytes <= 0 {
			bytes = 64 << 20
		}
		js, err := br.JSQueues(broker.QueueStreamConfig{PerQueue: backlog, MaxBytes: int64(bytes)}, serverQueues{s})
		if err == nil { // it fails only for a broker without JetStream
			s.metrics.GaugeFunc("herald_cluster_queue_held", "STOMP queue messages this node took from the cluster's queue stream and its consumers have not settled.",
				func() float64 { return float64(js.Held()) })
			o.Shared = js
			return o
		}
	}
	o.Remote = s.clusterQueues()
	return o
}

// serverQueues is the server's side of the cluster's queue stream: its
// queues, made after the stream's handle they are given.
type serverQueues struct{ s *Server }

func (l serverQueues) Deliver(name string, m *message.Message, redelivered bool, r queue.Receipt) error {
	return l.s.queues.Deliver(name, m, redelivered, r)
}
func (l serverQueues) Room(name string) int { return l.s.queues.Room(name) }
func (l serverQueues) Release(name string)  { l.s.queues.Release(name) }
