package bench

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/wsframe"
)

// sinkConn is a net.Conn that records what is written and never reads.
type sinkConn struct {
	net.Conn
	written bytes.Buffer
}

func (s *sinkConn) Write(p []byte) (int, error) { return s.written.Write(p) }
func (s *sinkConn) Close() error                { return nil }

func TestWriteMessageMasks(t *testing.T) {
	t.Parallel()
	sink := &sinkConn{}
	c := newConn(0, sink, nil, nil, NewStats())
	if err := c.WriteMessage(wsframe.OpText, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	// The server-side reader accepts only masked frames.
	var r wsframe.Reader
	var got string
	if err := r.Feed(sink.written.Bytes(), func(op byte, p []byte) error { got = string(p); return nil }); err != nil || got != "hello" {
		t.Fatalf("server read %q, %v", got, err)
	}
}

// The per-message paths of the load scenarios must not allocate: parsing
// a batch of server frames and handing them to the scenario (rpc closed
// loop, which also sends the next request; fanout; chat), and sending.
func TestMessagePathsDoNotAllocate(t *testing.T) {
	sink := &sinkConn{}
	stats := NewStats()
	c := newConn(0, sink, nil, nil, stats)
	r := &rpcRun{cfg: &Config{Size: 8}, stats: stats, prefix: []byte(`,"method":"echo","params":{"t":`)}
	r.stopAt.Store(time.Now().Add(time.Hour).UnixNano())
	r.newClient(c, true)
	var batch []byte
	for range 20 {
		batch = wsframe.AppendFrame(batch, wsframe.OpText, []byte(`{"jsonrpc":"2.0","id":7,"result":{"t":1712345678901234567,"p":"abcdefgh"}}`))
	}
	sink.written.Grow(1 << 20)
	if n := testing.AllocsPerRun(50, func() {
		sink.written.Reset()
		if err := c.rd.Feed(batch, c.feed); err != nil {
			t.Fatal(err)
		}
		c.AfterRead()
	}); n != 0 {
		t.Errorf("rpc: %v allocations per read of 20 responses", n)
	}

	s := &fanoutSub{stats: stats, subscribed: NewCounter(), hist: NewHistogram()}
	c.OnData, c.AfterRead = s.onData, s.afterRead
	batch = batch[:0]
	for range 20 {
		batch = wsframe.AppendFrame(batch, wsframe.OpText,
			[]byte(`{"jsonrpc":"2.0","method":"message","params":{"topic":"bench/fanout","seq":9,"epoch":"e","data":"1712345678901234567:abc"}}`))
	}
	if n := testing.AllocsPerRun(50, func() {
		c.rd.Feed(batch, c.feed)
		c.AfterRead()
	}); n != 0 {
		t.Errorf("fanout: %v allocations per read of 20 notifications", n)
	}

	payload := appendPad([]byte("M"), 63)
	if n := testing.AllocsPerRun(50, func() {
		sink.written.Reset()
		c.WriteMessage(wsframe.OpText, payload)
	}); n != 0 {
		t.Errorf("send: %v allocations", n)
	}
}

func TestConnAnswersPingAndClose(t *testing.T) {
	t.Parallel()
	client, server := net.Pipe()
	stats := NewStats()
	c := newConn(0, client, make([]byte, 1024), nil, stats)
	c.start()
	frames := wsframe.AppendFrame(nil, wsframe.OpPing, []byte("p"))
	frames = wsframe.AppendClose(frames, wsframe.CloseGoingAway, "bye")
	go server.Write(frames)
	var r wsframe.Reader
	var ops []byte
	buf := make([]byte, 256)
	for len(ops) < 2 {
		n, err := server.Read(buf)
		if err != nil {
			t.Fatalf("after %v: %v", ops, err)
		}
		r.Feed(buf[:n], func(op byte, p []byte) error { ops = append(ops, op); return nil })
	}
	if ops[0] != wsframe.OpPong || ops[1] != wsframe.OpClose {
		t.Fatalf("client answered %v, want pong then close", ops)
	}
	<-c.Done()
	var ce *wsframe.CloseError
	if err := c.Err(); !errors.As(err, &ce) || ce.Code != wsframe.CloseGoingAway || stats.Errors.Load() != 1 || stats.Open.Load() != 0 {
		t.Fatalf("err %v, errors %d, open %d", c.Err(), stats.Errors.Load(), stats.Open.Load())
	}
}
