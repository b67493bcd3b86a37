#!/usr/bin/env bash
# One MQTT connection's publish rate on a single node and on a three-node
# cluster (ADR 0018): bench/cmd/mqttpubrate publishes $N messages to one
# topic over one connection, QoS 1 with 1 and with $INFLIGHT
# unacknowledged, and QoS 0 (ended by one QoS 1 publish).
#
# BIN=path uses that herald binary instead of building this tree (to
# compare with an older build). Output: a Markdown table on stdout, kept
# (appended) in bench/results/<date>-pubrate.txt. Runs in well under a
# minute.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-5000}
INFLIGHT=${INFLIGHT:-100}
RATE=/tmp/mqttpubrate
OUT=bench/results/$(date -u +%F)-pubrate.txt
if [ -z "${BIN:-}" ]; then
	BIN=/tmp/herald-pubrate-bench
	go build -o "$BIN" ./cmd/herald
fi
go build -o "$RATE" ./bench/cmd/mqttpubrate
mkdir -p bench/results
. bench/lib.sh


common=(serve --demo=false --log-level warn)
single=$(freeport) singlemq=$(freeport) singlest=$(freeport)
"$BIN" "${common[@]}" --listen "127.0.0.1:$single" --mqtt-listen "127.0.0.1:$singlemq" --stomp-listen "127.0.0.1:$singlest" >"$TMP/single.log" 2>&1 &
PIDS+=($!)
http=() route=() mq=() st=()
for i in 0 1 2; do http+=("$(freeport)"); route+=("$(freeport)"); mq+=("$(freeport)"); st+=("$(freeport)"); done
for i in 0 1 2; do
	seeds=()
	for j in 0 1 2; do [ "$j" != "$i" ] && seeds+=("127.0.0.1:${route[$j]}"); done
	"$BIN" "${common[@]}" --listen "127.0.0.1:${http[$i]}" --mqtt-listen "127.0.0.1:${mq[$i]}" --stomp-listen "127.0.0.1:${st[$i]}" --cluster-name bench --cluster-node "n$i" \
		--cluster-listen "127.0.0.1:${route[$i]}" --cluster-routes "$(IFS=,; echo "${seeds[*]}")" >"$TMP/n$i.log" 2>&1 &
	PIDS+=($!)
done
waitready "$single"
for p in "${http[@]}"; do waitready "$p"; done
# The stream may take a moment after readiness: a warm-up run.
for _ in $(seq 50); do "$RATE" --addr "127.0.0.1:${mq[0]}" --n 10 --topic bench/warm >/dev/null 2>&1 && break; sleep 0.2; done

{
	echo "Herald ${LABEL:-$(git describe --always --dirty)}, $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(go version | cut -d' ' -f3)"
	echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	echo "| setup | MQTT QoS 1, 1 in flight | MQTT QoS 1, $INFLIGHT in flight | MQTT QoS 0 | STOMP SEND+RECEIPT, $INFLIGHT in flight |"
	echo "|---|---|---|---|---|"
} | tee -a "$OUT"
rate() { "$RATE" --addr "$1" --n "$N" "${@:2}" | sed -n 's/.*: \([0-9]*\) msg\/s$/\1/p'; }
row() { # name mqtt stomp
	printf '| %s | %s msg/s | %s msg/s | %s msg/s | %s msg/s |\n' "$1" "$(rate "$2" --qos 1 --inflight 1 --topic "b/$RANDOM")" \
		"$(rate "$2" --qos 1 --inflight "$INFLIGHT" --topic "b/$RANDOM")" "$(rate "$2" --qos 0 --topic "b/$RANDOM")" \
		"$(rate "" --stomp "$3" --inflight "$INFLIGHT" --topic "b/$RANDOM")" | tee -a "$OUT"
}
row "single node" "127.0.0.1:$singlemq" "127.0.0.1:$singlest"
row "three-node cluster" "127.0.0.1:${mq[0]}" "127.0.0.1:${st[0]}"
