package metrics

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// ---- helpers shared by the tests of this package ----

// render returns the exposition of r, after checking it against the
// text-format grammar and the WriteTo byte count.
func render(t testing.TB, r *Registry) string {
	t.Helper()
	var buf bytes.Buffer
	n, err := r.WriteTo(&buf)
	if err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("WriteTo returned %d, wrote %d bytes", n, buf.Len())
	}
	if _, err := parseExposition(buf.String()); err != nil {
		t.Fatalf("invalid exposition: %v\n%s", err, buf.String())
	}
	return buf.String()
}

// expectOutput compares the exposition of r with want.
func expectOutput(t *testing.T, r *Registry, want string) {
	t.Helper()
	if got := render(t, r); got != want {
		t.Errorf("exposition mismatch\n--- got:\n%s--- want:\n%s", got, want)
	}
}

// mustPanic runs f and fails unless it panics with a message containing sub.
func mustPanic(t *testing.T, sub string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		v := recover()
		if v == nil {
			t.Errorf("no panic, want one containing %q", sub)
			return
		}
		if msg := fmt.Sprint(v); !strings.Contains(msg, sub) {
			t.Errorf("panic %q, want one containing %q", msg, sub)
		}
	}()
	f()
}

// ---- text-format 0.0.4 line-grammar checker ----
//
// Deliberately independent of the implementation (regexps rather than the
// package's validators). It is stricter than Prometheus where our output
// is supposed to be canonical: single spaces, no blank lines or free
// comments, TYPE present for every family, families contiguous.

var (
	reMetricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	reLabelName  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	reValue      = regexp.MustCompile(`^(NaN|[+-]Inf|[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?)$`)
	reTimestamp  = regexp.MustCompile(`^-?[0-9]+$`)
	metricTypes  = []string{"counter", "gauge", "histogram", "summary", "untyped"}
)

type parsedSample struct {
	family string
	name   string
	labels map[string]string
	value  float64
}

type exposition struct {
	help    map[string]string // unescaped
	types   map[string]string
	samples []parsedSample
}

// value returns the value of the series name{labels}; labels as k, v pairs.
func (e *exposition) value(name string, kv ...string) (float64, bool) {
	for _, s := range e.samples {
		if s.name != name || len(s.labels) != len(kv)/2 {
			continue
		}
		match := true
		for i := 0; i < len(kv); i += 2 {
			if s.labels[kv[i]] != kv[i+1] {
				match = false
			}
		}
		if match {
			return s.value, true
		}
	}
	return 0, false
}

func parseExposition(text string) (*exposition, error) {
	e := &exposition{help: map[string]string{}, types: map[string]string{}}
	if text == "" {
		return e, nil
	}
	if !strings.HasSuffix(text, "\n") {
		return nil, errors.New("output does not end with a newline")
	}
	if !utf8.ValidString(text) {
		return nil, errors.New("output is not valid UTF-8")
	}
	var (
		current string
		done    = map[string]bool{} // families already left
		sampled = map[string]bool{} // families that have samples
		series  = map[string]bool{}
	)
	enter := func(fam string) error {
		if fam == current {
			return nil
		}
		if done[fam] {
			return fmt.Errorf("family %s is not contiguous", fam)
		}
		if current != "" {
			done[current] = true
		}
		current = fam
		return nil
	}
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		fail := func(format string, args ...any) (*exposition, error) {
			return nil, fmt.Errorf("line %d %q: %s", i+1, line, fmt.Sprintf(format, args...))
		}
		switch {
		case strings.HasPrefix(line, "# HELP "):
			name, doc, ok := strings.Cut(strings.TrimPrefix(line, "# HELP "), " ")
			if !ok || !reMetricName.MatchString(name) {
				return fail("bad HELP line")
			}
			u, err := unescape(doc, false)
			if err != nil {
				return fail("%v", err)
			}
			if _, dup := e.help[name]; dup {
				return fail("second HELP for %s", name)
			}
			if sampled[name] {
				return fail("HELP after samples")
			}
			if err := enter(name); err != nil {
				return fail("%v", err)
			}
			e.help[name] = u
		case strings.HasPrefix(line, "# TYPE "):
			name, typ, ok := strings.Cut(strings.TrimPrefix(line, "# TYPE "), " ")
			if !ok || !reMetricName.MatchString(name) || !slices.Contains(metricTypes, typ) {
				return fail("bad TYPE line")
			}
			if _, dup := e.types[name]; dup {
				return fail("second TYPE for %s", name)
			}
			if sampled[name] {
				return fail("TYPE after samples")
			}
			if err := enter(name); err != nil {
				return fail("%v", err)
			}
			e.types[name] = typ
		case strings.HasPrefix(line, "#"):
			return fail("unexpected comment")
		case line == "":
			return fail("empty line")
		default:
			s, err := parseSample(line)
			if err != nil {
				return fail("%v", err)
			}
			s.family = s.name
			if _, ok := e.types[s.name]; !ok {
				for _, suf := range []string{"_bucket", "_sum", "_count"} {
					if base, ok := strings.CutSuffix(s.name, suf); ok && e.types[base] == "histogram" {
						s.family = base
					}
				}
			}
			typ, ok := e.types[s.family]
			if !ok {
				return fail("sample without TYPE")
			}
			if s.family != current {
				return fail("sample of %s inside family %s", s.family, current)
			}
			if typ == "histogram" && s.name == s.family {
				return fail("histogram sample without suffix")
			}
			_, hasLE := s.labels["le"]
			if typ == "histogram" && hasLE != strings.HasSuffix(s.name, "_bucket") {
				return fail("le label must be present exactly on _bucket samples")
			}
			if typ == "counter" && s.value < 0 {
				return fail("negative counter")
			}
			id := seriesID(s.name, s.labels)
			if series[id] {
				return fail("duplicate series")
			}
			series[id] = true
			sampled[s.family] = true
			e.samples = append(e.samples, s)
		}
	}
	if err := checkHistograms(e); err != nil {
		return nil, err
	}
	return e, nil
}

func parseSample(line string) (parsedSample, error) {
	s := parsedSample{labels: map[string]string{}}
	end := strings.IndexAny(line, "{ ")
	if end < 0 {
		return s, errors.New("no value")
	}
	s.name = line[:end]
	if !reMetricName.MatchString(s.name) {
		return s, errors.New("bad metric name")
	}
	rest := line[end:]
	if strings.HasPrefix(rest, "{") {
		rest = rest[1:]
		for !strings.HasPrefix(rest, "}") {
			eq := strings.Index(rest, `="`)
			if eq < 0 {
				return s, errors.New(`expected label="value"`)
			}
			ln := rest[:eq]
			if !reLabelName.MatchString(ln) {
				return s, fmt.Errorf("bad label name %q", ln)
			}
			if _, dup := s.labels[ln]; dup {
				return s, fmt.Errorf("duplicate label %q", ln)
			}
			rest = rest[eq+2:]
			closing := -1
			for j := 0; j < len(rest); j++ {
				if rest[j] == '\\' {
					j++
					continue
				}
				if rest[j] == '"' {
					closing = j
					break
				}
			}
			if closing < 0 {
				return s, errors.New("unterminated label value")
			}
			v, err := unescape(rest[:closing], true)
			if err != nil {
				return s, err
			}
			s.labels[ln] = v
			rest = rest[closing+1:]
			if strings.HasPrefix(rest, ",") {
				rest = rest[1:]
			} else if !strings.HasPrefix(rest, "}") {
				return s, errors.New("expected , or } after label value")
			}
		}
		rest = rest[1:]
	}
	fields, ok := strings.CutPrefix(rest, " ")
	if !ok {
		return s, errors.New("expected single space before value")
	}
	f := strings.Split(fields, " ")
	if len(f) > 2 || !reValue.MatchString(f[0]) {
		return s, errors.New("bad value")
	}
	if len(f) == 2 && !reTimestamp.MatchString(f[1]) {
		return s, errors.New("bad timestamp")
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return s, err
	}
	s.value = v
	return s, nil
}

// unescape decodes HELP text (\\ and \n) or label values (also \").
func unescape(s string, quoted bool) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if quoted && c == '"' {
			return "", errors.New("unescaped double quote")
		}
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(s) {
			return "", errors.New("trailing backslash")
		}
		switch s[i] {
		case '\\':
			b.WriteByte('\\')
		case 'n':
			b.WriteByte('\n')
		case '"':
			if !quoted {
				return "", errors.New(`\" is not an escape in HELP`)
			}
			b.WriteByte('"')
		default:
			return "", fmt.Errorf("invalid escape \\%c", s[i])
		}
	}
	return b.String(), nil
}

func seriesID(name string, labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(name)
	for _, k := range keys {
		fmt.Fprintf(&b, "\x00%s\x00%s", k, labels[k])
	}
	return b.String()
}

// checkHistograms verifies every histogram series: le bounds strictly
// increasing and ending in +Inf, cumulative counts non-decreasing, the +Inf
// bucket equal to _count, and _sum and _count present.
func checkHistograms(e *exposition) error {
	type group struct {
		les, counts    []float64
		count          float64
		hasSum, hasCnt bool
	}
	groups := map[string]*group{}
	var order []string
	for _, s := range e.samples {
		if e.types[s.family] != "histogram" {
			continue
		}
		rest := map[string]string{}
		for k, v := range s.labels {
			if k != "le" {
				rest[k] = v
			}
		}
		id := seriesID(s.family, rest)
		g := groups[id]
		if g == nil {
			g = &group{}
			groups[id] = g
			order = append(order, id)
		}
		switch {
		case strings.HasSuffix(s.name, "_bucket"):
			le, err := strconv.ParseFloat(s.labels["le"], 64)
			if err != nil {
				return fmt.Errorf("%s: bad le %q", s.name, s.labels["le"])
			}
			g.les = append(g.les, le)
			g.counts = append(g.counts, s.value)
		case strings.HasSuffix(s.name, "_sum"):
			g.hasSum = true
		case strings.HasSuffix(s.name, "_count"):
			g.hasCnt, g.count = true, s.value
		}
	}
	for _, id := range order {
		g := groups[id]
		name := strings.ReplaceAll(id, "\x00", " ")
		if len(g.les) == 0 || !math.IsInf(g.les[len(g.les)-1], 1) {
			return fmt.Errorf("histogram %s: no le=\"+Inf\" bucket", name)
		}
		for i := 1; i < len(g.les); i++ {
			if !(g.les[i] > g.les[i-1]) {
				return fmt.Errorf("histogram %s: le not increasing", name)
			}
			if g.counts[i] < g.counts[i-1] {
				return fmt.Errorf("histogram %s: buckets not cumulative", name)
			}
		}
		if !g.hasSum || !g.hasCnt {
			return fmt.Errorf("histogram %s: missing _sum or _count", name)
		}
		if g.counts[len(g.counts)-1] != g.count {
			return fmt.Errorf("histogram %s: +Inf bucket %v != _count %v", name, g.counts[len(g.counts)-1], g.count)
		}
	}
	return nil
}

// ---- tests ----

func TestGrammarCheckerRejects(t *testing.T) {
	bad := []string{
		"a 1",                                // no trailing newline
		"a 1\n",                              // no TYPE
		"# TYPE a counter\n\n",               // empty line
		"# TYPE a counter\na 1 \n",           // trailing space
		"# TYPE a counter\na  1\n",           // double space
		"# TYPE a counter\na{} x\n",          // bad value
		"# TYPE a counter\na inf\n",          // non-canonical Inf
		"# TYPE a counter\na -1\n",           // negative counter
		"# TYPE a counter\na{b=\"c} 1\n",     // unterminated
		"# TYPE a counter\na{b=\"\\t\"} 1\n", // bad escape
		"# TYPE a counter\na{b=\"\"\"} 1\n",  // raw quote
		"# TYPE a counter\na{0b=\"c\"} 1\n",  // bad label name
		"# TYPE a counter\na{b=\"1\",b=\"2\"} 1\n",
		"# TYPE a counter\na 1\na 2\n",          // duplicate series
		"# TYPE a counter\n# TYPE a gauge\n",    // two TYPEs
		"# TYPE a counter\na 1\n# HELP a x\n",   // HELP after samples
		"# HELP a x\\y\n# TYPE a counter\n",     // bad HELP escape
		"# TYPE a foo\n",                        // unknown type
		"# TYPE a gauge\n# TYPE b gauge\na 1\n", // sample outside its family
		"# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\n# HELP a again\n",
		"# comment\n",
		"# TYPE 1a gauge\n",
		"# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 2\n",                       // +Inf != count
		"# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n", // not cumulative
		"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",                          // no +Inf
		"# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n",                                // no _sum
		"# TYPE h histogram\nh 1\n",
		"# TYPE h histogram\nh_sum{le=\"1\"} 1\n",
	}
	for _, text := range bad {
		if _, err := parseExposition(text); err == nil {
			t.Errorf("checker accepted %q", text)
		}
	}
	good := "# HELP a x\\\\y\\n\"z\n# TYPE a gauge\na{b=\"\\\\\\\"\\n\",c=\"\"} -1.5e-07 123\na NaN\n" +
		"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n"
	e, err := parseExposition(good)
	if err != nil {
		t.Fatalf("checker rejected valid text: %v", err)
	}
	if e.help["a"] != "x\\y\n\"z" {
		t.Errorf("HELP unescaped to %q", e.help["a"])
	}
	if v, ok := e.value("a", "b", "\\\"\n", "c", ""); !ok || v != -1.5e-07 {
		t.Errorf("label value unescaping: got %v, %v", v, ok)
	}
}

func TestAppendFloat(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{math.Copysign(0, -1), "0"},
		{1, "1"},
		{-1, "-1"},
		{42, "42"},
		{1e6, "1000000"},
		{-123456789, "-123456789"},
		{1<<53 - 1, "9007199254740991"},
		{1 << 53, "9.007199254740992e+15"},
		{1e21, "1e+21"},
		{1.5, "1.5"},
		{0.0001, "0.0001"},
		{0.00025, "0.00025"},
		{1e-5, "1e-05"},
		{0.30000000000000004, "0.30000000000000004"},
		{123456.5, "123456.5"},
		{1234567.5, "1.2345675e+06"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{math.SmallestNonzeroFloat64, "5e-324"},
		{math.Inf(1), "+Inf"},
		{math.Inf(-1), "-Inf"},
		{math.NaN(), "NaN"},
	} {
		got := string(appendFloat(nil, tc.in))
		if got != tc.want {
			t.Errorf("appendFloat(%v) = %q, want %q", tc.in, got, tc.want)
		}
		if back, err := strconv.ParseFloat(got, 64); err != nil || (back != tc.in && !math.IsNaN(tc.in)) {
			t.Errorf("appendFloat(%v) = %q does not parse back (%v, %v)", tc.in, got, back, err)
		}
		if !reValue.MatchString(got) {
			t.Errorf("appendFloat(%v) = %q not in the value grammar", tc.in, got)
		}
	}
}

func TestEscaping(t *testing.T) {
	r := NewRegistry()
	r.Gauge("g", "back\\slash, new\nline, \"quotes\" stay").Set(1)
	v := r.CounterVec("c_total", "Help.", "path")
	v.With(`C:\dir`).Inc()
	v.With("line1\nline2").Inc()
	v.With(`say "hi"`).Inc()
	v.With("bad\xffutf8").Inc()
	r.Counter("invalid_help", "caf\xe9").Inc()
	expectOutput(t, r, `# HELP c_total Help.
# TYPE c_total counter
c_total{path="C:\\dir"} 1
c_total{path="bad`+"\uFFFD"+`utf8"} 1
c_total{path="line1\nline2"} 1
c_total{path="say \"hi\""} 1
# HELP g back\\slash, new\nline, "quotes" stay
# TYPE g gauge
g 1
# HELP invalid_help caf`+"\uFFFD"+`
# TYPE invalid_help counter
invalid_help 1
`)
	e, _ := parseExposition(render(t, r))
	if got := e.help["g"]; got != "back\\slash, new\nline, \"quotes\" stay" {
		t.Errorf("HELP round trip: %q", got)
	}
	for _, val := range []string{`C:\dir`, "line1\nline2", `say "hi"`} {
		if _, ok := e.value("c_total", "path", val); !ok {
			t.Errorf("label value %q does not round trip", val)
		}
	}
}

// TestWriteToAllTypes is the golden test for a registry holding every kind
// of metric, registered out of order.
func TestWriteToAllTypes(t *testing.T) {
	r := NewRegistry()
	h := r.Histogram("z_latency_seconds", "Latency.", []float64{0.1, 1})
	hv := r.HistogramVec("y_size_bytes", "Size.", []float64{10}, "kind")
	gv := r.GaugeVec("x_rooms", "Rooms.", "node", "zone")
	cv := r.CounterVec("w_msgs_total", "Messages.", "transport")
	r.GaugeFunc("v_func_gauge", "Func gauge.", func() float64 { return -2.5 })
	r.CounterFunc("u_func_total", "Func counter.", func() float64 { return 7 })
	g := r.Gauge("t_gauge", "")
	c := r.Counter("s_total", "Counter.")
	r.CounterVec("r_unused_total", "Never used: omitted.", "a")

	c.Add(3)
	g.Set(1e6)
	cv.With("ws").Add(2)
	cv.With("sse").Inc()
	gv.With("n2", "eu").Set(3)
	gv.With("n1", "us").Set(0.5)
	gv.With("n1", "eu").Set(-1)
	hv.With("text").Observe(3)
	hv.With("binary").Observe(30)
	h.Observe(0.05)
	h.Observe(0.1)
	h.Observe(0.5)
	h.Observe(7)

	expectOutput(t, r, `# HELP s_total Counter.
# TYPE s_total counter
s_total 3
# TYPE t_gauge gauge
t_gauge 1000000
# HELP u_func_total Func counter.
# TYPE u_func_total counter
u_func_total 7
# HELP v_func_gauge Func gauge.
# TYPE v_func_gauge gauge
v_func_gauge -2.5
# HELP w_msgs_total Messages.
# TYPE w_msgs_total counter
w_msgs_total{transport="sse"} 1
w_msgs_total{transport="ws"} 2
# HELP x_rooms Rooms.
# TYPE x_rooms gauge
x_rooms{node="n1",zone="eu"} -1
x_rooms{node="n1",zone="us"} 0.5
x_rooms{node="n2",zone="eu"} 3
# HELP y_size_bytes Size.
# TYPE y_size_bytes histogram
y_size_bytes_bucket{kind="binary",le="10"} 0
y_size_bytes_bucket{kind="binary",le="+Inf"} 1
y_size_bytes_sum{kind="binary"} 30
y_size_bytes_count{kind="binary"} 1
y_size_bytes_bucket{kind="text",le="10"} 1
y_size_bytes_bucket{kind="text",le="+Inf"} 1
y_size_bytes_sum{kind="text"} 3
y_size_bytes_count{kind="text"} 1
# HELP z_latency_seconds Latency.
# TYPE z_latency_seconds histogram
z_latency_seconds_bucket{le="0.1"} 2
z_latency_seconds_bucket{le="1"} 3
z_latency_seconds_bucket{le="+Inf"} 4
z_latency_seconds_sum 7.65
z_latency_seconds_count 4
`)
}

func TestWriteToEmpty(t *testing.T) {
	r := NewRegistry()
	expectOutput(t, r, "")
	r.GaugeVec("empty", "No children.", "a")
	expectOutput(t, r, "")
}

type errWriter struct{ n int }

func (w *errWriter) Write(p []byte) (int, error) {
	if w.n == 0 {
		return 0, io.ErrClosedPipe
	}
	w.n--
	return len(p), nil
}

type shortWriter struct{}

func (shortWriter) Write(p []byte) (int, error) { return len(p) / 2, nil }

type countingWriter struct {
	bytes.Buffer
	calls int
}

func (w *countingWriter) Write(p []byte) (int, error) { w.calls++; return w.Buffer.Write(p) }

func TestWriteToErrorsAndChunks(t *testing.T) {
	r := NewRegistry()
	v := r.CounterVec("big_total", "Many children.", "id")
	for i := range 2000 {
		v.With(strconv.Itoa(i)).Inc()
	}
	r.Counter("other_total", "x").Inc()
	want := render(t, r)
	if len(want) <= 2*flushSize {
		t.Fatalf("test output too small (%d bytes) to exercise chunking", len(want))
	}

	var cw countingWriter
	n, err := r.WriteTo(&cw)
	if err != nil || n != int64(len(want)) || cw.String() != want {
		t.Fatalf("chunked WriteTo: n=%d err=%v equal=%v", n, err, cw.String() == want)
	}
	if cw.calls < 2 {
		t.Errorf("expected several writes, got %d", cw.calls)
	}

	if n, err := r.WriteTo(&errWriter{}); !errors.Is(err, io.ErrClosedPipe) || n != 0 {
		t.Errorf("failing writer: n=%d err=%v", n, err)
	}
	if _, err := r.WriteTo(&errWriter{n: 1}); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("writer failing on second write: err=%v", err)
	}
	if _, err := r.WriteTo(shortWriter{}); !errors.Is(err, io.ErrShortWrite) {
		t.Errorf("short writer: err=%v", err)
	}
}

func TestHandler(t *testing.T) {
	r := NewRegistry()
	r.Counter("requests_total", "Requests.").Add(5)
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()

	for _, method := range []string{http.MethodGet, http.MethodHead} {
		req, _ := http.NewRequest(method, srv.URL, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", method, resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", method, ct)
		}
		want := "# HELP requests_total Requests.\n# TYPE requests_total counter\nrequests_total 5\n"
		if method == http.MethodHead {
			want = ""
		}
		if string(body) != want {
			t.Errorf("%s: body %q, want %q", method, body, want)
		}
	}

	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
		req, _ := http.NewRequest(method, srv.URL, strings.NewReader("x"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s: status %d, want 405", method, resp.StatusCode)
		}
		if allow := resp.Header.Get("Allow"); allow != "GET, HEAD" {
			t.Errorf("%s: Allow %q", method, allow)
		}
	}
}

// TestParseBack feeds a registry full of awkward names, values and label
// values through the grammar checker and checks that values survive.
func TestParseBack(t *testing.T) {
	r := NewRegistry()
	RuntimeMetrics(r)
	r.Gauge("special:colon_name", "Colons are legal in metric names.").Set(math.NaN())
	r.Gauge("_leading_underscore", "x").Set(math.Inf(-1))
	r.Gauge("tiny", "x").Set(5e-324)
	r.Gauge("huge", "x").Set(-math.MaxFloat64)
	r.Counter("inf_total", "x").Add(math.Inf(1))
	r.CounterFunc("fn_total", "x", func() float64 { return 0.1 })
	weird := []string{"", " ", "\\", "\"", "\n", "\\n", "}", "{", ",", "=", "le", "ünïcödé ✓", "\x00", "\t\r"}
	cv := r.CounterVec("weird_total", "Weird\\ help\n\"text\"", "_a", "B9")
	hv := r.HistogramVec("weird_hist", "x", []float64{-1, 0, 1e-9, 1e9}, "v")
	for i, a := range weird {
		cv.With(a, weird[len(weird)-1-i]).Add(float64(i) + 0.5)
		hv.With(a).Observe(float64(i) - 2)
	}
	e, err := parseExposition(render(t, r))
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range weird {
		if v, ok := e.value("weird_total", "_a", a, "B9", weird[len(weird)-1-i]); !ok || v != float64(i)+0.5 {
			t.Errorf("weird_total{_a=%q}: %v %v", a, v, ok)
		}
		if v, ok := e.value("weird_hist_count", "v", a); !ok || v != 1 {
			t.Errorf("weird_hist_count{v=%q}: %v %v", a, v, ok)
		}
	}
	checks := map[string]float64{"_leading_underscore": math.Inf(-1), "tiny": 5e-324, "huge": -math.MaxFloat64, "inf_total": math.Inf(1), "fn_total": 0.1}
	for name, want := range checks {
		if v, ok := e.value(name); !ok || v != want {
			t.Errorf("%s = %v (%v), want %v", name, v, ok, want)
		}
	}
	if v, ok := e.value("special:colon_name"); !ok || !math.IsNaN(v) {
		t.Errorf("special:colon_name = %v (%v), want NaN", v, ok)
	}
	if e.help["weird_total"] != "Weird\\ help\n\"text\"" {
		t.Errorf("help = %q", e.help["weird_total"])
	}
	var names []string
	for name := range e.types {
		names = append(names, name)
	}
	// Families appear sorted by name.
	var order []string
	for _, s := range e.samples {
		if len(order) == 0 || order[len(order)-1] != s.family {
			order = append(order, s.family)
		}
	}
	if !slices.IsSorted(order) || len(order) != len(names) {
		t.Errorf("families not sorted or missing: %v", order)
	}
}

func BenchmarkWriteTo(b *testing.B) {
	r := NewRegistry()
	RuntimeMetrics(r)
	cv := r.CounterVec("msgs_total", "x", "transport", "code")
	hv := r.HistogramVec("latency_seconds", "x", nil, "op")
	for i := range 10 {
		cv.With("ws", strconv.Itoa(i)).Inc()
		hv.With(strconv.Itoa(i)).Observe(0.01)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.WriteTo(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
