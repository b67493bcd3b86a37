package store

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/message"
)

func TestMessageRoundTrip(t *testing.T) {
	m := &message.Message{Topic: "a/b", Data: []byte("hi"), ContentType: "text/plain",
		Headers: []message.Header{{Key: "k", Value: "v"}}, Publisher: "s1", Retain: true,
		Seq: 7, Epoch: "ep", Time: time.Unix(10, 5)}
	m.Encoded("x/meta", func(*message.Message) []byte { return []byte{1, 2} })
	b := AppendMessage(nil, m, "x/meta", "absent")
	b = append(b, 0xAA)
	got, rest, err := DecodeMessage(b, "x/meta")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rest, []byte{0xAA}) {
		t.Fatalf("rest %x", rest)
	}
	if got.Topic != m.Topic || string(got.Data) != "hi" || got.ContentType != m.ContentType ||
		!reflect.DeepEqual(got.Headers, m.Headers) || got.Publisher != "s1" || !got.Retain ||
		got.Seq != 7 || got.Epoch != "ep" || !got.Time.Equal(m.Time) {
		t.Fatalf("got %+v", got)
	}
	if e := got.Encoded("x/meta", func(*message.Message) []byte { return nil }); !bytes.Equal(e, []byte{1, 2}) {
		t.Fatalf("meta %x", e)
	}
	for i := range len(b) - 1 {
		if _, _, err := DecodeMessage(b[:i], "x/meta"); err == nil {
			t.Fatalf("truncated at %d decoded", i)
		}
	}
}

func FuzzDecodeMessage(f *testing.F) {
	m := &message.Message{Topic: "t", Data: []byte("d"), Headers: []message.Header{{Key: "a", Value: "b"}}, Time: time.Unix(1, 0)}
	f.Add(AppendMessage(nil, m))
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		splitTopicKey(b)
		m, _, err := DecodeMessage(b, "k")
		if err != nil {
			return
		}
		// What decodes encodes back to something that decodes the same.
		again, _, err := DecodeMessage(AppendMessage(nil, m, "k"), "k")
		if err != nil || again.Topic != m.Topic || !bytes.Equal(again.Data, m.Data) || len(again.Headers) != len(m.Headers) {
			t.Fatalf("re-decode: %v %+v", err, again)
		}
	})
}
