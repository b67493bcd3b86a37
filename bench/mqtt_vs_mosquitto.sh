#!/usr/bin/env bash
# MQTT fan-out, Herald against mosquitto, in one run (issue #4).
#
# Both brokers run on loopback at once; every measurement alternates
# Herald and mosquitto so drift on the shared machine hits both. For each
# transport (TCP; WebSocket when the broker has it) and QoS (0, 1): 1,000
# subscribers of one topic, one publisher at 50, 100, 250, 500, 1000, 2000
# msgs/s for $DUR each, climbing until a run falls behind. Reported per row:
# saturation, the highest rate where every delivery arrived and the
# delivery rate (deliveries over the whole run, drain included) stayed
# within 95% of the offered one; and p50/p99 latency at the common lowest
# rate, 50 msgs/s (50,000 deliveries/s).
#
# Output: JSON lines in bench/results/<date>-mqtt.jsonl, a Markdown table on
# stdout. Needs /usr/sbin/mosquitto and jq. Runs in about 3 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS=${CONNS:-1000}
DUR=${DUR:-3s}
RATES=${RATES:-"50 100 250 500 1000 2000"}
MOSQUITTO=${MOSQUITTO:-/usr/sbin/mosquitto}
BIN=/tmp/herald-mqtt
OUT=bench/results/$(date -u +%F)-mqtt.jsonl

go build -o "$BIN" ./cmd/herald
mkdir -p bench/results
. bench/lib.sh

HTTP=$(freeport) HMQTT=$(freeport) MMQTT=$(freeport) MWS=$(freeport)

"$BIN" serve --listen "127.0.0.1:$HTTP" --mqtt-listen "127.0.0.1:$HMQTT" --stomp-listen "" \
	--demo=false --log-level error >"$TMP/herald.log" 2>&1 &
HPID=$!
PIDS+=("$HPID")

cat >"$TMP/mosquitto.conf" <<EOF
per_listener_settings false
allow_anonymous true
max_queued_messages 10000
log_type error
log_dest stderr
listener $MMQTT 127.0.0.1
listener $MWS 127.0.0.1
protocol websockets
EOF
"$MOSQUITTO" -c "$TMP/mosquitto.conf" >"$TMP/mosquitto.log" 2>&1 &
MPID=$!
PIDS+=("$MPID")

waitport "$HMQTT" && waitport "$HTTP" || { echo "herald did not start:"; cat "$TMP/herald.log"; exit 1; }
waitport "$MMQTT" || { echo "mosquitto did not start:"; cat "$TMP/mosquitto.log"; exit 1; }
MOSQ_WS=1
waitport "$MWS" || MOSQ_WS=0

HVER=$("$BIN" --version 2>/dev/null | head -1 || true)
MVER=$("$MOSQUITTO" -h 2>/dev/null | head -1 || true)
echo "herald: ${HVER:-$(git rev-parse --short HEAD)} pid $HPID; $MVER pid $MPID (websockets: $MOSQ_WS)" >&2

# run SERVER TRANSPORT QOS RATE: one measurement, appended to $OUT; prints
# "ok" when every delivery arrived.
run() {
	local server=$1 tr=$2 qos=$3 rate=$4 url pid
	case $server/$tr in
	herald/tcp) url=tcp://127.0.0.1:$HMQTT pid=$HPID ;;
	herald/ws) url=ws://127.0.0.1:$HTTP/ws pid=$HPID ;;
	mosquitto/tcp) url=tcp://127.0.0.1:$MMQTT pid=$MPID ;;
	mosquitto/ws) url=ws://127.0.0.1:$MWS/mqtt pid=$MPID ;;
	esac
	local line
	line=$("$BIN" bench fanout --protocol mqtt --qos "$qos" --url "$url" --conns "$CONNS" --rate "$rate" \
		--duration "$DUR" --size 64 --timeout 4s --pid "$pid" --json --quiet \
		--label "$server $tr qos$qos" 2>>"$TMP/bench.err" || true)
	[ -n "$line" ] || { echo "bench failed: $server $tr qos$qos $rate" >&2; return; }
	echo "$line" >>"$OUT"
	echo "$line" | jq -r --arg s "$server" '"\($s) \(.label) rate \(.settings.rate): \(.received)/\(.expected) rate \(.rate)/s p50 \(.latency_us.p50 // "-")µs p99 \(.latency_us.p99 // "-")µs cpu client \(.cpu.client_cores) server \(.cpu.server_cores // 0) \(.error // "")"' >&2
	if echo "$line" | jq -e '.error == null and .received == .expected and .expected > 0 and .rate >= 0.95 * .offered' >/dev/null; then echo ok; fi
}

START=$(date -u +%FT%TZ)
declare -A alive
for tr in tcp ws; do
	for qos in 0 1; do
		for s in herald mosquitto; do alive[$s/$tr/$qos]=1; done
		[ "$tr" = ws ] && [ "$MOSQ_WS" = 0 ] && alive[mosquitto/$tr/$qos]=0
	done
done
for rate in $RATES; do
	for tr in tcp ws; do
		for qos in 0 1; do
			for s in herald mosquitto; do
				[ "${alive[$s/$tr/$qos]}" = 1 ] || continue
				[ "$(run "$s" "$tr" "$qos" "$rate")" = ok ] || alive[$s/$tr/$qos]=0
			done
		done
	done
done

# The table: one row per transport and QoS, from this run's lines.
jq -rs --arg start "$START" --argjson first "${RATES%% *}" '
  [ .[] | select(.start >= $start) ] as $all
  | def ok: .error == null and .received == .expected and .rate >= 0.95 * .offered;
    def of($s; $t; $q): [ $all[] | select(.label == "\($s) \($t) qos\($q)") ];
    def sat($rs): ([ $rs[] | select(ok) | .settings.rate ] | max) // 0;
    def at($rs): ([ $rs[] | select(.settings.rate == $first) ] | first) // {};
    def ratio($a; $b): if ($a|type) == "number" and ($b|type) == "number" and $b > 0 then "\(($a / $b * 100 | round) / 100)" else "–" end;
    def num($v): if $v == null then "–" else "\($v)" end;
  "| transport | QoS | Herald saturation msgs/s (deliveries/s) | mosquitto | ratio H/m | Herald p50 / p99 µs at \($first)/s | mosquitto p50 / p99 µs | ratio p50 / p99 | CPU H srv/client | CPU m srv/client |",
  "|---|---|---|---|---|---|---|---|---|---|",
  ( ["tcp", "ws"][] as $t | [0, 1][] as $q
    | of("herald"; $t; $q) as $h | of("mosquitto"; $t; $q) as $m
    | select(($h | length) > 0)
    | (at($h)) as $h0 | (at($m)) as $m0
    | ($h | map(select(ok)) | max_by(.settings.rate) // {}) as $hs
    | ($m | map(select(ok)) | max_by(.settings.rate) // {}) as $ms
    | "| \($t) | \($q) | \(sat($h)) (\(num($hs.rate))) | \(if ($m|length) == 0 then "n/a" else "\(sat($m)) (\(num($ms.rate)))" end) | \(ratio(sat($h); sat($m))) | \(num($h0.latency_us.p50)) / \(num($h0.latency_us.p99)) | \(num($m0.latency_us.p50)) / \(num($m0.latency_us.p99)) | \(ratio($h0.latency_us.p50; $m0.latency_us.p50)) / \(ratio($h0.latency_us.p99; $m0.latency_us.p99)) | \(num($hs.cpu.server_cores)) / \(num($hs.cpu.client_cores)) | \(num($ms.cpu.server_cores)) / \(num($ms.cpu.client_cores)) |"
  )' "$OUT"
echo
echo "$CONNS subscribers, 64-byte payloads, $DUR per rate, rates $RATES; saturation = highest rate with every delivery at >= 95% of the offered delivery rate; CPU in cores at that rate. Lines in $OUT." 
