package mqtt

import (
	"sync"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/heraldhq/herald/internal/core"
)

func TestKick(t *testing.T) {
	var mu sync.Mutex
	var connected []string
	ts := newTestServer(t, core.Hooks{}, Options{Connected: func(cid string) {
		mu.Lock()
		connected = append(connected, cid)
		mu.Unlock()
	}})
	if ts.a.Kick("nobody") {
		t.Fatal("kicked a client id that is not connected")
	}
	// A persistent session: closed as a takeover, kept offline.
	p := ts.dial(t, 5)
	p.connect("kept", false, persistent(5))
	p.subscribe(1, nil, sub("t", 1))
	if !ts.a.Kick("kept") {
		t.Fatal("Kick found no connection")
	}
	if got := p.expectClosed(); len(got) != 1 || got[0].FixedHeader.Type != packets.Disconnect || got[0].ReasonCode != codeSessionTakenOver {
		t.Fatalf("kicked connection got %v, want DISCONNECT 0x8E", got)
	}
	again := ts.dial(t, 5)
	if ack := again.connect("kept", false, persistent(5)); !ack.SessionPresent {
		t.Fatal("the persistent session did not stay")
	}
	// A clean session ends.
	c := ts.dial(t, 4)
	c.connect("clean", true, nil)
	if !ts.a.Kick("clean") {
		t.Fatal("Kick found no connection")
	}
	c.expectClosed()
	if ack := ts.dial(t, 4).connect("clean", false, nil); ack.SessionPresent {
		t.Fatal("the clean session stayed")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(connected) != 4 || connected[0] != "kept" || connected[3] != "clean" {
		t.Errorf("Connected saw %v", connected)
	}
}
