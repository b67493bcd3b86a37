package broker

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/message"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	now := time.Unix(1700000000, 123456789)
	msgs := []*message.Message{
		{Topic: "a/b", Data: []byte("hello")},
		{Topic: "x", Data: nil},
		{Topic: "$SYS/é", Data: []byte{0, 1, 2}, ContentType: "application/json", Retain: true, Time: now,
			Headers: []message.Header{{Key: "k", Value: "v"}, {Key: "k", Value: "w"}, {Key: "", Value: ""}}},
	}
	for _, m := range msgs {
		m.Seq, m.Epoch, m.ID, m.Publisher = 7, "ep", 9, "s1"
		env, err := decodeEnvelope(encodeEnvelope(nil, m, "node-x"))
		got, ts := env.m, env.time
		if err != nil {
			t.Fatalf("decode %q: %v", m.Topic, err)
		}
		if got.Topic != m.Topic || !bytes.Equal(got.Data, m.Data) || got.ContentType != m.ContentType ||
			got.Retain != m.Retain || !slices.Equal(got.Headers, m.Headers) {
			t.Errorf("round trip of %+v gave %+v", m, got)
		}
		if got.ID != 0 || got.Seq != 7 || got.Epoch != "ep" || got.Publisher != "s1" || env.origin != "node-x" {
			t.Errorf("stamps: %+v from %q; want no ID, the rest as sent", got, env.origin)
		}
		if !ts.Equal(m.Time) {
			t.Errorf("time %v, want %v", ts, m.Time)
		}
	}
}

func TestEnvelopeRejectsGarbage(t *testing.T) {
	good := encodeEnvelope(nil, &message.Message{Topic: "abc", ContentType: "t", Headers: []message.Header{{Key: "k", Value: "v"}}}, "o")
	for _, b := range [][]byte{nil, []byte("H"), []byte("X\x01\x00"), []byte("H\x02\x00"), good[:6], {'H', 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x0f}} {
		if _, err := decodeEnvelope(b); !errors.Is(err, ErrEnvelope) {
			t.Errorf("decode(%q) err = %v, want ErrEnvelope", b, err)
		}
	}
}

func FuzzEnvelope(f *testing.F) {
	f.Add(encodeEnvelope(nil, &message.Message{Topic: "a/b", Data: []byte("x"), Seq: 3, Epoch: "e", Headers: []message.Header{{Key: "a", Value: "b"}}}, "o"))
	f.Add([]byte("H\x01\x01\x00\x00\x00\x05"))
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := decodeEnvelope(b)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to something that decodes the same.
		m, ts := env.m, env.time
		m.Time = ts
		env2, err := decodeEnvelope(encodeEnvelope(nil, m, env.origin))
		m2, ts2 := env2.m, env2.time
		if err != nil || m2.Topic != m.Topic || !bytes.Equal(m2.Data, m.Data) || !slices.Equal(m2.Headers, m.Headers) ||
			m2.ContentType != m.ContentType || m2.Retain != m.Retain || !ts2.Equal(ts) || m2.Seq != m.Seq || m2.Epoch != m.Epoch ||
			m2.Publisher != m.Publisher || env2.origin != env.origin {
			t.Fatalf("re-encode mismatch: %+v vs %+v (%v)", m, m2, err)
		}
	})
}

func TestBundleRoundTrip(t *testing.T) {
	var envs [][]byte
	for i := range 3 {
		envs = append(envs, encodeEnvelope(nil, &message.Message{Topic: "t", Seq: uint64(i + 1), Epoch: "e", Data: []byte{byte(i)}}, "o"))
	}
	got, err := decodeMessages(appendBundle(nil, envs))
	if err != nil || len(got) != 3 {
		t.Fatalf("decode: %v, %d", err, len(got))
	}
	for i, e := range got {
		if e.m.Seq != uint64(i+1) || e.m.Data[0] != byte(i) {
			t.Errorf("#%d: %+v", i, e.m)
		}
	}
	single, err := decodeMessages(envs[0])
	if err != nil || len(single) != 1 || single[0].m.Seq != 1 {
		t.Fatalf("a plain envelope: %v %v", single, err)
	}
	for _, bad := range [][]byte{{'B'}, {'B', 1, 0}, {'B', 1, 2, 1, 'H'}, append(appendBundle(nil, envs[:1]), 0)} {
		if _, err := decodeMessages(bad); !errors.Is(err, ErrEnvelope) {
			t.Errorf("decodeMessages(%q) = %v, want ErrEnvelope", bad, err)
		}
	}
}

func FuzzBundle(f *testing.F) {
	f.Add(appendBundle(nil, [][]byte{encodeEnvelope(nil, &message.Message{Topic: "a", Seq: 1}, "o")}))
	f.Add([]byte{'B', 1, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		envs, err := decodeMessages(b)
		if err != nil {
			return
		}
		var again [][]byte
		for _, e := range envs {
			e.m.Time = e.time
			again = append(again, encodeEnvelope(nil, e.m, e.origin))
		}
		envs2, err := decodeMessages(appendBundle(nil, again))
		if err != nil || len(envs2) != len(envs) {
			t.Fatalf("re-encoded bundle: %v, %d vs %d", err, len(envs2), len(envs))
		}
		for i := range envs {
			if envs2[i].m.Topic != envs[i].m.Topic || envs2[i].m.Seq != envs[i].m.Seq || !bytes.Equal(envs2[i].m.Data, envs[i].m.Data) {
				t.Fatalf("#%d differs", i)
			}
		}
	})
}
