package broker

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/store"
)

// maxStreamRead bounds the stream messages read for one topic's history
// (each may be a bundle of several messages).
const maxStreamRead = 1024

// History returns a store.History that is inner, plus the cluster's
// stream for what inner does not hold: when inner holds nothing of a
// topic (this node started after the topic's messages were published),
// Since reads the topic from the stream, keeps what it read in inner and
// answers from there. The router asks Since when it first meets a topic,
// so a node that (re)started takes up the topic's sequence and history
// where the cluster has them, and a client resuming there has no gap.
//
// Unsequenced, it returns inner.
func (b *NATS) History(inner store.History) store.History {
	if b.seq == nil {
		return inner
	}
	return &streamHistory{History: inner, b: b}
}

type streamHistory struct {
	store.History
	b *NATS
}

// Since implements store.History.
func (h *streamHistory) Since(topic string, after uint64, fn func(*message.Message)) uint64 {
	if oldest := h.History.Since(topic, after, fn); oldest != 0 {
		return oldest
	}
	msgs := h.b.readTopic(topic)
	if len(msgs) == 0 {
		return 0
	}
	now := time.Now()
	for _, m := range msgs {
		m.Time = now // the router's age limit counts from here
		h.History.Append(m)
	}
	return h.History.Since(topic, after, fn)
}

// readTopic returns the topic's messages held by the stream, oldest
// first, of its newest epoch, up to the one being delivered now (it and
// the later ones reach the router through the subscription: reading them
// too would deliver them twice); nil if there are none or the stream
// cannot be read now.
func (b *NATS) readTopic(topic string) []*message.Message {
	s := b.seq
	if !s.ready.Load() {
		return nil
	}
	subject := b.prefix + ".s." + strings.TrimPrefix(Subject(b.prefix, topic), b.prefix+".")
	var out []*message.Message
	next, bound := uint64(1), s.delivering.Load()
	for range maxStreamRead {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		raw, err := s.js.GetMsg(s.cfg.Name, next, nats.DirectGetNext(subject), nats.Context(ctx))
		cancel()
		if err != nil {
			if !errors.Is(err, nats.ErrMsgNotFound) {
				b.log.Warn("reading a topic's history from the cluster stream", "topic", topic, "err", err)
			}
			break
		}
		if bound != 0 && raw.Sequence >= bound {
			break
		}
		envs, err := decodeMessages(raw.Data)
		if err != nil {
			b.bad.Add(1)
		}
		for _, e := range envs {
			if e.m.Topic != topic || e.m.Seq == 0 {
				continue // a hashed subject shared by another topic cannot happen, but check
			}
			if len(out) > 0 && e.m.Epoch != out[len(out)-1].Epoch {
				out = out[:0] // a newer epoch: the older one means nothing now
			}
			e.m.Publisher = ""
			out = append(out, e.m)
		}
		next = raw.Sequence + 1
	}
	return out
}
