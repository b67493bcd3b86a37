#!/usr/bin/env bash
# Persistent QoS 1 publishing, Herald (data directory, each durability
# policy, and in memory) against mosquitto with persistence, in one run
# (issue #9).
#
# Every broker runs on loopback at once; the rounds alternate them so drift
# on the shared machine hits all. Each measurement: $PUBS publishers, each
# with $WINDOW unacknowledged QoS 1 PUBLISHes, for $DUR, to topics a
# persistent session (clean session 0, online) subscribes to and
# acknowledges; bench/cmd/mqttpersist reports messages acknowledged per
# second and PUBLISH-to-PUBACK latency (p50, p99).
#
# Output: JSON lines in bench/results/<date>-durable.jsonl, a Markdown table
# on stdout. Needs /usr/sbin/mosquitto and jq. Runs in about 2 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

PUBS=${PUBS:-16}
WINDOW=${WINDOW:-8}
DUR=${DUR:-5s}
ROUNDS=${ROUNDS:-3}
MOSQUITTO=${MOSQUITTO:-/usr/sbin/mosquitto}
BIN=/tmp/herald-durable
LOAD=/tmp/mqttpersist
OUT=bench/results/$(date -u +%F)-durable.jsonl

go build -o "$BIN" ./cmd/herald
go build -o "$LOAD" ./bench/cmd/mqttpersist
mkdir -p bench/results
. bench/lib.sh


declare -A PORT
# herald NAME [flags...]: one Herald on its own ports and data directory.
herald() {
	local name=$1
	shift
	local http mqtt
	http=$(freeport)
	mqtt=$(freeport)
	"$BIN" serve --listen "127.0.0.1:$http" --mqtt-listen "127.0.0.1:$mqtt" --stomp-listen "" \
		--demo=false --log-level error "$@" >"$TMP/$name.log" 2>&1 &
	PIDS+=($!)
	waitport "$mqtt" || { echo "$name did not start:"; cat "$TMP/$name.log"; exit 1; }
	PORT[$name]=$mqtt
}
herald herald-sync --data-dir "$TMP/sync" --durability-policy sync
herald herald-interval --data-dir "$TMP/interval" --durability-policy interval --durability-interval 5ms
herald herald-memory

MQ=$(freeport)
mkdir -p "$TMP/mosq"
cat >"$TMP/mosquitto.conf" <<CONF
per_listener_settings false
allow_anonymous true
persistence true
persistence_location $TMP/mosq/
max_queued_messages 100000
log_type error
log_dest stderr
listener $MQ 127.0.0.1
CONF
"$MOSQUITTO" -c "$TMP/mosquitto.conf" >"$TMP/mosquitto.log" 2>&1 &
PIDS+=($!)
waitport "$MQ" || { echo "mosquitto did not start:"; cat "$TMP/mosquitto.log"; exit 1; }
PORT[mosquitto-persist]=$MQ

echo "herald $(git rev-parse --short HEAD); $("$MOSQUITTO" -h 2>/dev/null | head -1); $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for r in $(seq "$ROUNDS"); do
	for s in herald-sync herald-interval herald-memory mosquitto-persist; do
		"$LOAD" -addr "127.0.0.1:${PORT[$s]}" -label "$s" -pubs "$PUBS" -window "$WINDOW" -dur "$DUR" |
			jq -c --arg round "$r" --arg date "$(date -u +%FT%TZ)" '. + {round: ($round|tonumber), date: $date}' | tee -a "$OUT"
	done
done | jq -rs '
	group_by(.label) | map({label: .[0].label,
		rate: (map(.acked_per_s) | sort | .[length/2|floor]),
		p50: (map(.p50_ms) | sort | .[length/2|floor]),
		p99: (map(.p99_ms) | sort | .[length/2|floor]),
		lost: (map(.acked - .delivered) | max)}) |
	"| broker | acked msgs/s (median) | p50 ms | p99 ms | acked but not delivered |",
	"|---|---|---|---|---|",
	(.[] | "| \(.label) | \(.rate|floor) | \(.p50) | \(.p99) | \(.lost) |")'
