package metrics

import (
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// ContentType is the Content-Type of the text exposition format 0.0.4.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// flushSize is the buffered size at which WriteTo hands data to the writer.
const flushSize = 16 << 10

var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, flushSize+flushSize/2)
	return &b
}}

// WriteTo writes every registered metric to w in the Prometheus text
// exposition format 0.0.4, families sorted by name. It implements
// [io.WriterTo]; the returned count is the number of bytes written.
// Output is produced in chunks, so on error a prefix may have been written.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	bp := bufPool.Get().(*[]byte)
	buf := (*bp)[:0]
	defer func() {
		if cap(buf) <= 1<<20 { // don't keep pathological buffers alive
			*bp = buf[:0]
			bufPool.Put(bp)
		}
	}()

	var n int64
	flush := func() error {
		m, err := w.Write(buf)
		n += int64(m)
		if err == nil && m != len(buf) {
			err = io.ErrShortWrite
		}
		buf = buf[:0]
		return err
	}
	for _, f := range r.snapshot() {
		start := len(buf)
		buf = append(buf, f.header...)
		mark := len(buf)
		buf = f.s.appendFamily(buf, f.name)
		if len(buf) == mark { // no samples (empty vector): omit the family
			buf = buf[:start]
		}
		if len(buf) >= flushSize {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if len(buf) > 0 {
		if err := flush(); err != nil {
			return n, err
		}
	}
	return n, nil
}

// Handler returns an http.Handler serving the registry. It answers GET and
// HEAD with Content-Type [ContentType] and every other method with
// 405 Method Not Allowed.
func (r *Registry) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", ContentType)
		h.Set("Cache-Control", "no-store")
		if req.Method == http.MethodHead {
			w.WriteHeader(http.StatusOK)
			return
		}
		// A write error means the scraper went away; nothing useful to do.
		_, _ = r.WriteTo(w)
	})
}

// renderHeader renders the HELP (omitted when help is empty) and TYPE lines.
func renderHeader(name, help, typ string) string {
	var b []byte
	if help != "" {
		b = append(b, "# HELP "...)
		b = append(b, name...)
		b = append(b, ' ')
		b = appendEscaped(b, strings.ToValidUTF8(help, "\uFFFD"), false)
		b = append(b, '\n')
	}
	b = append(b, "# TYPE "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = append(b, typ...)
	b = append(b, '\n')
	return string(b)
}

// renderLabels renders `n1="v1",n2="v2"` with escaped values.
func renderLabels(names, values []string) string {
	var b []byte
	for i, n := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendLabel(b, n, values[i])
	}
	return string(b)
}

// appendLabel appends `name="escaped value"`.
func appendLabel(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, '=', '"')
	b = appendEscaped(b, value, true)
	return append(b, '"')
}

// appendEscaped appends s with backslash and newline escaped, and the double
// quote too when quote is set (label values). s must be valid UTF-8.
func appendEscaped(b []byte, s string, quote bool) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b = append(b, '\\', '\\')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '"' && quote:
			b = append(b, '\\', '"')
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendFloat formats f as Prometheus does: +Inf, -Inf, NaN; whole numbers
// of magnitude below 2^53 without exponent or fraction; anything else in the
// shortest form that parses back to the same float64.
func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "+Inf"...)
	case math.IsInf(f, -1):
		return append(b, "-Inf"...)
	case f == math.Trunc(f) && math.Abs(f) < 1<<53:
		return strconv.AppendInt(b, int64(f), 10)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// appendSampleName appends name+suffix and the label set made of the
// pre-rendered labels plus an optional extra pre-rendered pair (le="...").
func appendSampleName(b []byte, name, suffix, labels, extra string) []byte {
	b = append(b, name...)
	b = append(b, suffix...)
	if labels != "" || extra != "" {
		b = append(b, '{')
		b = append(b, labels...)
		if labels != "" && extra != "" {
			b = append(b, ',')
		}
		b = append(b, extra...)
		b = append(b, '}')
	}
	return append(b, ' ')
}

// appendSample appends one complete sample line with a float value.
func appendSample(b []byte, name, suffix, labels, extra string, v float64) []byte {
	b = appendSampleName(b, name, suffix, labels, extra)
	b = appendFloat(b, v)
	return append(b, '\n')
}

// appendSampleUint appends one complete sample line with an integer value.
func appendSampleUint(b []byte, name, suffix, labels, extra string, v uint64) []byte {
	b = appendSampleName(b, name, suffix, labels, extra)
	b = strconv.AppendUint(b, v, 10)
	return append(b, '\n')
}
