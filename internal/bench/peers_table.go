package bench

import (
	"fmt"
	"io"
	"strings"
)

// writePeers renders the results: machine and versions, the fan-out
// table with ratios to Herald, and the targets.
func writePeers(w io.Writer, res *peerResults) {
	m := res.meta
	fmt.Fprintf(w, "Run of %s, commit %s", m.Date, m.Commit)
	if m.Dirty > 0 {
		fmt.Fprintf(w, " (plus %d uncommitted files)", m.Dirty)
	}
	fmt.Fprintf(w, ". Machine: %d × %s, %s, Linux %s, %s; load average at the start %s. "+
		"Every server and the load client share the machine; during the fan-out rows every server is up and one is measured at a time.\n\n",
		m.CPUs, m.CPU, m.Memory, m.Kernel, m.Go, m.Load)
	fmt.Fprintf(w, "Each row: `%s`, R climbing %s publications/s until a run falls behind; one warm-up run first.\n\n", m.Command, m.Rates)

	names := res.serverNames()
	fmt.Fprintln(w, "| server | version | status |")
	fmt.Fprintln(w, "|---|---|---|")
	for _, n := range names {
		s := res.server(n)
		st := s.status
		if s.note != "" {
			st += ": " + s.note
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", n, mdCell(s.version), mdCell(st))
	}
	fmt.Fprintln(w)

	fmt.Fprintf(w, "Fan-out to %d subscribers of one topic, 64-byte payloads. **Peak deliveries/s** is the most any run of the ladder delivered "+
		"(counted to the last delivery, so a run that fell behind still counts what arrived); **kept up to** is the highest rate with every delivery "+
		"at ≥ 90%% of the offered rate; **Herald ÷** is Herald's peak over the server's (> 1: Herald ahead; ≥ when Herald kept up with the top rate, "+
		"so its figure is a lower bound); latency is from the publisher's due time to the subscriber, at the lowest rate; CPU and the machine's load average are those of the peak run.\n\n", m.Conns)
	fmt.Fprintln(w, "| protocol | server | peak deliveries/s (at publications/s) | kept up to (publications/s) | Herald ÷ | p50 / p99 ms at the lowest rate | server / client CPU in cores (load average) | note |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, row := range peerRows {
		h := res.cell("herald", row.key)
		for _, n := range names {
			if row.key == "json-ws" && n != "herald" {
				continue
			}
			s := res.server(n)
			c := res.cell(n, row.key)
			figure, kept, ratio, lat, cpu, note := "–", "–", "–", "–", "–", c.note
			if s.status != "ok" && s.status != "" {
				note = "server " + s.status
			}
			if c.ok {
				figure = thousands(c.rate)
				if c.topped {
					figure = "≥ " + figure
				}
				figure = fmt.Sprintf("**%s** (%.0f)", figure, c.peak.Settings.Rate)
				kept = "none"
				if c.keptUp > 0 {
					kept = fmt.Sprintf("%.0f", c.keptUp)
				}
				if n != "herald" && h.ok && c.rate > 0 {
					ratio = peerRatio(h, c)
				}
				if l := c.low.Latency; l != nil {
					lat = fmt.Sprintf("%.1f / %.1f", l.P50/1000, l.P99/1000)
				}
				cpu = fmt.Sprintf("%.2f / %.2f (load %.1f)", c.peak.CPU.Server, c.peak.CPU.Client, c.peak.Env.LoadStart)
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", row.name, n, figure, kept, ratio, lat, cpu, mdCell(note))
		}
	}
	fmt.Fprintln(w)
	writePeerTargets(w, res)
}

// writePeerTargets prints each issue target beside the measured figure.
func writePeerTargets(w io.Writer, res *peerResults) {
	fmt.Fprintln(w, "| target (issue #8) | goal | measured in this run | met |")
	fmt.Fprintln(w, "|---|---|---|---|")
	first := func(label string) *Report {
		if r := res.runs[label]; len(r) > 0 {
			return &r[0]
		}
		return nil
	}
	yes := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "**no**"
	}
	if r := first("herald/idle"); r != nil && r.Idle != nil {
		fmt.Fprintf(w, "| server RSS per idle WebSocket (%d connections, one subscription each) | ≤ 2 KiB (2,048 B) | %s B | %s |\n",
			r.Opened, thousands(r.Idle.BytesPerConn), yes(r.Idle.BytesPerConn <= 2048 && r.Error == ""))
	} else {
		fmt.Fprintln(w, "| server RSS per idle WebSocket | ≤ 2 KiB | not measured | – |")
	}
	if r := first("herald/chat"); r != nil {
		fmt.Fprintf(w, "| chat, %d connections × %d broadcasts of %d B | ≥ 1.5 M deliveries/s | %s deliveries/s | %s |\n",
			r.Opened, r.Settings.Messages, r.Settings.Size, thousands(r.Rate), yes(r.Rate >= 1.5e6 && r.Error == ""))
	} else {
		fmt.Fprintln(w, "| chat | ≥ 1.5 M deliveries/s | not measured | – |")
	}
	for _, row := range peerRows {
		if row.key == "json-ws" {
			continue
		}
		h := res.cell("herald", row.key)
		best, bestName := 0.0, ""
		for _, n := range res.serverNames() {
			if c := res.cell(n, row.key); n != "herald" && c.ok && c.rate > best {
				best, bestName = c.rate, n
			}
		}
		switch {
		case !h.ok:
			fmt.Fprintf(w, "| fan-out, %s | ≥ 2× the best peer | Herald not measured | – |\n", row.name)
		case bestName == "":
			fmt.Fprintf(w, "| fan-out, %s | ≥ 2× the best peer | no peer measured | – |\n", row.name)
		default:
			bc := res.cell(bestName, row.key)
			if h.topped && bc.topped {
				fmt.Fprintf(w, "| fan-out, %s | ≥ 2× the best peer | Herald and %s both kept up with the top rate (peaks of %s vs %s deliveries/s): raise RATES | undetermined |\n",
					row.name, bestName, thousands(h.rate), thousands(best))
				continue
			}
			fmt.Fprintf(w, "| fan-out, %s | ≥ 2× the best peer | %s× %s (peaks of %s vs %s deliveries/s) | %s |\n",
				row.name, peerRatio(h, bc), bestName, thousands(h.rate), thousands(best), yes(h.rate/best >= 2))
		}
	}
	if r := first("herald/rpc-open"); r != nil && r.Latency != nil {
		fmt.Fprintf(w, "| RPC p99 at %s req/s offered (%d connections, open loop) | ≤ 1 ms | %.2f ms (p50 %.2f ms, %s req/s answered) | %s |\n",
			thousands(r.Settings.Rate), r.Opened, r.Latency.P99/1000, r.Latency.P50/1000, thousands(r.Rate),
			yes(r.Latency.P99 <= 1000 && r.Error == ""))
	} else {
		fmt.Fprintln(w, "| RPC p99 at 10,000 req/s | ≤ 1 ms | not measured | – |")
	}
}

// mdCell keeps a value inside its table cell.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", "/")
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// peerRatio is Herald's figure over the server's. A figure at the top of
// the ladder is a lower bound, so the ratio is one too when only Herald's
// is; when both are, it says nothing.
func peerRatio(h, c peerCell) string {
	r := fmt.Sprintf("%.2f", h.rate/c.rate)
	switch {
	case h.topped && c.topped:
		return "? (both kept up with the top rate)"
	case h.topped:
		return "≥ " + r
	case c.topped:
		return "≤ " + r
	}
	return r
}
