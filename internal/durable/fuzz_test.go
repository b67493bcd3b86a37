package durable

import (
	"bytes"
	"testing"
)

func FuzzUnframe(f *testing.F) {
	f.Add("b", []byte("k"), frame("b", []byte("k"), []byte("value")))
	f.Add("", []byte{}, []byte{0, 0, 0})
	f.Fuzz(func(t *testing.T, bucket string, key, stored []byte) {
		v, err := unframe(bucket, key, stored)
		if err != nil {
			return
		}
		if !bytes.Equal(frame(bucket, key, v), stored) {
			t.Fatalf("accepted %x, which is not frame(%q, %x, %x)", stored, bucket, key, v)
		}
	})
}
