package topic

import (
	"errors"
	"testing"
)

func TestErrorsWrapSentinels(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		is     error
		isNot  error
		prefix string
	}{
		{"name", ValidName("a/+"), ErrInvalidName, ErrInvalidFilter, "topic: invalid topic name: "},
		{"empty name", ValidName(""), ErrInvalidName, ErrInvalidFilter, "topic: invalid topic name: "},
		{"filter", ValidFilter("a/#/b"), ErrInvalidFilter, ErrInvalidName, "topic: invalid topic filter: "},
		{"empty filter", ValidFilter(""), ErrInvalidFilter, ErrInvalidName, "topic: invalid topic filter: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.is) {
				t.Fatalf("%v does not wrap %v", tt.err, tt.is)
			}
			if errors.Is(tt.err, tt.isNot) {
				t.Fatalf("%v wraps %v", tt.err, tt.isNot)
			}
			if msg := tt.err.Error(); len(msg) <= len(tt.prefix) || msg[:len(tt.prefix)] != tt.prefix {
				t.Fatalf("message %q lacks prefix %q and detail", msg, tt.prefix)
			}
		})
	}
}
