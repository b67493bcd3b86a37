package mqtt

import (
	"strings"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/heraldhq/herald/internal/core"
	"github.com/heraldhq/herald/internal/message"
	"github.com/heraldhq/herald/internal/topic"
)

const sharePrefix = "$share/"

// parseShare splits "$share/{ShareName}/{filter}" [MQTT-4.8.2-1]
// [MQTT-4.8.2-2]; ok is false for a malformed one.
func parseShare(f string) (group, filter string, shared, ok bool) {
	rest, found := strings.CutPrefix(f, sharePrefix)
	if !found {
		return "", f, false, true
	}
	group, filter, found = strings.Cut(rest, "/")
	if !found || group == "" || filter == "" || strings.ContainsAny(group, "+#") {
		return "", "", true, false
	}
	return group, filter, true, true
}

// onSubscribe answers SUBSCRIBE with a SUBACK holding a reason code per
// filter [MQTT-3.8.4-1] [MQTT-3.8.4-6]; refused filters (invalid,
// unauthorized) get a failure code, the others are subscribed.
func (c *conn) onSubscribe(pk *packets.Packet) {
	v5 := c.ver == 5
	if len(pk.Filters) == 0 {
		c.fail(protocolError("SUBSCRIBE without a topic filter")) // 5.0 [MQTT-3.8.3-2], 3.1.1 [MQTT-3.8.3-3]
		return
	}
	subID := 0
	if v5 {
		ids := pk.Properties.SubscriptionIdentifier
		if len(ids) > 1 || len(ids) == 1 && (ids[0] == 0 || ids[0] > 268_435_455) {
			c.fail(protocolError("subscription identifier")) // 0 or more than one: §3.8.2.1.2
			return
		}
		if len(ids) == 1 {
			subID = ids[0]
		}
	}
	codes := make([]byte, len(pk.Filters))
	subs := make([]*subscription, len(pk.Filters))
	for i, f := range pk.Filters {
		group, filter, shared, ok := parseShare(f.Filter)
		if ok && topic.ValidFilter(filter) != nil {
			ok = false
		}
		if !ok {
			codes[i] = failure(v5, codeTopicFilterInvalid)
			continue
		}
		if shared && f.NoLocal {
			c.fail(protocolError("No Local on a shared subscription")) // [MQTT-3.8.3-4]
			return
		}
		if err := c.s.Core().Authorize(c.s.Context(), &c.s.Scope, core.ActionSubscribe, filter); err != nil {
			codes[i] = failure(v5, codeNotAuthorized)
			continue
		}
		sub := &subscription{filter: filter, qos: min(f.Qos, 2), id: subID}
		if v5 {
			sub.noLocal, sub.rap, sub.handling = f.NoLocal, f.RetainAsPublished, f.RetainHandling
		}
		if shared {
			sub.share = sharePrefix + group + "/" + filter
		}
		codes[i] = sub.qos
		subs[i] = sub
	}
	c.sess.subscribe(c, pk.PacketID, subs, codes)
}

// failure is the refusal code of one SUBACK entry: the 5.0 reason code,
// or 3.1.1's only failure code 0x80.
func failure(v5 bool, code byte) byte {
	if v5 {
		return code
	}
	return code3SubackFailure
}

// subscribe adds subs (nil entries were refused) and answers with codes.
// Publications for the session are held while the subscriptions are put
// in place, so that the SUBACK goes out first, then the retained
// messages, then anything published meanwhile, in order.
func (ss *session) subscribe(c *conn, pid uint16, subs []*subscription, codes []byte) {
	a := ss.a
	ss.mu.Lock()
	ss.holding = true
	ss.mu.Unlock()
	type retained struct {
		m   *message.Message
		sub *subscription
	}
	var snapshot []retained
	for i, sub := range subs {
		if sub == nil {
			continue
		}
		if ss.full(sub) {
			codes[i] = failure(c.ver == 5, codeQuotaExceeded)
			continue
		}
		if sub.share != "" {
			if !a.join(ss, sub) {
				codes[i] = failure(c.ver == 5, codeUnspecified)
			}
			continue // no retained messages for a shared subscription
		}
		existed, ok := ss.put(sub)
		if !ok {
			codes[i] = failure(c.ver == 5, codeUnspecified)
			continue
		}
		a.retMu.RLock()
		err := a.core.Router().Subscribe(ss, sub.filter, nil, nil)
		if err == nil && (sub.handling == 0 || sub.handling == 1 && !existed) { // [MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.8.4-4]
			a.retained.Match(sub.filter, func(m *message.Message) { snapshot = append(snapshot, retained{m, sub}) })
		}
		a.retMu.RUnlock()
		if err != nil {
			ss.drop(sub.filter)
			codes[i] = failure(c.ver == 5, codeUnspecified)
			continue
		}
		if !existed {
			a.subs.Add(1)
		}
		ss.mu.Lock()
		ended := ss.ended
		ss.mu.Unlock()
		if ended { // the session ended meanwhile: undo
			a.core.Router().Unsubscribe(ss, sub.filter)
		}
	}
	a.clusterSaveSync(ss) // in a cluster, SUBACK once the record has the subscriptions
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.kvLocked() != nil {
		ss.saveLocked(time.Time{})
		c.sendDurable(subackPacket(c.ver, pid, codes))
	} else {
		c.send(subackPacket(c.ver, pid, codes))
	}
	now := time.Now()
	for _, r := range snapshot {
		if md := metaOf(r.m); expired(r.m, md, now) {
			a.retained.Remove(r.m.Topic, r.m)
			continue
		}
		var ids []int
		if r.sub.id > 0 {
			ids = []int{r.sub.id}
		}
		// Sent because of a new subscription: RETAIN 1 [MQTT-3.3.1-8].
		ss.offerLocked(r.m, r.sub.qos, true, ids)
	}
	held := ss.held
	ss.held, ss.holding = nil, false
	for _, h := range held {
		if h.sub != nil {
			ss.deliverSharedLocked(h.m, h.sub)
		} else {
			ss.deliverLocked(h.m)
		}
	}
}

// put adds or replaces [MQTT-3.8.4-3] a non-shared subscription; existed
// reports a replacement, ok false an ended session.
func (ss *session) put(sub *subscription) (existed, ok bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.ended {
		return false, false
	}
	for i, s := range ss.subs {
		if s.filter == sub.filter {
			ss.subs[i] = sub
			return true, true
		}
	}
	ss.subs = append(ss.subs, sub)
	return false, true
}

// drop removes the non-shared subscription to filter; it reports whether
// there was one.
func (ss *session) drop(filter string) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for i, s := range ss.subs {
		if s.filter == filter {
			ss.subs = append(ss.subs[:i], ss.subs[i+1:]...)
			return true
		}
	}
	return false
}

// onUnsubscribe answers UNSUBSCRIBE with UNSUBACK [MQTT-3.10.4-4]; 5.0
// says per filter whether a subscription existed.
func (c *conn) onUnsubscribe(pk *packets.Packet) {
	if len(pk.Filters) == 0 {
		c.fail(protocolError("UNSUBSCRIBE without a topic filter")) // [MQTT-3.10.3-2]
		return
	}
	ss, a := c.sess, c.a
	codes := make([]byte, len(pk.Filters))
	for i, f := range pk.Filters {
		_, filter, shared, ok := parseShare(f.Filter)
		switch {
		case !ok || topic.ValidFilter(filter) != nil:
			codes[i] = codeTopicFilterInvalid
		case shared:
			if a.leave(ss, f.Filter) {
				a.subs.Add(-1)
			} else {
				codes[i] = codeNoSubscriptionExisted
			}
		case ss.drop(filter):
			a.core.Router().Unsubscribe(ss, filter)
			a.subs.Add(-1)
		default:
			codes[i] = codeNoSubscriptionExisted
		}
	}
	ss.mu.Lock()
	persistent := ss.kvLocked() != nil
	ss.saveLocked(time.Time{})
	ss.mu.Unlock()
	if persistent {
		c.sendDurable(unsubackPacket(c.ver, pk.PacketID, codes))
	} else {
		c.send(unsubackPacket(c.ver, pk.PacketID, codes))
	}
}
