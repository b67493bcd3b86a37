package core

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/heraldhq/herald/internal/poll"
	"github.com/heraldhq/herald/internal/wsframe"
)

// sink keeps up to room messages.
type sink struct {
	room   int
	got    []string
	closed string
}

func (k *sink) Accept(msgs [][]byte) int {
	n := min(len(msgs), k.room)
	for _, m := range msgs[:n] {
		k.got = append(k.got, string(m))
	}
	k.room -= n
	return n
}

func (k *sink) Closed(code uint16, reason string) { k.closed = fmt.Sprint(code, " ", reason) }

func frame(op byte, payload string) []byte { return wsframe.AppendFrame(nil, op, []byte(payload)) }

func TestVirtualWritevSplitsFrames(t *testing.T) {
	big := strings.Repeat("x", 70000) // a 64-bit length
	text := frame(wsframe.OpText, "hello")
	// A header in one buffer and its payload in the next, as Own and
	// Shared items are drained.
	head := wsframe.AppendHeader(nil, wsframe.OpText, true, false, 5)
	bufs := [][]byte{text, frame(wsframe.OpPing, ""), head, []byte("split"), frame(wsframe.OpText, big), {}, frame(wsframe.OpClose, "\x03\xe9bye")}
	k := &sink{room: 10}
	v := &virtualConn{sink: k}
	total := 0
	for _, b := range bufs {
		total += len(b)
	}
	n, err := v.Writev(bufs)
	if err != nil || n != total {
		t.Fatalf("Writev = %d, %v; want %d, nil", n, err, total)
	}
	if len(k.got) != 3 || k.got[0] != "hello" || k.got[1] != "split" || k.got[2] != big {
		t.Errorf("messages %q", k.got)
	}
	if v.code != 1001 || v.reason != "bye" {
		t.Errorf("close %d %q", v.code, v.reason)
	}
}

// TestVirtualWritevBackpressure: a full sink is a full socket: the count
// stops at the first message it refused, whole frames only.
func TestVirtualWritevBackpressure(t *testing.T) {
	a, b, c := frame(wsframe.OpText, "a"), frame(wsframe.OpText, "b"), frame(wsframe.OpClose, "\x03\xe8")
	k := &sink{room: 1}
	v := &virtualConn{sink: k}
	n, err := v.Writev([][]byte{a, b, c})
	if !errors.Is(err, poll.ErrWouldBlock) || n != len(a) {
		t.Fatalf("Writev = %d, %v; want %d, ErrWouldBlock", n, err, len(a))
	}
	if v.code != 0 {
		t.Error("a close frame behind the refused message was taken")
	}
	k.room = 5
	n, err = v.Writev([][]byte{b, c})
	if err != nil || n != len(b)+len(c) || strings.Join(k.got, "") != "ab" || v.code != 1000 {
		t.Errorf("retry: %d %v %q code %d", n, err, k.got, v.code)
	}
}

func TestVirtualWritevRefusesGarbage(t *testing.T) {
	masked := wsframe.AppendMaskedFrame(nil, wsframe.OpText, true, [4]byte{1, 2, 3, 4}, []byte("x"))
	for name, bufs := range map[string][][]byte{
		"masked":    {masked},
		"truncated": {frame(wsframe.OpText, "hello")[:4]},
	} {
		v := &virtualConn{sink: &sink{room: 10}}
		if _, err := v.Writev(bufs); !errors.Is(err, errBadFrame) {
			t.Errorf("%s: %v, want errBadFrame", name, err)
		}
	}
}
