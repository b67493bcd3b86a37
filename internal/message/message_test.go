package message

import (
	"testing"
	"time"
)

func TestPosition(t *testing.T) {
	tests := []struct {
		name string
		m    *Message
		want Position
		zero bool
	}{
		{"unpublished", &Message{Topic: "a"}, Position{}, true},
		{"published", &Message{Topic: "a", Seq: 7, Epoch: "e1", Time: time.Unix(1, 0)}, Position{Epoch: "e1", Seq: 7}, false},
		{"seq without epoch", &Message{Seq: 3}, Position{Seq: 3}, false},
		{"epoch without seq", &Message{Epoch: "e"}, Position{Epoch: "e"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.m.Position()
			if got != tt.want {
				t.Fatalf("Position() = %+v, want %+v", got, tt.want)
			}
			if got.IsZero() != tt.zero {
				t.Fatalf("IsZero() = %v, want %v", got.IsZero(), tt.zero)
			}
		})
	}
}
