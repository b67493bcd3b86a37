package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// `herald bench peers FILE` turns the results of bench/peers/run.sh (one
// JSON object per line: the run's meta line, a status line per server,
// "na" lines for rows a server cannot serve, reports labelled
// "<server>/<row>", and error lines for runs that gave no report) into
// the Markdown tables of docs/BENCHMARKS.md: machine and versions, the
// fan-out of every server per row with its ratio to Herald, and the
// issue's targets beside what was measured.

// peerRows are the fan-out rows, in the order of the tables.
var peerRows = []struct{ key, name string }{
	{"mqtt-tcp-qos0", "MQTT 3.1.1 over TCP, QoS 0"},
	{"mqtt-ws-qos0", "MQTT 3.1.1 over WebSocket, QoS 0"},
	{"mqtt-tcp-qos1", "MQTT 3.1.1 over TCP, QoS 1"},
	{"stomp-tcp", "STOMP 1.2 over TCP"},
	{"stomp-ws", "STOMP 1.2 over WebSocket"},
	{"json-ws", "herald.v1 JSON over WebSocket (Herald only)"},
}

// peerMeta is the first line of a results file.
type peerMeta struct {
	Meta     string `json:"meta"`
	Date     string `json:"date"`
	Commit   string `json:"commit"`
	Dirty    int    `json:"uncommitted_files"`
	Go       string `json:"go"`
	Kernel   string `json:"kernel"`
	CPUs     int    `json:"cpus"`
	CPU      string `json:"cpu"`
	Memory   string `json:"memory"`
	Load     string `json:"loadavg"`
	Conns    int    `json:"conns"`
	Duration string `json:"duration"`
	Rates    string `json:"rates"`
	Command  string `json:"command"`
}

// peerLine is any other line.
type peerLine struct {
	Peer    string  `json:"peer"`
	Status  string  `json:"status"`
	Version string  `json:"version"`
	Note    string  `json:"note"`
	Row     string  `json:"row"`
	NA      string  `json:"na"`
	Rate    float64 `json:"rate"`
	Error   string  `json:"error"`
}

type peerServer struct {
	name, status, version, note string
}

// peerResults is a parsed results file.
type peerResults struct {
	meta    peerMeta
	servers []peerServer
	runs    map[string][]Report // "<server>/<row>" → runs in ladder order
	na      map[string]string   // "<server>/<row>" → why not
	errs    map[string]string   // "<server>/<row>" → a run without report
}

func readPeerResults(r io.Reader) (*peerResults, error) {
	res := &peerResults{runs: map[string][]Report{}, na: map[string]string{}, errs: map[string]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		b := sc.Bytes()
		var probe struct {
			Meta     string `json:"meta"`
			Scenario string `json:"scenario"`
		}
		if json.Unmarshal(b, &probe) != nil {
			continue
		}
		switch {
		case probe.Meta != "":
			json.Unmarshal(b, &res.meta)
		case probe.Scenario != "":
			var rep Report
			if json.Unmarshal(b, &rep) == nil {
				res.runs[rep.Label] = append(res.runs[rep.Label], rep)
			}
		default:
			var l peerLine
			if json.Unmarshal(b, &l) != nil || l.Peer == "" {
				continue
			}
			key := l.Peer + "/" + l.Row
			switch {
			case l.Status != "":
				res.servers = append(res.servers, peerServer{l.Peer, l.Status, l.Version, l.Note})
			case l.NA != "":
				res.na[key] = l.NA
			case l.Error != "":
				res.errs[key] = fmt.Sprintf("at %.0f/s: %s", l.Rate, l.Error)
			}
		}
	}
	return res, sc.Err()
}

// keptUp reports whether a fan-out run delivered everything at (nearly)
// the offered rate.
func keptUp(r Report) bool {
	return r.Error == "" && r.Expected > 0 && r.Received == r.Expected && r.Rate >= 0.90*r.Offered
}

// peerCell is one server's figure for one row.
type peerCell struct {
	ok bool // a figure exists
	// rate is the peak: the most deliveries/s of any run (counted to the
	// last delivery, so a run that fell behind still says what the
	// server delivered). It is what ratios compare: the ladder's rungs
	// are too coarse for the highest rate kept up with to tell servers
	// apart.
	rate    float64
	peak    *Report
	keptUp  float64 // highest publications/s kept up with; 0 for none
	topped  bool    // the top of the ladder was kept up with: rate is a lower bound
	low     *Report // the run at the lowest rate (latency)
	fellAt  float64 // publications/s of the first run that fell behind; 0 for none
	failure string  // why that run fell behind, when it says
	note    string
}

func (res *peerResults) cell(server, row string) peerCell {
	key := server + "/" + row
	runs := res.runs[key]
	var c peerCell
	if why, ok := res.na[key]; ok {
		c.note = "n/a: " + why
		return c
	}
	if len(runs) == 0 {
		c.note = "not measured"
		if e, ok := res.errs[key]; ok {
			c.note = "failed " + e
		}
		return c
	}
	c.ok, c.low = true, &runs[0]
	for i := range runs {
		r := &runs[i]
		if c.peak == nil || r.Rate > c.peak.Rate {
			c.peak = r
		}
		if keptUp(*r) {
			c.keptUp = r.Settings.Rate
		} else if c.fellAt == 0 {
			c.fellAt, c.failure = r.Settings.Rate, r.Error
		}
	}
	c.rate = c.peak.Rate
	c.topped = c.fellAt == 0 && res.lastRate() > 0 && c.keptUp >= res.lastRate()
	if c.fellAt > 0 {
		c.note = fmt.Sprintf("fell behind at %.0f/s", c.fellAt)
		if c.failure != "" {
			c.note += ": " + c.failure
		}
	}
	if e, ok := res.errs[key]; ok {
		c.note = strings.TrimPrefix(c.note+"; failed "+e, "; ")
	}
	return c
}

// lastRate is the top of the ladder, from the meta line.
func (res *peerResults) lastRate() float64 {
	f := strings.Fields(res.meta.Rates)
	if len(f) == 0 {
		return 0
	}
	var v float64
	fmt.Sscan(f[len(f)-1], &v)
	return v
}

// serverNames lists the servers in the order they ran, Herald first.
func (res *peerResults) serverNames() []string {
	var out []string
	for _, s := range res.servers {
		if !slices.Contains(out, s.name) {
			out = append(out, s.name)
		}
	}
	if i := slices.Index(out, "herald"); i > 0 {
		out = append([]string{"herald"}, slices.Delete(out, i, i+1)...)
	}
	return out
}

func (res *peerResults) server(name string) peerServer {
	for _, s := range res.servers {
		if s.name == name {
			return s
		}
	}
	return peerServer{name: name}
}

// runPeers prints the Markdown of a results file.
func runPeers(files []string, stdout, stderr io.Writer) int {
	if len(files) != 1 {
		fmt.Fprintln(stderr, "usage: herald bench peers RESULTS.jsonl")
		return 2
	}
	f, err := os.Open(files[0])
	if err != nil {
		fmt.Fprintf(stderr, "herald bench peers: %v\n", err)
		return 1
	}
	defer f.Close()
	res, err := readPeerResults(f)
	if err != nil {
		fmt.Fprintf(stderr, "herald bench peers: %v\n", err)
		return 1
	}
	writePeers(stdout, res)
	return 0
}
