package bench

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// svgDoc is what the tests read back from a chart.
type svgDoc struct {
	Polylines []struct {
		ID     string `xml:"id,attr"`
		Points string `xml:"points,attr"`
	} `xml:"polyline"`
	Groups []struct {
		ID   string `xml:"id,attr"`
		Bars []struct {
			Class string `xml:"class,attr"`
			Count string `xml:"data-count,attr"`
		} `xml:"rect"`
	} `xml:"g"`
	Lines []struct {
		Class string `xml:"class,attr"`
		Q     string `xml:"data-q,attr"`
	} `xml:"line"`
}

func parseSVG(t *testing.T, s string) svgDoc {
	t.Helper()
	var d svgDoc
	if err := xml.Unmarshal([]byte(s), &d); err != nil {
		t.Fatalf("not XML: %v\n%s", err, s)
	}
	return d
}

func chartReport() *Report {
	r := &Report{Scenario: "fanout", Label: "a<b", URL: "ws://127.0.0.1:1/ws", Unit: "deliveries"}
	for i := range 5 {
		r.Series = append(r.Series, Sample{T: float64(i + 1), Conns: 10, Recv: float64(1000 * (i + 1)), Sent: 10})
	}
	r.LatencyHist = NewHistogram()
	for v := int64(1000); v < 50_000_000; v = v * 11 / 10 {
		r.LatencyHist.Record(v)
	}
	r.finish()
	return r
}

func TestChartSVG(t *testing.T) {
	t.Parallel()
	r := chartReport()
	var b strings.Builder
	if err := writeChart(&b, r, false); err != nil {
		t.Fatal(err)
	}
	d := parseSVG(t, b.String())
	series := map[string]int{}
	for _, p := range d.Polylines {
		series[p.ID] = len(strings.Fields(p.Points))
	}
	if series["received"] != 5 || series["sent"] != 5 {
		t.Fatalf("series %v", series)
	}
	var bars, total int
	for _, g := range d.Groups {
		for _, bar := range g.Bars {
			if bar.Class == "bar" {
				n, _ := strconv.Atoi(bar.Count)
				bars++
				total += n
			}
		}
	}
	if bars == 0 || uint64(total) != r.LatencyHist.Count() {
		t.Fatalf("%d bars holding %d values, want %d", bars, total, r.LatencyHist.Count())
	}
	var qs []string
	for _, l := range d.Lines {
		if l.Class == "percentile" {
			qs = append(qs, l.Q)
		}
	}
	if strings.Join(qs, ",") != "p50,p99,p99.9" {
		t.Fatalf("percentile markers %q", qs)
	}
	if !strings.Contains(b.String(), "a&lt;b") {
		t.Fatal("label not escaped")
	}
}

func TestChartHTMLAndEmpty(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	name := filepath.Join(dir, "r.html")
	if err := writeReportFile(name, chartReport()); err != nil {
		t.Fatal(err)
	}
	page, _ := os.ReadFile(name)
	s := string(page)
	if !strings.HasPrefix(s, "<!DOCTYPE html>") || !strings.Contains(s, "fanout [a&lt;b]: ") {
		t.Fatalf("page:\n%s", s)
	}
	svg := s[strings.Index(s, "<svg") : strings.Index(s, "</svg>")+len("</svg>")]
	if d := parseSVG(t, svg); len(d.Polylines) != 2 {
		t.Fatalf("polylines %+v", d.Polylines)
	}
	// A run without samples or latencies still gives a valid chart.
	var b strings.Builder
	writeChart(&b, &Report{Scenario: "idle"}, false)
	if d := parseSVG(t, b.String()); len(d.Polylines) != 0 || len(d.Groups) != 0 {
		t.Fatalf("empty chart %+v", d)
	}
}

func TestHistogramBins(t *testing.T) {
	t.Parallel()
	h := NewHistogram()
	for _, v := range []int64{0, 1, 999, 1000, 5000, 1e6, 1e6, 3e9} {
		h.Record(v)
	}
	bins := h.Bins(10)
	var n uint64
	for i, b := range bins {
		n += b.Count
		if i > 0 && b.Lo != bins[i-1].Hi {
			t.Fatalf("bin %d starts at %d, previous ends at %d", i, b.Lo, bins[i-1].Hi)
		}
	}
	if n != h.Count() || bins[0].Lo != 0 || bins[9].Hi != 3e9+1 || bins[0].Count != 2 || bins[9].Count != 1 {
		t.Fatalf("bins %+v", bins)
	}
	one := NewHistogram()
	one.Record(42)
	if b := one.Bins(5); b[0].Count+b[4].Count != 1 {
		t.Fatalf("single value: %+v", b)
	}
}

func TestMainWritesReport(t *testing.T) {
	t.Parallel()
	b := startServer(t)
	name := filepath.Join(t.TempDir(), "fanout.svg")
	rep, code, stderr := runMain(t, "fanout", "--url", b.URL(), "--conns", "3", "--rate", "100", "--duration", "1100ms",
		"--report", name, "--progress")
	if code != 0 {
		t.Fatalf("code %d %q %s", code, rep.Error, stderr)
	}
	// --progress prints the line even though stderr is not a terminal,
	// and the samples are in the report.
	if !strings.Contains(stderr, "fanout    1s  conns      4  recv ") || len(rep.Series) < 2 || rep.Series[0].Conns != 4 {
		t.Fatalf("stderr %q, series %+v", stderr, rep.Series)
	}
	svg, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if d := parseSVG(t, string(svg)); len(d.Groups) != 1 || len(d.Groups[0].Bars) == 0 {
		t.Fatalf("chart %+v", d)
	}
}
