package core

import (
	"time"

	"github.com/heraldhq/herald/internal/outq"
	"github.com/heraldhq/herald/internal/wsframe"
)

// Ticker is implemented by protocols that keep their own heart-beats
// (STOMP, MQTT keep-alive); the sweeper calls Tick about once a second.
type Ticker interface {
	Tick(now time.Time)
}

var pingFrame = wsframe.AppendFrame(nil, wsframe.OpPing, nil)

// sweep keeps the coarse clock and, once a second, pings quiet WebSocket
// sessions and ends those silent past the idle timeout. One goroutine
// serves every connection: no timer per idle connection.
func (c *Core) sweep() {
	defer c.sweepWG.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var idle, ping []*Session
	var tick []Ticker
	for {
		select {
		case <-c.ctx.Done():
			return
		case now := <-t.C:
			sec := now.Unix()
			c.clock.Store(sec)
			pingAfter := int64(c.cfg.PingInterval / time.Second)
			idleAfter := int64(c.cfg.IdleTimeout / time.Second)
			idle, ping, tick = idle[:0], ping[:0], tick[:0]
			c.mu.Lock()
			for s := range c.sessions {
				if tk, ok := s.proto.(Ticker); ok {
					tick = append(tick, tk)
				}
				if !s.ws || s.paused.Load() || s.peerClosed.Load() || s.virtual() {
					// Paused: we chose not to read, so silence means
					// nothing. Peer closed: no more input is due. The
					// protocol keeps its own timeouts for both. Virtual
					// (HTTP-emulated) sessions expire by their owner's
					// rule: no request for a while.
					continue
				}
				quiet := int64(uint32(sec) - s.lastRead.Load())
				switch {
				case quiet > idleAfter:
					idle = append(idle, s)
				case quiet >= pingAfter && int64(uint32(sec)-s.lastPing) >= pingAfter:
					s.lastPing = uint32(sec)
					ping = append(ping, s)
				}
			}
			c.mu.Unlock()
			for _, s := range idle {
				c.m.idleClosed.Inc()
				s.CloseWith(CloseGoingAway, "idle timeout")
			}
			for _, s := range ping {
				s.Send(outq.Item{Own: pingFrame})
			}
			for _, tk := range tick {
				tk.Tick(now)
			}
			c.expire(now)
			clear(idle)
			clear(ping)
			clear(tick)
		}
	}
}
