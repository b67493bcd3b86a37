package broker

import (
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
)

// Control messages are small notices between nodes that are not topic
// messages (for example "this MQTT client id connected here"). They go on
// prefix.ctl.<name> with core NATS, best effort, with the sender's origin
// so that a node ignores its own.

// Announce sends data to the other nodes' Control handlers for name.
func (b *NATS) Announce(name, data string) error {
	if err := b.nc.Publish(b.prefix+".ctl."+name, []byte(b.origin+"\n"+data)); err != nil {
		return fmt.Errorf("broker: announce %s: %w", name, err)
	}
	return nil
}

// Control calls fn with the data of every other node's Announce of name,
// one at a time, until the broker closes.
func (b *NATS) Control(name string, fn func(data string)) error {
	_, err := b.nc.Subscribe(b.prefix+".ctl."+name, func(msg *nats.Msg) {
		origin, data, ok := strings.Cut(string(msg.Data), "\n")
		if !ok || origin == b.origin {
			return
		}
		fn(data)
	})
	if err != nil {
		return fmt.Errorf("broker: control %s: %w", name, err)
	}
	return b.nc.Flush()
}
