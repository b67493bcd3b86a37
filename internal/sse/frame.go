package sse

import (
	"bytes"
	"strconv"
	"time"
)

// AppendEvent appends one event in the text/event-stream format: an
// optional "id:" and "event:" field, then data split into one "data:" line
// per line (any of CRLF, LF, CR ends a line, as the parser sees it; the
// client joins the lines with LF), then the blank line that dispatches it.
// id and event must not contain line breaks (callers pass tokens and fixed
// names).
func AppendEvent(dst []byte, id, event string, data []byte) []byte {
	if id != "" {
		dst = AppendID(dst, id)
	}
	if event != "" {
		dst = append(dst, "event: "...)
		dst = append(dst, event...)
		dst = append(dst, '\n')
	}
	return AppendData(dst, data)
}

// AppendID appends an "id:" field.
func AppendID(dst []byte, id string) []byte {
	dst = append(dst, "id: "...)
	dst = append(dst, id...)
	return append(dst, '\n')
}

// AppendData appends data as "data:" lines and the blank line that ends
// the event.
func AppendData(dst []byte, data []byte) []byte {
	for {
		i := bytes.IndexAny(data, "\r\n")
		dst = append(dst, "data: "...)
		if i < 0 {
			dst = append(dst, data...)
			return append(dst, "\n\n"...)
		}
		dst = append(dst, data[:i]...)
		dst = append(dst, '\n')
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
}

// AppendRetry appends the "retry:" field that sets how long the client
// waits before reconnecting, and a blank line (which dispatches nothing).
func AppendRetry(dst []byte, d time.Duration) []byte {
	dst = append(dst, "retry: "...)
	dst = strconv.AppendInt(dst, d.Milliseconds(), 10)
	return append(dst, "\n\n"...)
}

// Heartbeat is a comment line: it keeps proxies from closing a quiet
// stream and lets a dead connection be noticed. Clients ignore it.
var Heartbeat = []byte(":\n")
