package stomp

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits bound what one frame may hold. The parser buffers at most one
// incomplete frame, so they bound its memory too.
type Limits struct {
	MaxHeaders    int // header entries per frame; default 64
	MaxHeaderSize int // bytes of the command line or of one header line; default 8 KiB
	MaxBody       int // body bytes; default 64 KiB
}

func (l Limits) withDefaults() Limits {
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = 64
	}
	if l.MaxHeaderSize <= 0 {
		l.MaxHeaderSize = 8 << 10
	}
	if l.MaxBody <= 0 {
		l.MaxBody = 64 << 10
	}
	return l
}

// MaxBuffered is the most a Parser with these limits holds between Feed
// calls: one frame's header lines with their line ends, its body and NUL.
func (l Limits) MaxBuffered() int {
	l = l.withDefaults()
	return (l.MaxHeaders+2)*(l.MaxHeaderSize+2) + l.MaxBody + 1
}

// ParseError is a frame the parser cannot accept. Its message names the
// problem, for an ERROR frame's message header.
type ParseError struct {
	Msg     string
	TooLong bool // a limit was exceeded, rather than the syntax broken
}

func (e *ParseError) Error() string { return e.Msg }

func malformed(format string, a ...any) error {
	return &ParseError{Msg: "malformed frame: " + fmt.Sprintf(format, a...)}
}

func tooLong(format string, a ...any) error {
	return &ParseError{Msg: fmt.Sprintf(format, a...), TooLong: true}
}

// Parser reads frames from a byte stream that may arrive split anywhere:
// several frames in one chunk, a frame over many, heart-beat line ends
// between frames. The zero value is ready, with default limits and the
// 1.0 rules (no header escaping) until Version is set.
type Parser struct {
	Limits
	// Version decides how headers are unescaped. A session sets it once
	// its CONNECT is read, before the next frame is parsed.
	Version Version
	// HeartBeat, if set, is called for each line end between frames.
	HeartBeat func()

	buf []byte // the incomplete frame; nil between frames
	err error  // sticky: a stream that broke stays broken

	// Progress through the incomplete frame at the front of buf, so that
	// bytes are examined once however finely the frame arrives.
	scanned int    // header bytes examined (whole lines)
	lines   int    // lines examined, the command line included
	head    *Frame // the command and headers, once the blank line is seen
	bodyAt  int    // where the body starts
	length  int    // content-length, or -1 to read up to the NUL
	bodyEnd int    // body bytes examined for a NUL
}

// Buffered reports how many bytes of an incomplete frame are held.
func (p *Parser) Buffered() int { return len(p.buf) }

// Feed parses data and calls fn with each complete frame, in order. A
// frame and its strings are the callee's to keep. After an error (from
// the stream or from fn) Feed returns it again and parses nothing more.
func (p *Parser) Feed(data []byte, fn func(*Frame) error) error {
	if p.err != nil {
		return p.err
	}
	p.Limits = p.Limits.withDefaults()
	in := data
	if len(p.buf) > 0 {
		p.buf = append(p.buf, data...)
		in = p.buf
	}
	for len(in) > 0 {
		n, f, err := p.step(in)
		if err != nil {
			p.fail(err)
			return err
		}
		if n == 0 {
			break
		}
		in = in[n:]
		if f == nil {
			continue
		}
		if err := fn(f); err != nil {
			p.fail(err)
			return err
		}
	}
	p.keep(in)
	return nil
}

func (p *Parser) fail(err error) {
	p.err = err
	p.buf = nil
	p.reset()
}

// keep holds rest, the start of the next frame, releasing a buffer that a
// large frame left much bigger than what remains.
func (p *Parser) keep(rest []byte) {
	switch {
	case len(rest) == 0:
		p.buf = nil
	case len(p.buf) == 0 || cap(p.buf) > 4096 && cap(p.buf) > 4*len(rest):
		p.buf = append([]byte(nil), rest...)
	default:
		p.buf = p.buf[:copy(p.buf, rest)] // rest is a suffix of buf
	}
}

func (p *Parser) reset() {
	p.scanned, p.lines, p.head, p.bodyAt, p.length, p.bodyEnd = 0, 0, nil, 0, 0, 0
}

// step consumes what it can from the front of in: a heart-beat line end
// (n > 0, f nil) or a whole frame. n is 0 when more bytes are needed.
func (p *Parser) step(in []byte) (n int, f *Frame, err error) {
	if p.head == nil {
		if p.scanned == 0 {
			switch in[0] {
			case '\n':
				p.beat()
				return 1, nil, nil
			case '\r':
				if len(in) < 2 {
					return 0, nil, nil
				}
				if in[1] != '\n' {
					return 0, nil, malformed("carriage return not followed by a line feed")
				}
				p.beat()
				return 2, nil, nil
			}
		}
		done, err := p.scanHead(in)
		if err != nil || !done {
			return 0, nil, err
		}
	}
	if p.length >= 0 {
		end := p.bodyAt + p.length
		if len(in) <= end {
			return 0, nil, nil
		}
		if in[end] != 0 {
			return 0, nil, malformed("the body is not followed by a NUL octet (does content-length match the body?)")
		}
		return p.finish(in, end)
	}
	i := bytes.IndexByte(in[p.bodyEnd:], 0)
	if i < 0 {
		p.bodyEnd = len(in)
		if p.bodyEnd-p.bodyAt > p.MaxBody {
			return 0, nil, tooLong("frame body too large: more than %d bytes", p.MaxBody)
		}
		return 0, nil, nil
	}
	end := p.bodyEnd + i
	if end-p.bodyAt > p.MaxBody {
		return 0, nil, tooLong("frame body too large: %d bytes, limit %d", end-p.bodyAt, p.MaxBody)
	}
	return p.finish(in, end)
}

func (p *Parser) beat() {
	if p.HeartBeat != nil {
		p.HeartBeat()
	}
}

// finish completes the frame whose body ends at the NUL at end.
func (p *Parser) finish(in []byte, end int) (int, *Frame, error) {
	f := p.head
	if end > p.bodyAt {
		f.Body = bytes.Clone(in[p.bodyAt:end])
	}
	p.reset()
	return end + 1, f, nil
}

// scanHead examines whole lines of the header section from where it
// stopped; at the blank line it parses the section into p.head.
func (p *Parser) scanHead(in []byte) (bool, error) {
	for {
		i := bytes.IndexByte(in[p.scanned:], '\n')
		if i < 0 {
			if len(in)-p.scanned > p.MaxHeaderSize+1 {
				return false, p.lineTooLong()
			}
			return false, nil
		}
		line := in[p.scanned : p.scanned+i]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(line) > p.MaxHeaderSize {
			return false, p.lineTooLong()
		}
		p.scanned += i + 1
		if len(line) == 0 {
			break
		}
		p.lines++
		if p.lines > p.MaxHeaders+1 {
			return false, tooLong("too many headers: more than %d", p.MaxHeaders)
		}
	}
	return true, p.parseHead(in[:p.scanned])
}

func (p *Parser) lineTooLong() error {
	if p.lines == 0 {
		return tooLong("command line too long: more than %d bytes", p.MaxHeaderSize)
	}
	return tooLong("header line too long: more than %d bytes", p.MaxHeaderSize)
}

// parseHead parses a complete header section, the blank line included.
// Its text is converted to one string, and unescaped names and values
// are substrings of it, so a frame costs few allocations.
func (p *Parser) parseHead(b []byte) error {
	if !utf8.Valid(b) {
		return malformed("the command and headers are not valid UTF-8")
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return malformed("NUL octet in the command or headers (is a blank line missing before the body?)")
	}
	text := string(b)
	line, rest := nextLine(text)
	if !validCommand(line) {
		return malformed("invalid command line %q", clip(line))
	}
	f := &Frame{Command: line}
	esc := escapingFor(p.Version, line)
	if p.lines > 1 {
		f.Headers = make([]Header, 0, p.lines-1)
	}
	length := -1
	for {
		line, rest = nextLine(rest)
		if line == "" {
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return malformed("header line without a colon: %q", clip(line))
		}
		if k == "" {
			return malformed("header line without a name: %q", clip(line))
		}
		var err error
		if k, err = unescape(esc, k); err == nil {
			v, err = unescape(esc, v)
		}
		if err != nil {
			return malformed("%v in header %q", err, clip(line))
		}
		if k == "content-length" && length < 0 {
			if length = parseLength(v); length < 0 {
				return malformed("invalid content-length %q", clip(v))
			}
			if length > p.MaxBody {
				return tooLong("frame body too large: content-length %d, limit %d", length, p.MaxBody)
			}
		}
		f.Headers = append(f.Headers, Header{k, v})
	}
	p.head, p.bodyAt, p.length = f, len(b), length
	p.bodyEnd = p.bodyAt
	return nil
}

// nextLine splits s at its first line end (LF or CRLF).
func nextLine(s string) (line, rest string) {
	i := strings.IndexByte(s, '\n')
	if i < 0 {
		return s, ""
	}
	line, rest = s[:i], s[i+1:]
	return strings.TrimSuffix(line, "\r"), rest
}

// validCommand accepts the shape of a command (capital letters); whether
// it is one the receiver knows is the receiver's question.
func validCommand(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// parseLength reads a content-length, decimal digits with optional
// surrounding spaces (some 1.0 clients write "content-length: 5"), or
// returns -1. Huge values saturate: they are beyond every limit anyway.
func parseLength(s string) int {
	s = strings.TrimSpace(s)
	if s == "" {
		return -1
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return -1
		}
		if n < 1<<40 {
			n = n*10 + int(c-'0')
		}
	}
	return n
}

// clip shortens s for an error message.
func clip(s string) string {
	const max = 48
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
