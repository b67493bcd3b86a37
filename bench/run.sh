#!/usr/bin/env bash
# Reproduces issue #2's performance figures on this machine in under ~3
# minutes: builds bench/cmd/hbench (`herald bench` as a standalone binary),
# starts `hbench serve` (Herald embedded as a library, with an "echo"
# method) and runs against it:
#
#   idle    19,000 connections, one subscription each, from 2 worker
#           processes on source addresses 127.0.0.2-3: server RSS per connection
#   chat    1,000 connections x 10,000 broadcasts of 64 B (reference 001),
#           unpinned and pinned (server on CPU 0, client on CPU 1)
#   rpc     1,000 connections, closed loop 10 s and open loop 10,000 req/s 10 s,
#           unpinned and pinned
#
# Each run appends one JSON report per line to bench/results/<date>.jsonl
# (after a "meta" line describing the machine), and a Markdown table of
# this run is printed at the end. Every report carries the client's and
# the server's CPU use and the load average: the client shares the two
# cores with the server, and the machine with whatever else is running.
#
# Usage: bench/run.sh   (env: HBENCH=/path/to/binary; QUICK=1 for a small
# smoke run whose results are printed but not recorded)
set -euo pipefail
cd "$(dirname "$0")/.."

ulimit -n 20000
BIN=${HBENCH:-/tmp/hbench}
go build -o "$BIN" ./bench/cmd/hbench

mkdir -p bench/results
OUT=bench/results/$(date -u +%Y-%m-%d).jsonl
TMP=$(mktemp -d)
RUN=$TMP/run.jsonl
SPID=

# Figures of the target; QUICK=1 shrinks them for checking the script.
IDLE_CONNS=19000 CHAT_CONNS=1000 CHAT_MSGS=10000 RPC_CONNS=1000 RPC_SECS=10s RPC_RATE=10000
if [[ ${QUICK:-} == 1 ]]; then
	IDLE_CONNS=2000 CHAT_CONNS=100 CHAT_MSGS=1000 RPC_CONNS=100 RPC_SECS=2s RPC_RATE=2000
fi

cleanup() {
	if [[ -n $SPID ]]; then kill -TERM "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true; fi
	rm -rf "$TMP"
}
trap cleanup EXIT

# start_server CPUS: starts `hbench serve`, pinned to CPUS unless empty.
start_server() {
	local pin=$1
	: >"$TMP/serve.out"
	if [[ -n $pin ]]; then
		taskset -c "$pin" "$BIN" serve --listen 127.0.0.1:0 >"$TMP/serve.out" 2>"$TMP/serve.err" &
	else
		"$BIN" serve --listen 127.0.0.1:0 >"$TMP/serve.out" 2>"$TMP/serve.err" &
	fi
	SPID=$!
	for _ in $(seq 50); do
		[[ -s $TMP/serve.out ]] && break
		sleep 0.1
	done
	# herald bench serve: ws://127.0.0.1:PORT/ws metrics http://127.0.0.1:PORT/metrics pid N
	read -r _ _ _ URL _ METRICS _ _ <"$TMP/serve.out" || { cat "$TMP/serve.err" >&2; exit 1; }
	sleep 0.5 # let the fresh server settle before its RSS is sampled
}

stop_server() {
	kill -TERM "$SPID"
	wait "$SPID" || true
	SPID=
}

# run LABEL CLIENT_CPUS SCENARIO [FLAGS...]: one scenario, one JSON line.
run() {
	local label=$1 pin=$2
	shift 2
	echo "== $label: hbench $* (load average $(cut -d' ' -f1 /proc/loadavg))" >&2
	local cmd=("$BIN" "$@" --url "$URL" --pid "$SPID" --label "$label" --json --quiet)
	if [[ -n $pin ]]; then cmd=(taskset -c "$pin" "${cmd[@]}"); fi
	if ! "${cmd[@]}" >>"$RUN"; then
		echo "   $label did not complete cleanly; see the error field of its report" >&2
	fi
	tail -n 1 "$RUN" | "$BIN" table | tail -n 1 >&2
}

jq -nc --arg date "$(date -u +%FT%TZ)" --arg commit "$(git rev-parse --short HEAD 2>/dev/null || echo none)" \
	--arg dirty "$(git status --porcelain 2>/dev/null | wc -l)" --arg go "$(go version)" --arg kernel "$(uname -r)" \
	--arg cpus "$(nproc)" --arg cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs)" \
	--arg load "$(cat /proc/loadavg)" --arg quick "${QUICK:-0}" \
	'{meta: "herald bench/run.sh", date: $date, commit: $commit, uncommitted_files: ($dirty|tonumber), go: $go,
	  kernel: $kernel, cpus: ($cpus|tonumber), cpu: $cpu, loadavg: $load, quick: ($quick == "1"),
	  note: "server and client share this 2-core machine, and other engineers may be running work on it: see the cpu and loadavg fields of each report"}' >"$RUN"

# 1. Memory: a fresh, unpinned server; 19,000 connections from 2 processes.
start_server ""
run "idle" "" idle --conns "$IDLE_CONNS" --procs 2 --source 127.0.0.2,127.0.0.3 --hold 3s --metrics "$METRICS" --timeout 60s
stop_server

# 2. Unpinned: server and client free to use both cores.
start_server ""
run "unpinned" "" chat --conns "$CHAT_CONNS" --messages "$CHAT_MSGS" --size 64 --timeout 60s
run "unpinned" "" rpc --conns "$RPC_CONNS" --duration "$RPC_SECS"
run "unpinned" "" rpc --conns "$RPC_CONNS" --duration "$RPC_SECS" --rate "$RPC_RATE"
stop_server

# 3. Pinned: server on CPU 0, client on CPU 1.
start_server 0
run "pinned" 1 chat --conns "$CHAT_CONNS" --messages "$CHAT_MSGS" --size 64 --timeout 60s
run "pinned" 1 rpc --conns "$RPC_CONNS" --duration "$RPC_SECS"
run "pinned" 1 rpc --conns "$RPC_CONNS" --duration "$RPC_SECS" --rate "$RPC_RATE"
stop_server

echo
if [[ ${QUICK:-} == 1 ]]; then
	echo "QUICK run: results not recorded."
else
	cat "$RUN" >>"$OUT"
	echo "Results appended to $OUT."
fi
echo "Server and client share this 2-core machine with whatever else runs on it: see the CPU and load average columns."
echo
"$BIN" table "$RUN"
