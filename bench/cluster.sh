#!/usr/bin/env bash
# Cross-node fan-out of a three-node Herald cluster against one standalone
# node, in one run (issue #10): bench/cmd/clusterfan puts $CONNS herald.v1
# subscribers of one topic on one node and $PUBS publisher connections on
# the same or another node, open loop at each rate for $DUR, and reports
# deliveries per second and send-to-receive latency.
#
# With IDLE=N (e.g. 15000) it then holds N idle connections on each of the
# three nodes at once, each from its own source address, and reports the
# memory per connection (each process stays under its open-file limit).
#
# Output: a Markdown table on stdout, kept in
# bench/results/<date>-cluster.txt. Runs in about 2 minutes (4 with IDLE).
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS=${CONNS:-100}
PUBS=${PUBS:-16}
DUR=${DUR:-10s}
RATES=${RATES:-"1000 3000"}
IDLE=${IDLE:-0}
BIN=/tmp/herald-cluster-bench
FAN=/tmp/clusterfan
OUT=bench/results/$(date -u +%F)-cluster.txt

go build -o "$BIN" ./cmd/herald
go build -o "$FAN" ./bench/cmd/clusterfan
mkdir -p bench/results
. bench/lib.sh


common=(serve --demo=false --stomp-listen= --mqtt-listen= --log-level warn)
single=$(freeport)
"$BIN" "${common[@]}" --listen "127.0.0.1:$single" >"$TMP/single.log" 2>&1 &
PIDS+=($!)
http=() route=()
for i in 0 1 2; do http+=("$(freeport)"); route+=("$(freeport)"); done
for i in 0 1 2; do
	seeds=()
	for j in 0 1 2; do [ "$j" != "$i" ] && seeds+=("127.0.0.1:${route[$j]}"); done
	"$BIN" "${common[@]}" --listen "127.0.0.1:${http[$i]}" --cluster-name bench --cluster-node "n$i" \
		--cluster-listen "127.0.0.1:${route[$i]}" --cluster-routes "$(IFS=,; echo "${seeds[*]}")" >"$TMP/n$i.log" 2>&1 &
	PIDS+=($!)
done
waitready "$single"
for p in "${http[@]}"; do waitready "$p"; done

ws() { echo "ws://127.0.0.1:$1/ws"; }
{
	echo "Herald $(git describe --always --dirty), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(go version | cut -d' ' -f3)"
	echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	echo "| setup | offered | published | deliveries/s | p50 | p90 | p99 |"
	echo "|---|---|---|---|---|---|---|"
} | tee "$OUT"
row() { # name sub pub rate
	local res
	res=$("$FAN" --sub "$(ws "$2")" --pub "$(ws "$3")" --conns "$CONNS" --pubs "$PUBS" --rate "$4" --duration "$DUR")
	local sent rate lat
	sent=$(sed -n 's/^published \([0-9]*\).*/\1/p' <<<"$res")
	rate=$(sed -n 's/.*: \([0-9]*\) deliveries\/s$/\1/p' <<<"$res")
	lat=$(sed -n 's/.*p50 \([0-9]*\)  p90 \([0-9]*\)  p99 \([0-9]*\).*/\1 \2 \3/p' <<<"$res")
	read -r p50 p90 p99 <<<"$lat"
	printf '| %s | %s msg/s × %s | %s | %s | %.1f ms | %.1f ms | %.1f ms |\n' "$1" "$4" "$CONNS" "$sent" "$rate" \
		"$(bc -l <<<"$p50/1000")" "$(bc -l <<<"$p90/1000")" "$(bc -l <<<"$p99/1000")" | tee -a "$OUT"
}
for rate in $RATES; do
	row "single node" "$single" "$single" "$rate"
	row "cluster, same node" "${http[0]}" "${http[0]}" "$rate"
	row "cluster, across nodes" "${http[0]}" "${http[1]}" "$rate"
done

if [ "$IDLE" -gt 0 ]; then
	idle=()
	for i in 0 1 2; do # all three nodes at once
		"$BIN" bench idle --url "$(ws "${http[$i]}")" --conns "$IDLE" --pid "${PIDS[$((i + 1))]}" --hold 3s \
			--source "127.0.0.$((i + 2))" --json --quiet >"$TMP/idle$i.json" &
		idle+=($!)
	done
	wait "${idle[@]}"
	echo | tee -a "$OUT"
	"$BIN" bench table "$TMP"/idle*.json | tee -a "$OUT"
fi
