package bench

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// peerRun is a fan-out report as the script records it.
func peerRun(label string, rate, offered float64, received, expected int64, errText string) Report {
	h := NewHistogram()
	h.Record(2_000_000)
	h.Record(9_000_000)
	r := Report{Scenario: "fanout", Label: label, Settings: Settings{Rate: rate}, Offered: offered,
		Received: received, Expected: expected, Rate: offered * float64(received) / float64(max(expected, 1)),
		Error: errText, LatencyHist: h, CPU: CPU{Client: 0.5, Server: 1.1}}
	r.finish()
	return r
}

func writePeerFixture(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	line := func(v any) {
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(append(j, '\n'))
	}
	line(peerMeta{Meta: "herald bench/peers/run.sh", Date: "2026-11-21T09:00:00Z", Commit: "abc1234", CPUs: 2, CPU: "EPYC",
		Memory: "24 GiB", Kernel: "6.18", Go: "go1.26.8", Load: "1.0 1.0 1.0", Conns: 1000, Duration: "2s", Rates: "50 200 1000",
		Command: "herald bench fanout ..."})
	line(map[string]string{"peer": "herald", "status": "ok", "version": "herald abc1234"})
	line(peerRun("herald/mqtt-tcp-qos0", 50, 50000, 100000, 100000, ""))
	line(peerRun("herald/mqtt-tcp-qos0", 200, 200000, 400000, 400000, ""))
	line(peerRun("herald/mqtt-tcp-qos0", 1000, 1000000, 2000000, 2000000, ""))
	line(peerRun("herald/stomp-tcp", 50, 50000, 100000, 100000, ""))
	line(peerRun("herald/stomp-tcp", 200, 200000, 300000, 400000, "timed out"))
	idle := Report{Scenario: "idle", Label: "herald/idle", Opened: 10000, Idle: &IdleResult{BytesPerConn: 2900}}
	line(idle)
	line(Report{Scenario: "chat", Label: "herald/chat", Opened: 1000, Rate: 2_100_000, Settings: Settings{Messages: 10000, Size: 64}})
	line(Report{Scenario: "rpc", Label: "herald/rpc-open", Opened: 1000, Rate: 9990, Settings: Settings{Rate: 10000},
		Latency: &Latency{P50: 400, P99: 3700}})
	line(map[string]string{"peer": "mosquitto", "status": "ok", "version": "mosquitto version 2.0.11"})
	line(peerRun("mosquitto/mqtt-tcp-qos0", 50, 50000, 100000, 100000, ""))
	line(peerRun("mosquitto/mqtt-tcp-qos0", 200, 200000, 400000, 400000, "timed out with 1 of 2"))
	line(map[string]string{"peer": "mosquitto", "row": "stomp-tcp", "na": "no STOMP"})
	line(map[string]string{"peer": "activemq", "status": "ok", "version": "activemq 5.17.2"})
	line(peerRun("activemq/mqtt-tcp-qos0", 50, 50000, 40000, 100000, "timed out"))
	line(peerRun("activemq/stomp-tcp", 50, 50000, 100000, 100000, ""))
	line(peerRun("activemq/stomp-tcp", 200, 200000, 400000, 400000, ""))
	line(map[string]any{"peer": "activemq", "row": "mqtt-tcp-qos1", "rate": 50, "error": "no report"})
	line(map[string]string{"peer": "nats", "status": "ok", "version": "nats-server: v2.9.10"})
	line(peerRun("nats/stomp-ws", 1000, 1000000, 2000000, 2000000, ""))
	line(peerRun("herald/stomp-ws", 1000, 1000000, 2000000, 2000000, ""))
	line(map[string]string{"peer": "rabbitmq", "status": "did not start", "version": "rabbitmq-server 3.10.8", "note": "port 1 | not listening"})
	name := filepath.Join(t.TempDir(), "peers.jsonl")
	if err := os.WriteFile(name, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestPeersTables(t *testing.T) {
	t.Parallel()
	var out, errw bytes.Buffer
	if code := Main([]string{"peers", writePeerFixture(t)}, &out, &errw); code != 0 {
		t.Fatalf("code %d: %s", code, errw.String())
	}
	md := out.String()
	for _, want := range []string{
		"Run of 2026-11-21T09:00:00Z, commit abc1234. Machine: 2 × EPYC, 24 GiB",
		"| herald | herald abc1234 | ok |",
		"| rabbitmq | rabbitmq-server 3.10.8 | did not start: port 1 / not listening |",
		// Herald topped the ladder: its figure and ratios are lower bounds.
		"| MQTT 3.1.1 over TCP, QoS 0 | herald | **≥ 1,000,000** (1000) | 1000 | – | 2.0 / 9.0 | 1.10 / 0.50 (load 0.0) |  |",
		"| MQTT 3.1.1 over TCP, QoS 0 | mosquitto | **200,000** (200) | 50 | ≥ 5.00 |",
		"fell behind at 200/s: timed out with 1 of 2 |",
		"| MQTT 3.1.1 over TCP, QoS 0 | activemq | **20,000** (50) | none | ≥ 50.00 |",
		"fell behind at 50/s: timed out",
		"| MQTT 3.1.1 over TCP, QoS 0 | rabbitmq | – | – | – | – | – | server did not start |",
		"| STOMP 1.2 over TCP | mosquitto | – | – | – | – | – | n/a: no STOMP |",
		"| STOMP 1.2 over TCP | herald | **150,000** (200) | 50 | – |",
		"| STOMP 1.2 over TCP | activemq | **200,000** (200) | 200 | 0.75 |",
		"| MQTT 3.1.1 over TCP, QoS 1 | activemq | – | – | – | – | – | failed at 50/s: no report |",
		"| server RSS per idle WebSocket (10000 connections, one subscription each) | ≤ 2 KiB (2,048 B) | 2,900 B | **no** |",
		"| chat, 1000 connections × 10000 broadcasts of 64 B | ≥ 1.5 M deliveries/s | 2,100,000 deliveries/s | yes |",
		"| fan-out, MQTT 3.1.1 over TCP, QoS 0 | ≥ 2× the best peer | ≥ 5.00× mosquitto (peaks of 1,000,000 vs 200,000 deliveries/s) | yes |",
		"| fan-out, STOMP 1.2 over TCP | ≥ 2× the best peer | 0.75× activemq (peaks of 150,000 vs 200,000 deliveries/s) | **no** |",
		"| STOMP 1.2 over WebSocket | nats | **≥ 1,000,000** (1000) | 1000 | ? (both kept up with the top rate) |",
		"| fan-out, STOMP 1.2 over WebSocket | ≥ 2× the best peer | Herald and nats both kept up with the top rate (peaks of 1,000,000 vs 1,000,000 deliveries/s): raise RATES | undetermined |",
		"| fan-out, MQTT 3.1.1 over WebSocket, QoS 0 | ≥ 2× the best peer | Herald not measured | – |",
		"| RPC p99 at 10,000 req/s offered (1000 connections, open loop) | ≤ 1 ms | 3.70 ms (p50 0.40 ms, 9,990 req/s answered) | **no** |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(md)
	}
	if code := Main([]string{"peers"}, &out, &errw); code != 2 {
		t.Fatalf("no file: code %d", code)
	}
}
