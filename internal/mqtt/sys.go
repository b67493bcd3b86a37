package mqtt

import (
	"context"
	"strconv"
	"time"

	"github.com/heraldhq/herald/internal/message"
)

// publishSys publishes the broker statistics mosquitto users look for,
// as retained QoS 0 messages under $SYS/broker/, so that a new
// subscriber sees the latest values at once. Clients cannot publish
// under $SYS, and a filter starting with a wildcard does not match it.
func (a *Adapter) publishSys(now time.Time) {
	a.mu.Lock()
	total := len(a.sessions)
	a.mu.Unlock()
	connected := a.connected.Load()
	retained, _ := a.retained.Len()
	stats := []struct{ topic, value string }{
		{"$SYS/broker/version", "herald " + a.opts.Version},
		{"$SYS/broker/uptime", strconv.FormatInt(int64(now.Sub(a.started)/time.Second), 10) + " seconds"},
		{"$SYS/broker/clients/connected", strconv.FormatInt(connected, 10)},
		{"$SYS/broker/clients/disconnected", strconv.FormatInt(max(int64(total)-connected, 0), 10)},
		{"$SYS/broker/clients/total", strconv.Itoa(total)},
		{"$SYS/broker/messages/received", strconv.FormatUint(a.received.Load(), 10)},
		{"$SYS/broker/messages/sent", strconv.FormatUint(a.sent.Load(), 10)},
		{"$SYS/broker/publish/messages/dropped", strconv.FormatFloat(a.m.dropped.Value(), 'f', -1, 64)},
		{"$SYS/broker/subscriptions/count", strconv.FormatInt(a.subs.Load(), 10)},
		{"$SYS/broker/retained messages/count", strconv.Itoa(retained)},
	}
	for _, s := range stats {
		select {
		case <-a.stop:
			return
		default:
		}
		m := &message.Message{Topic: s.topic, Data: []byte(s.value), ContentType: "text/plain; charset=utf-8", Retain: true}
		setMeta(m, meta{qos: 0})
		if err := a.route(context.Background(), m, true); err != nil {
			return // shutting down
		}
	}
}
