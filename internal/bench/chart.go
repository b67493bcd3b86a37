package bench

import (
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"strings"
)

// --report FILE writes a self-contained chart of one run: throughput over
// time (the progress samples) and the latency histogram on a log scale
// with its percentiles marked. A name ending in .html gets an HTML page
// with the summary and the chart inline; anything else gets an SVG file.

// Bin is a range of latencies [Lo, Hi) in ns and how many fell in it.
type Bin struct {
	Lo, Hi int64
	Count  uint64
}

// Bins regroups the histogram into at most n bins of equal width on a
// log scale from its minimum to its maximum, for drawing. Every recorded
// value is in exactly one bin.
func (h *Histogram) Bins(n int) []Bin {
	if h == nil || h.total == 0 || n < 1 {
		return nil
	}
	lo, hi := float64(max(h.Min(), 1)), float64(max(h.max, 1))+1
	step := (math.Log10(hi) - math.Log10(lo)) / float64(n)
	bins := make([]Bin, n)
	for i := range bins {
		bins[i].Lo = int64(math.Round(math.Pow(10, math.Log10(lo)+float64(i)*step)))
		bins[i].Hi = int64(math.Round(math.Pow(10, math.Log10(lo)+float64(i+1)*step)))
	}
	bins[0].Lo, bins[n-1].Hi = 0, h.max+1
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		l, w := bucketRange(i)
		v := min(max(l+(w-1)/2, h.Min()), h.max) // the value Percentile reports
		k := 0
		if step > 0 {
			k = int((math.Log10(float64(max(v, 1))) - math.Log10(lo)) / step)
		}
		bins[min(max(k, 0), n-1)].Count += c
	}
	return bins
}

// writeReportFile writes the chart of r to name.
func writeReportFile(name string, r *Report) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	asHTML := strings.HasSuffix(strings.ToLower(name), ".html") || strings.HasSuffix(strings.ToLower(name), ".htm")
	err = writeChart(f, r, asHTML)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

const (
	chartW, chartH   = 860, 620
	plotX, plotW     = 80, 740
	thrTop, thrH     = 60, 200
	histTop, histH   = 360, 200
	histogramBinsMax = 60
)

// writeChart renders r as SVG, or as an HTML page around it.
func writeChart(w io.Writer, r *Report, asHTML bool) error {
	var b strings.Builder
	title := r.Scenario
	if r.Label != "" {
		title += " [" + r.Label + "]"
	}
	title += " · " + r.URL
	if asHTML {
		fmt.Fprintf(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>%s</title>\n", html.EscapeString(title))
		b.WriteString("<style>body{font:14px system-ui,sans-serif;margin:2em}pre{background:#f4f4f4;padding:1em;overflow-x:auto}</style></head><body>\n")
		fmt.Fprintf(&b, "<h1>herald bench %s</h1>\n<pre>", html.EscapeString(title))
		var sum strings.Builder
		writeText(&sum, r)
		b.WriteString(html.EscapeString(sum.String()))
		b.WriteString("</pre>\n")
	}
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		chartW, chartH, chartW, chartH)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", chartW, chartH)
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="15" font-weight="bold">%s</text>`+"\n", plotX, xmlEscape(title))
	writeThroughput(&b, r)
	writeLatency(&b, r)
	b.WriteString("</svg>\n")
	if asHTML {
		b.WriteString("</body></html>\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func xmlEscape(s string) string { return html.EscapeString(s) }

// writeThroughput draws messages received (and sent) per second over time.
func writeThroughput(b *strings.Builder, r *Report) {
	unit := r.Unit
	if unit == "" {
		unit = "messages"
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" font-weight="bold">%s/s over time (received, blue; sent, grey)</text>`+"\n", plotX, thrTop-8, xmlEscape(unit))
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>`+"\n", plotX, thrTop, plotW, thrH)
	if len(r.Series) == 0 {
		fmt.Fprintf(b, `<text x="%d" y="%d">no samples (the run lasted less than a second)</text>`+"\n", plotX+10, thrTop+thrH/2)
		return
	}
	tMax, vMax := 0.0, 1.0
	for _, s := range r.Series {
		tMax = max(tMax, s.T)
		vMax = max(vMax, s.Recv, s.Sent)
	}
	vMax = niceCeil(vMax)
	tMax = max(tMax, 1)
	point := func(t, v float64) string {
		return fmt.Sprintf("%.1f,%.1f", plotX+t/tMax*plotW, thrTop+thrH-v/vMax*thrH)
	}
	poly := func(id, color string, v func(Sample) float64) {
		pts := make([]string, len(r.Series))
		for i, s := range r.Series {
			pts[i] = point(s.T, v(s))
		}
		fmt.Fprintf(b, `<polyline id="%s" fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", id, color, strings.Join(pts, " "))
	}
	poly("sent", "#aaa", func(s Sample) float64 { return s.Sent })
	poly("received", "#1f6feb", func(s Sample) float64 { return s.Recv })
	for i := 0; i <= 4; i++ {
		v := vMax * float64(i) / 4
		y := float64(thrTop+thrH) - float64(i)/4*thrH
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", plotX-6, y+4, thousands(v))
	}
	fmt.Fprintf(b, `<text x="%d" y="%d">0 s</text><text x="%d" y="%d" text-anchor="end">%.1f s</text>`+"\n",
		plotX, thrTop+thrH+16, plotX+plotW, thrTop+thrH+16, tMax)
}

// writeLatency draws the latency histogram on a log scale of latency.
func writeLatency(b *strings.Builder, r *Report) {
	fmt.Fprintf(b, `<text x="%d" y="%d" font-weight="bold">latency histogram (count per bin, log scale of latency)</text>`+"\n", plotX, histTop-8)
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>`+"\n", plotX, histTop, plotW, histH)
	h := r.LatencyHist
	bins := h.Bins(histogramBinsMax)
	if len(bins) == 0 {
		fmt.Fprintf(b, `<text x="%d" y="%d">no latencies recorded</text>`+"\n", plotX+10, histTop+histH/2)
		return
	}
	var cMax uint64 = 1
	for _, bin := range bins {
		cMax = max(cMax, bin.Count)
	}
	bw := float64(plotW) / float64(len(bins))
	b.WriteString(`<g id="latency">` + "\n")
	for i, bin := range bins {
		if bin.Count == 0 {
			continue
		}
		hgt := float64(bin.Count) / float64(cMax) * histH
		fmt.Fprintf(b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#2da44e" data-lo="%d" data-hi="%d" data-count="%d"><title>%s–%s: %d</title></rect>`+"\n",
			plotX+float64(i)*bw, float64(histTop+histH)-hgt, max(bw-1, 1), hgt, bin.Lo, bin.Hi, bin.Count,
			durLabel(bin.Lo), durLabel(bin.Hi), bin.Count)
	}
	b.WriteString("</g>\n")
	lo, hi := math.Log10(float64(max(h.Min(), 1))), math.Log10(float64(max(h.Max(), 1))+1)
	x := func(v int64) float64 {
		if hi <= lo {
			return plotX
		}
		return plotX + (math.Log10(float64(max(v, 1)))-lo)/(hi-lo)*plotW
	}
	for i, p := range []struct {
		name string
		q    float64
	}{{"p50", 50}, {"p99", 99}, {"p99.9", 99.9}} {
		v := h.Percentile(p.q)
		fmt.Fprintf(b, `<line class="percentile" data-q="%s" x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#cf222e" stroke-dasharray="4 3"/>`+"\n",
			p.name, x(v), x(v), histTop, histTop+histH)
		// Labels are staggered (percentiles are often close) and put on
		// the left of their line near the right edge.
		anchor, dx := "start", 3.0
		if x(v) > plotX+plotW*0.75 {
			anchor, dx = "end", -3
		}
		fmt.Fprintf(b, `<text x="%.1f" y="%d" fill="#cf222e" text-anchor="%s">%s %s</text>`+"\n",
			x(v)+dx, histTop+14+14*i, anchor, p.name, durLabel(v))
	}
	fmt.Fprintf(b, `<text x="%d" y="%d">%s</text><text x="%d" y="%d" text-anchor="end">%s</text>`+"\n",
		plotX, histTop+histH+16, durLabel(h.Min()), plotX+plotW, histTop+histH+16, durLabel(h.Max()))
	fmt.Fprintf(b, `<text x="%d" y="%d">n = %d, mean %s</text>`+"\n", plotX, histTop+histH+36, h.Count(), durLabel(int64(h.Mean())))
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// durLabel prints ns in the unit that suits it.
func durLabel(ns int64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.2f s", float64(ns)/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", float64(ns)/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1f µs", float64(ns)/1e3)
	}
	return fmt.Sprintf("%d ns", ns)
}
