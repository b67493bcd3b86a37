package herald

import (
	"context"
	"errors"

	"github.com/heraldhq/herald/internal/broker"
	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/mqtt"
)

// clusterSessions gives the MQTT adapter the cluster's session store
// (MQTT persistent sessions that follow their client to any node), nil
// without JetStream: sessions then stay on their node.
func clusterSessions(br *broker.NATS) mqtt.ClusterSessions {
	s := br.Sessions()
	if s == nil {
		return nil
	}
	return mqttSessions{s}
}

// mqttSessions is broker.Sessions in the MQTT adapter's terms.
type mqttSessions struct{ s *broker.Sessions }

func (m mqttSessions) Owner() string { return m.s.Owner() }

func (m mqttSessions) Get(ctx context.Context, cid string) ([]byte, uint64, error) {
	rec, rev, err := m.s.Get(ctx, cid)
	if errors.Is(err, broker.ErrNoSession) {
		return nil, 0, nil
	}
	return rec, rev, err
}

func (m mqttSessions) Put(ctx context.Context, cid string, rec []byte, rev uint64) (uint64, error) {
	n, err := m.s.Put(ctx, cid, rec, rev)
	return n, moved(err)
}

func (m mqttSessions) Delete(ctx context.Context, cid string, rev uint64) error {
	return moved(m.s.Delete(ctx, cid, rev))
}

func (m mqttSessions) ServeRelease(fn func(cid string)) error { return m.s.ServeRelease(fn) }

func (m mqttSessions) Release(ctx context.Context, owner, cid string) bool {
	return m.s.Release(ctx, owner, cid)
}

func (m mqttSessions) Delivered() uint64 { return m.s.Delivered() }

func (m mqttSessions) Replay(ctx context.Context, after uint64, fn func(*message.Message)) (uint64, []string, error) {
	return m.s.Replay(ctx, after, fn)
}

func moved(err error) error {
	if errors.Is(err, broker.ErrSessionMoved) {
		return mqtt.ErrSessionMoved
	}
	return err
}
