package cluster

import (
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// RouteStats is the traffic between this node and one peer, summed over
// the NATS routes to it (NATS pools several per peer). The counts start
// again from zero when the routes are re-established.
type RouteStats struct {
	Peer     string        `json:"peer"` // the peer's node name
	Routes   int           `json:"routes"`
	InMsgs   int64         `json:"in_msgs"`
	OutMsgs  int64         `json:"out_msgs"`
	InBytes  int64         `json:"in_bytes"`
	OutBytes int64         `json:"out_bytes"`
	Pending  int           `json:"pending_bytes"` // queued for the peer, not yet written
	RTT      time.Duration `json:"rtt"`           // the longest of the routes' last round trips
}

// Routes reports the traffic with each peer the embedded server is
// routed to (none in external mode), keyed by peer name.
func (n *Node) Routes() map[string]RouteStats {
	if n.srv == nil {
		return nil
	}
	rz, err := n.srv.Routez(&server.RoutezOptions{})
	if err != nil {
		return nil
	}
	out := make(map[string]RouteStats, len(rz.Routes))
	for _, r := range rz.Routes {
		peer := r.RemoteName
		if peer == "" {
			peer = r.RemoteID
		}
		s := out[peer]
		s.Peer = peer
		s.Routes++
		s.InMsgs += r.InMsgs
		s.OutMsgs += r.OutMsgs
		s.InBytes += r.InBytes
		s.OutBytes += r.OutBytes
		s.Pending += r.Pending
		if rtt, err := time.ParseDuration(r.RTT); err == nil {
			s.RTT = max(s.RTT, rtt)
		}
		out[peer] = s
	}
	return out
}
