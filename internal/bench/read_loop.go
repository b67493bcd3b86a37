package bench

import (
	"errors"
	"net"
	"sync/atomic"
	"time"
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

// closable is a client connection whose closing handshake awaitClosed
// finishes: its socket, and a channel closed when its reader has ended.
type closable interface {
	conn() net.Conn
	readerDone() <-chan struct{}
}

func (l *readLoop) readerDone() <-chan struct{} { return l.done }

func (w *frameWriter) conn() net.Conn { return w.nc }

// awaitClosed ends a closing handshake sent on every connection: it waits
// until the server has closed each (its reader stops) or the deadline
// passes, then drops whatever is left and waits for those readers too.
func awaitClosed[C closable](conns []C, deadline time.Time) {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
wait:
	for _, c := range conns {
		select {
		case <-c.readerDone():
		case <-t.C:
			break wait
		}
	}
	for _, c := range conns {
		c.conn().Close()
		<-c.readerDone()
	}
}
