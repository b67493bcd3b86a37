package bench

import (
	"errors"
	"net"
	"sync/atomic"
)

// readLoop is a client connection's reader: it reads into one buffer and
// feeds each read to the protocol's parser until the connection fails or
// is closed (closing set first: then the failure is no error).
type readLoop struct {
	closing atomic.Bool
	done    chan struct{} // closed when run returns
	err     error         // why it ended, unless closing; read after done
}

// run is the reader goroutine. afterRead, if not nil, runs after each
// read has been fed.
func (l *readLoop) run(nc net.Conn, buf []byte, stats *Stats, feed func([]byte) error, afterRead func()) {
	defer close(l.done)
	defer stats.Open.Add(-1)
	defer nc.Close()
	for {
		n, err := nc.Read(buf)
		if n > 0 {
			ferr := feed(buf[:n])
			if afterRead != nil {
				afterRead()
			}
			if ferr != nil {
				if !errors.Is(ferr, errClosing) && !l.closing.Load() {
					l.err = ferr
					stats.Errors.Add(1)
				}
				return
			}
		}
		if err != nil {
			if !l.closing.Load() {
				l.err = err
				stats.Errors.Add(1)
			}
			return
		}
	}
}
