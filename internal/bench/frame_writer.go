package bench

import (
	"net"
	"sync"

	"github.com/heraldhq/herald/internal/wsframe"
)

// frameWriter writes a byte-stream protocol (STOMP, MQTT) to its
// connection: raw over TCP, or each write as one masked WebSocket frame
// of op. Writes go through reused buffers under a lock, as a publisher
// and the reader's acknowledgements share the connection.
type frameWriter struct {
	nc net.Conn
	ws bool
	op byte // wsframe.OpText or OpBinary

	wmu  sync.Mutex
	wbuf []byte
	pbuf []byte
}

// write sends p (one or more frames or packets).
func (w *frameWriter) write(p []byte) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	return w.writeLocked(p)
}

func (w *frameWriter) writeLocked(p []byte) error {
	if !w.ws {
		_, err := w.nc.Write(p)
		return err
	}
	w.wbuf = wsframe.AppendMaskedFrame(w.wbuf[:0], w.op, true, maskKey, p)
	_, err := w.nc.Write(w.wbuf)
	return err
}

// writeWith builds what to send with build(dst, arg) and sends it, under
// the write lock.
func (w *frameWriter) writeWith(arg int64, build func([]byte, int64) []byte) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	w.pbuf = build(w.pbuf[:0], arg)
	return w.writeLocked(w.pbuf)
}

// control sends a WebSocket control frame (a pong, a close); errors are
// the reader's to find.
func (w *frameWriter) control(op byte, p []byte) {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	w.wbuf = wsframe.AppendMaskedFrame(w.wbuf[:0], op, true, maskKey, p)
	w.nc.Write(w.wbuf)
}
