package store

import (
	"reflect"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/message"
)

func sampleRecord() *sessionRecord {
	return &sessionRecord{
		created: time.Unix(10, 0), lastSeen: time.Unix(20, 5), lim: LogLimits{Messages: 8, Bytes: 1024},
		acked: 3, seen: 4, window: 0b101, ended: true, code: 1001, reason: "going away",
		subs: []string{"a", "b/+"}, pos: map[string]message.Position{"a": {Epoch: "e", Seq: 9}},
		owner: []byte(`{"subject":"u"}`),
	}
}

func TestSessionRecordRoundTrip(t *testing.T) {
	r := sampleRecord()
	b := r.append(nil)
	got, err := decodeSessionRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	if !got.created.Equal(r.created) || !got.lastSeen.Equal(r.lastSeen) {
		t.Fatalf("times: %v %v", got.created, got.lastSeen)
	}
	got.created, got.lastSeen = r.created, r.lastSeen
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("got %+v\nwant %+v", got, r)
	}
	for i := range b {
		if _, err := decodeSessionRecord(b[:i]); err == nil {
			t.Fatalf("truncated at %d decoded", i)
		}
	}
	if _, err := decodeSessionRecord(append(b, 0)); err == nil {
		t.Fatal("trailing byte decoded")
	}
}

func TestSessionKeys(t *testing.T) {
	for _, k := range [][]byte{sessionKey("abc", kindMeta, 0), sessionKey("abc", kindLog, 42)} {
		id, kind, num, err := splitSessionKey(k)
		if err != nil || id != "abc" || (kind == kindLog) != (num == 42) {
			t.Fatalf("%x: %q %d %d %v", k, id, kind, num, err)
		}
	}
	if _, _, _, err := splitSessionKey([]byte{0, 3, 'a', 'b', 'c', 7}); err == nil {
		t.Fatal("bad kind accepted")
	}
}

func FuzzDecodeSessionRecord(f *testing.F) {
	f.Add(sampleRecord().append(nil))
	f.Add((&sessionRecord{}).append(nil))
	f.Add([]byte{1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		splitSessionKey(b)
		r, err := decodeSessionRecord(b)
		if err != nil {
			return
		}
		again, err := decodeSessionRecord(r.append(nil))
		if err != nil || !reflect.DeepEqual(again.subs, r.subs) || again.acked != r.acked || again.reason != r.reason || len(again.pos) != len(r.pos) {
			t.Fatalf("re-decode: %v %+v", err, again)
		}
	})
}
