package mqtt

import (
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/message"
)

// FuzzDecodeRecords: the session store's record decoders refuse what
// they cannot read, without panicking, and what they accept re-encodes.
func FuzzDecodeRecords(f *testing.F) {
	ss := &session{id: "c", expiry: 60, subs: []*subscription{{filter: "a/#", qos: 1, rap: true, id: 3}}}
	f.Add(ss.appendRecord(nil, time.Unix(100, 0)))
	m := &message.Message{Topic: "t", Data: []byte("d"), Time: time.Unix(1, 0)}
	setMeta(m, meta{qos: 2, expiry: 5})
	e := outMsg{m: m, qos: 2, ids: []int{1}}
	ss.a = &Adapter{}
	f.Add(outRecord(&e))
	f.Add([]byte{1, 0, 7, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := decodeSession(b); err == nil {
			back := &session{expiry: r.expiry, subs: r.subs}
			if _, err := decodeSession(back.appendRecord(nil, r.offline)); err != nil {
				t.Fatalf("re-decode session: %v", err)
			}
		}
		if e, err := decodeOut(b); err == nil {
			if _, err := decodeOut(outRecord(&e)); err != nil {
				t.Fatalf("re-decode message: %v", err)
			}
		}
		decodeState(b)
		splitKey(b)
	})
}
