package broker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// A relay carries one long-lived answer (an HTTP stream) from the node
// that holds a key to the node a client asked: parts in order, each
// numbered so that a lost one is noticed, pings both ways so that each
// side learns when the other is gone, and an end. It is core NATS, best
// effort: a relay that breaks ends, and the client reconnects and resumes
// (a stream's positions mean the same on every node).

// Relay timing: each side pings every relayPing and gives up on a peer
// silent for relayTimeout.
const (
	relayPing    = 5 * time.Second
	relayTimeout = 3 * relayPing
	// relayBuffered is how many parts the asking node holds for a slow
	// client; beyond it NATS drops parts and the relay breaks.
	relayBuffered = 1024
	// relayChunk bounds one part, well under NATS's payload limit.
	relayChunk = 256 << 10
)

const (
	hdrRelaySeq  = "Herald-Relay-Seq"  // part number, from 0 (the hello)
	hdrRelayCtl  = "Herald-Relay-Ctl"  // the hello: where to send pings and stop
	hdrRelayKind = "Herald-Relay-Kind" // "ping" or "end"; absent on data
)

// ErrRelayBroken is returned by Relay.Next when a part was lost (the
// asking node fell behind) or the holding node went silent.
var ErrRelayBroken = errors.New("broker: relay broken")

// Relay is the asking node's end of a relay.
type Relay struct {
	nc   *nats.Conn
	sub  *nats.Subscription
	ch   chan *nats.Msg
	ctl  string
	next uint64
	// gone tells of this node's NATS connection closing (the node stops).
	gone chan nats.Status
	stop chan struct{}
	once sync.Once
}

// ForwardRelay finds the node that holds key for name (ErrNoOwner if
// none) and starts its relay for req. The caller reads parts with Next
// and must Close the relay.
func (b *NATS) ForwardRelay(ctx context.Context, name, key string, req []byte) (*Relay, error) {
	owner, err := b.owner(ctx, name, key)
	if err != nil {
		return nil, err
	}
	r := &Relay{nc: b.nc, ch: make(chan *nats.Msg, relayBuffered), stop: make(chan struct{})}
	inbox := b.nc.NewRespInbox()
	if r.sub, err = b.nc.ChanSubscribe(inbox, r.ch); err != nil {
		return nil, fmt.Errorf("broker: relay %s: %w", name, err)
	}
	msg := nats.NewMsg(b.prefix + ".rly." + name + "." + owner)
	msg.Reply, msg.Data = inbox, req
	if err := b.nc.PublishMsg(msg); err != nil {
		r.sub.Unsubscribe()
		return nil, fmt.Errorf("broker: relay %s: %w", name, err)
	}
	hctx, cancel := context.WithTimeout(ctx, ownerWait*4)
	defer cancel()
	hello, err := r.receive(hctx)
	if err == nil && hello.Header.Get(hdrRelayCtl) == "" {
		err = ErrRelayBroken
	}
	if err != nil {
		r.sub.Unsubscribe()
		return nil, fmt.Errorf("broker: relay %s: %w", name, err)
	}
	r.ctl = hello.Header.Get(hdrRelayCtl)
	r.gone = b.nc.StatusChanged(nats.CLOSED)
	go r.ping()
	return r, nil
}

// Next returns the next part of the answer: io.EOF after the last,
// ErrRelayBroken if the relay broke, or ctx's error.
func (r *Relay) Next(ctx context.Context) ([]byte, error) {
	for {
		m, err := r.receive(ctx)
		if err != nil {
			return nil, err
		}
		switch m.Header.Get(hdrRelayKind) {
		case "ping":
			continue
		case "end":
			return nil, io.EOF
		}
		return m.Data, nil
	}
}

// receive returns the next message in order: a gap, or silence for
// relayTimeout, breaks the relay.
func (r *Relay) receive(ctx context.Context) (*nats.Msg, error) {
	timer := time.NewTimer(relayTimeout)
	defer timer.Stop()
	select {
	case m := <-r.ch:
		if n, err := strconv.ParseUint(m.Header.Get(hdrRelaySeq), 10, 64); err != nil || n != r.next {
			return nil, ErrRelayBroken
		}
		r.next++
		return m, nil
	case <-timer.C:
		return nil, ErrRelayBroken
	case <-r.gone: // nil until the hello arrived
		return nil, ErrRelayBroken
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// ping tells the holding node, until Close, that this end is alive.
func (r *Relay) ping() {
	t := time.NewTicker(relayPing)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			_ = r.nc.Publish(r.ctl, []byte("ping"))
		case <-r.stop:
			_ = r.nc.Publish(r.ctl, []byte("stop"))
			return
		}
	}
}

// Close stops the relay and tells the holding node to stop serving it.
func (r *Relay) Close() {
	r.once.Do(func() {
		close(r.stop)
		_ = r.sub.Unsubscribe()
		r.nc.RemoveStatusListener(r.gone)
	})
}

// RelayOwners answers, for name, the other nodes' ForwardRelay requests
// sent to this node (found through Owners' has): serve runs in its own
// goroutine with a context that ends when the asking node stops or goes
// silent, and sends the answer's parts in order with send.
func (b *NATS) RelayOwners(name string, serve func(ctx context.Context, req []byte, send func([]byte) error)) error {
	if _, err := b.nc.Subscribe(b.prefix+".rly."+name+"."+b.origin, func(msg *nats.Msg) {
		if msg.Reply != "" {
			go b.serveRelay(msg, serve)
		}
	}); err != nil {
		return fmt.Errorf("broker: relay owners %s: %w", name, err)
	}
	return b.nc.Flush()
}

// serveRelay runs one relay on the holding node.
func (b *NATS) serveRelay(req *nats.Msg, serve func(ctx context.Context, req []byte, send func([]byte) error)) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctlCh := make(chan *nats.Msg, 16)
	ctl := b.nc.NewRespInbox()
	sub, err := b.nc.ChanSubscribe(ctl, ctlCh)
	if err != nil {
		return
	}
	defer sub.Unsubscribe()

	var mu sync.Mutex
	var seq uint64
	publish := func(data []byte, kind string) error {
		mu.Lock()
		defer mu.Unlock()
		m := nats.NewMsg(req.Reply)
		m.Header.Set(hdrRelaySeq, strconv.FormatUint(seq, 10))
		if kind != "" {
			m.Header.Set(hdrRelayKind, kind)
		}
		if seq == 0 {
			m.Header.Set(hdrRelayCtl, ctl)
		}
		m.Data = data
		if err := b.nc.PublishMsg(m); err != nil {
			return fmt.Errorf("broker: relay: %w", err)
		}
		seq++
		return nil
	}
	if publish(nil, "ping") != nil { // the hello
		return
	}
	go b.watchRelay(ctx, cancel, ctlCh, publish)
	serve(ctx, req.Data, func(p []byte) error {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		for len(p) > 0 {
			n := min(len(p), relayChunk)
			if err := publish(p[:n], ""); err != nil {
				return err
			}
			p = p[n:]
		}
		return nil
	})
	_ = publish(nil, "end")
}

// watchRelay pings the asking node and cancels the relay when it says
// stop or goes silent.
func (b *NATS) watchRelay(ctx context.Context, cancel context.CancelFunc, ctl <-chan *nats.Msg, publish func([]byte, string) error) {
	t := time.NewTicker(relayPing)
	defer t.Stop()
	heard := time.Now()
	for {
		select {
		case m := <-ctl:
			if string(m.Data) == "stop" {
				cancel()
				return
			}
			heard = time.Now()
		case now := <-t.C:
			if now.Sub(heard) > relayTimeout {
				cancel()
				return
			}
			_ = publish(nil, "ping")
		case <-ctx.Done():
			return
		}
	}
}
