package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// runTable prints a Markdown table of the JSON reports in files (or
// stdin), one row per report; lines that are not reports are skipped.
func runTable(files []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var reps []Report
	read := func(r io.Reader) error {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			var rep Report
			if json.Unmarshal(sc.Bytes(), &rep) == nil && rep.Scenario != "" {
				reps = append(reps, rep)
			}
		}
		return sc.Err()
	}
	if len(files) == 0 {
		if err := read(stdin); err != nil {
			fmt.Fprintf(stderr, "herald bench table: %v\n", err)
			return 1
		}
	}
	for _, name := range files {
		f, err := os.Open(name)
		if err == nil {
			err = read(f)
			f.Close()
		}
		if err != nil {
			fmt.Fprintf(stderr, "herald bench table: %v\n", err)
			return 1
		}
	}
	writeTable(stdout, reps)
	return 0
}

// writeTable renders reports as a Markdown table.
func writeTable(w io.Writer, reps []Report) {
	fmt.Fprintln(w, "| run | scenario | conns | result | latency p50 / p99 / p99.9 / max | CPU client / server (cores) | errors | load avg |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, r := range reps {
		label := r.Label
		if label == "" {
			label = "-"
		}
		lat := "-"
		if l := r.Latency; l != nil {
			lat = fmt.Sprintf("%s / %s / %s / %s ms", msec(l.P50), msec(l.P99), msec(l.P999), msec(l.Max))
		}
		server := "-"
		if r.CPU.Server > 0 {
			server = fmt.Sprintf("%.2f", r.CPU.Server)
		}
		errs := fmt.Sprint(r.Errors)
		if r.Error != "" {
			errs += " (" + strings.ReplaceAll(r.Error, "|", "/") + ")"
		}
		fmt.Fprintf(w, "| %s | %s | %d/%d | %s | %s | %.2f / %s | %s | %.2f → %.2f |\n",
			label, scenarioName(r), r.Opened, r.Conns, result(r), lat, r.CPU.Client, server, errs, r.Env.LoadStart, r.Env.LoadEnd)
	}
}

func scenarioName(r Report) string {
	switch r.Scenario {
	case "chat":
		return fmt.Sprintf("chat: %d broadcasts of %d B, window %d", r.Settings.Messages, r.Settings.Size, r.Settings.Window)
	case "rpc":
		if r.Settings.Mode == "open" {
			return fmt.Sprintf("rpc open loop %.0f/s, %s", r.Settings.Rate, r.Settings.Duration)
		}
		return "rpc closed loop, " + r.Settings.Duration
	case "fanout", "sse":
		mode := ""
		if r.Settings.Mode != "" && r.Scenario == "fanout" {
			mode = " " + r.Settings.Mode
		}
		return fmt.Sprintf("%s%s %.0f/s × %d B, %s", r.Scenario, mode, r.Settings.Rate, r.Settings.Size, r.Settings.Duration)
	case "idle":
		return fmt.Sprintf("idle, %d procs, hold %s", max(r.Settings.Procs, 1), r.Settings.Hold)
	}
	return r.Scenario
}

func result(r Report) string {
	if i := r.Idle; i != nil {
		s := fmt.Sprintf("**%.0f B/conn** (RSS %.1f → %.1f MiB", i.BytesPerConn, float64(i.RSSBefore)/(1<<20), float64(i.RSSAfter)/(1<<20))
		if i.Goroutines > 0 {
			s += fmt.Sprintf(", %.0f goroutines", i.Goroutines)
		}
		return s + ")"
	}
	unit := "deliveries/s"
	switch r.Scenario {
	case "rpc":
		unit = "req/s"
	case "echo":
		unit = "echoes/s"
	}
	s := fmt.Sprintf("**%s %s** (%d in %.1f s", thousands(r.Rate), unit, r.Received, r.ElapsedMS/1000)
	if r.Expected > 0 && r.Received != r.Expected {
		s += fmt.Sprintf(" of %d", r.Expected)
	}
	return s + ")"
}

func msec(us float64) string { return fmt.Sprintf("%.2f", us/1000) }

// thousands formats v with thin separators: 1,234,567.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
