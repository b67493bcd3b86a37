package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"
	"time"
)

// Report is the result of one scenario run, printed as text or as one JSON
// line (--json). Worker processes send theirs to the parent, which merges
// them with Aggregate.
type Report struct {
	Scenario string   `json:"scenario"`
	Label    string   `json:"label,omitempty"`
	URL      string   `json:"url"`
	Start    string   `json:"start"`
	Settings Settings `json:"settings"`

	Conns  int     `json:"conns"`  // requested
	Opened int     `json:"opened"` // handshakes completed
	Failed int     `json:"failed"`
	OpenMS float64 `json:"open_ms"`

	Sent      int64    `json:"sent"`               // broadcasts, publishes or requests
	Received  int64    `json:"received"`           // deliveries or responses
	Expected  int64    `json:"expected,omitempty"` // deliveries or responses owed
	Errors    int64    `json:"errors"`
	Refused   int64    `json:"refused,omitempty"` // requests answered with an error (also counted in Errors)
	ElapsedMS float64  `json:"elapsed_ms"`        // the measured interval
	Rate      float64  `json:"rate"`              // Received per second of ElapsedMS
	Unit      string   `json:"unit,omitempty"`
	Offered   float64  `json:"offered,omitempty"` // open loop: the scheduled rate
	Latency   *Latency `json:"latency_us,omitempty"`
	Connect   *Latency `json:"connect_us,omitempty"` // dial + handshake
	CloseMS   float64  `json:"close_ms"`

	// Series is the throughput second by second (the progress line's
	// samples).
	Series []Sample `json:"series,omitempty"`

	CPU  CPU         `json:"cpu"`
	Idle *IdleResult `json:"idle,omitempty"`
	Env  Env         `json:"env"`
	// Error says why the run did not complete (timeout, failed dials...).
	Error string `json:"error,omitempty"`

	// Histograms travel from workers to the parent; not part of the
	// printed report.
	LatencyHist *Histogram `json:"latency_hist,omitempty"`
	ConnectHist *Histogram `json:"connect_hist,omitempty"`
}

// Settings echo the flags that shape a run.
type Settings struct {
	Messages int     `json:"messages,omitempty"`
	Size     int     `json:"size,omitempty"`
	Window   int     `json:"window,omitempty"`
	Rate     float64 `json:"rate,omitempty"`
	Duration string  `json:"duration,omitempty"`
	Requests int     `json:"requests,omitempty"`
	Method   string  `json:"method,omitempty"`
	Topic    string  `json:"topic,omitempty"`
	Mode     string  `json:"mode,omitempty"` // rpc: closed or open loop
	Procs    int     `json:"procs,omitempty"`
	Hold     string  `json:"hold,omitempty"`
}

// IdleResult is the idle scenario's memory figure.
type IdleResult struct {
	PID          int     `json:"pid"`
	Subscribed   int64   `json:"subscribed"`
	RSSBefore    int64   `json:"rss_before"`
	RSSAfter     int64   `json:"rss_after"`
	BytesPerConn float64 `json:"bytes_per_conn"`
	Goroutines   float64 `json:"goroutines,omitempty"`
	HeapInuse    float64 `json:"heap_inuse,omitempty"`
	Connections  float64 `json:"server_connections,omitempty"`
}

// Env describes where the client ran; the machine is shared, so the load
// average at start and end is part of every report.
type Env struct {
	Go         string  `json:"go"`
	GOMAXPROCS int     `json:"gomaxprocs"`
	CPUs       int     `json:"cpus"` // CPUs this process may run on
	LoadStart  float64 `json:"loadavg_start"`
	LoadEnd    float64 `json:"loadavg_end"`
}

func newReport(c *Config) *Report {
	return &Report{
		Scenario: c.Scenario,
		Label:    c.Label,
		URL:      c.URL,
		Start:    time.Now().UTC().Format(time.RFC3339),
		Conns:    c.Conns,
		Env: Env{
			Go: runtime.Version(), GOMAXPROCS: runtime.GOMAXPROCS(0), CPUs: runtime.NumCPU(),
			LoadStart: loadAvg(),
		},
	}
}

// finish fills the derived fields.
func (r *Report) finish() {
	if r.ElapsedMS > 0 {
		r.Rate = math.Round(float64(r.Received) / (r.ElapsedMS / 1000))
	}
	r.Latency = r.LatencyHist.Summary()
	r.Connect = r.ConnectHist.Summary()
	r.Env.LoadEnd = loadAvg()
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e4) / 100 }

// Aggregate merges the reports of worker processes that ran the same
// scenario in parallel: counts add up, histograms merge, and times are
// the slowest worker's (they ran at once).
func Aggregate(reps []Report) Report {
	if len(reps) == 0 {
		return Report{}
	}
	out := reps[0]
	out.LatencyHist, out.ConnectHist = NewHistogram(), NewHistogram()
	out.Conns, out.Opened, out.Failed, out.Sent, out.Received, out.Expected, out.Errors, out.Refused = 0, 0, 0, 0, 0, 0, 0, 0
	out.CPU = CPU{}
	out.Series = nil
	var errs []string
	var idle *IdleResult
	for _, r := range reps {
		out.Conns += r.Conns
		out.Opened += r.Opened
		out.Failed += r.Failed
		out.Sent += r.Sent
		out.Received += r.Received
		out.Expected += r.Expected
		out.Errors += r.Errors
		out.Refused += r.Refused
		out.OpenMS = max(out.OpenMS, r.OpenMS)
		out.ElapsedMS = max(out.ElapsedMS, r.ElapsedMS)
		out.CloseMS = max(out.CloseMS, r.CloseMS)
		out.CPU.Client += r.CPU.Client
		out.LatencyHist.Merge(r.LatencyHist)
		out.ConnectHist.Merge(r.ConnectHist)
		out.Series = mergeSeries(out.Series, r.Series)
		if r.Error != "" {
			errs = append(errs, r.Error)
		}
		if r.Idle != nil {
			if idle == nil {
				idle = &IdleResult{}
			}
			idle.Subscribed += r.Idle.Subscribed
		}
	}
	out.Idle = idle
	out.Error = strings.Join(errs, "; ")
	out.CPU.Client = round2(out.CPU.Client)
	out.Latency = out.LatencyHist.Summary()
	out.Connect = out.ConnectHist.Summary()
	return out
}

// writeJSON prints r as one line, without the raw histograms unless keep.
func writeJSON(w io.Writer, r *Report, keep bool) error {
	cp := *r
	if !keep {
		cp.LatencyHist, cp.ConnectHist = nil, nil
	}
	b, err := json.Marshal(&cp)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// writeText prints the closing summary of a run.
func writeText(w io.Writer, r *Report) {
	label := ""
	if r.Label != "" {
		label = " [" + r.Label + "]"
	}
	fmt.Fprintf(w, "%s%s: %d of %d connections", r.Scenario, label, r.Opened, r.Conns)
	if r.Unit != "" {
		fmt.Fprintf(w, ", %d %s in %.0f ms = %.0f %s/s", r.Received, r.Unit, r.ElapsedMS, r.Rate, r.Unit)
		if r.Expected > 0 && r.Received != r.Expected {
			fmt.Fprintf(w, " (expected %d)", r.Expected)
		}
	}
	fmt.Fprintf(w, ", %d errors", r.Errors)
	if r.Refused > 0 {
		fmt.Fprintf(w, " (%d requests refused by the server)", r.Refused)
	}
	fmt.Fprintln(w)
	if l := r.Latency; l != nil {
		fmt.Fprintf(w, "  latency µs: p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  (mean %.1f, n=%d)\n",
			l.P50, l.P90, l.P99, l.P999, l.Max, l.Mean, l.Count)
	}
	if i := r.Idle; i != nil {
		fmt.Fprintf(w, "  server RSS %s -> %s: %.0f bytes per connection (%d subscribed)",
			mib(i.RSSBefore), mib(i.RSSAfter), i.BytesPerConn, i.Subscribed)
		if i.Goroutines > 0 {
			fmt.Fprintf(w, ", %.0f goroutines, heap in use %s", i.Goroutines, mib(int64(i.HeapInuse)))
		}
		fmt.Fprintln(w)
	}
	if c := r.Connect; c != nil {
		fmt.Fprintf(w, "  connect µs: p50 %.0f  p99 %.0f  max %.0f\n", c.P50, c.P99, c.Max)
	}
	fmt.Fprintf(w, "  cpu: client %.2f cores", r.CPU.Client)
	if r.CPU.Server > 0 {
		fmt.Fprintf(w, ", server %.2f cores", r.CPU.Server)
	}
	fmt.Fprintf(w, "; load average %.2f -> %.2f; %s GOMAXPROCS=%d\n", r.Env.LoadStart, r.Env.LoadEnd, r.Env.Go, r.Env.GOMAXPROCS)
	if r.Error != "" {
		fmt.Fprintf(w, "  error: %s\n", r.Error)
	}
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// mergeSeries adds the samples of processes that ran at once, interval by
// interval (they start within a few milliseconds of each other); times
// are the later of the two.
func mergeSeries(a, b []Sample) []Sample {
	out := make([]Sample, max(len(a), len(b)))
	for i := range out {
		var x, y Sample
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		out[i] = Sample{T: max(x.T, y.T), Conns: x.Conns + y.Conns, Recv: x.Recv + y.Recv, Sent: x.Sent + y.Sent, Errors: x.Errors + y.Errors}
	}
	return out
}
