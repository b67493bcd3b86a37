#!/usr/bin/env bash
# Herald side by side with its peers, in one run (issue #8).
#
# Installs what is missing (Debian: mosquitto, nats-server, activemq with
# libmqtt-client-java, rabbitmq-server; Go: bench/peers/mochi), runs
# Herald's other targets (idle memory, chat, RPC latency at 10,000 req/s)
# before any other server is up, then starts every server on 127.0.0.1 with
# non-standard ports and a configuration written to a temporary directory
# and runs the same `herald bench fanout` rows against each:
#
#   mqtt-tcp-qos0  mqtt-ws-qos0  mqtt-tcp-qos1  stomp-tcp  stomp-ws  json-ws
#
# Row by row, every server climbs a rate ladder ($RATES publications/s to
# $CONNS subscribers, $DUR each), rung by rung across the servers (so the
# servers compared on a rung are measured seconds apart), until a run
# falls behind (a delivery missing, or deliveries/s, counted to the last
# delivery, below 90% of the offered rate: about 0.3 s of backlog at the
# end of a 3 s run). A server that cannot start, or has no listener for a
# row, is recorded as such, never skipped silently. RabbitMQ's schedulers
# are told not to busy-wait (+sbwt none), since every server stays up
# while the others are measured.
#
# Output: bench/results/<date>-peers.jsonl (a meta line, one status line
# per server, one JSON report per run) and, printed and written to
# bench/results/<date>-peers.md, the Markdown tables of docs/BENCHMARKS.md
# (`herald bench peers FILE`). Bounded to about 10 minutes.
#
# Usage: bench/peers/run.sh     env: CONNS=1000 DUR=3s RATES="50 200 1000 2000"
#        PEERS="herald mosquitto nats activemq rabbitmq mochi" NO_INSTALL=1
#        IDLE_CONNS=10000 CHAT_CONNS=1000 CHAT_MSGS=10000 RPC_SECS=5s OUT=FILE.jsonl
set -euo pipefail
cd "$(dirname "$0")/../.."

CONNS=${CONNS:-1000}
DUR=${DUR:-3s}
RATES=${RATES:-"50 200 1000 2000"}
PEERS=${PEERS:-"herald mosquitto nats activemq rabbitmq mochi"}
IDLE_CONNS=${IDLE_CONNS:-10000} CHAT_CONNS=${CHAT_CONNS:-1000} CHAT_MSGS=${CHAT_MSGS:-10000} RPC_SECS=${RPC_SECS:-5s}
DATE=$(date -u +%F)
OUT=${OUT:-bench/results/$DATE-peers.jsonl}
MD=${OUT%.jsonl}.md
BIN=/tmp/herald-peers-bin
HBENCH=/tmp/hbench-peers-bin
MOCHI=/tmp/mochi-peers-bin

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
TMP=$(mktemp -d /tmp/herald-peers.XXXXXX)
chmod 755 "$TMP"
PIDS=()
EPMD_PORT=
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	[ -n "$EPMD_PORT" ] && ERL_EPMD_PORT=$EPMD_PORT epmd -kill >/dev/null 2>&1 || true
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

say() { echo "peers: $*" >&2; }

# --- install what is missing ------------------------------------------------
need_pkgs=()
[ -x /usr/sbin/mosquitto ] || need_pkgs+=(mosquitto)
command -v nats-server >/dev/null || need_pkgs+=(nats-server)
[ -f /usr/share/activemq/bin/activemq.jar ] || need_pkgs+=(activemq)
# Debian's ActiveMQ lacks the MQTT codec its MQTT transport loads.
[ -f /usr/share/java/mqtt-client.jar ] || need_pkgs+=(libmqtt-client-java)
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || need_pkgs+=(rabbitmq-server)
command -v jq >/dev/null || need_pkgs+=(jq)
if [ ${#need_pkgs[@]} -gt 0 ] && [ -z "${NO_INSTALL:-}" ]; then
	say "installing ${need_pkgs[*]}"
	SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update -qq >/dev/null || true
	# No service may start at install: the script starts its own.
	$SUDO env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >"$TMP/apt.log" 2>&1 ||
		{ say "apt-get install failed (see below); the peers it concerns will be reported as not started"; tail -5 "$TMP/apt.log" >&2; }
fi

go build -o "$BIN" ./cmd/herald
go build -o "$HBENCH" ./bench/cmd/hbench
MOCHI_ERR=
(cd bench/peers/mochi && go build -o "$MOCHI" .) 2>"$TMP/mochi-build.log" || MOCHI_ERR="build failed: $(head -c 300 "$TMP/mochi-build.log" | tr '\n"' ' _')"

DIRTY=$(git status --porcelain 2>/dev/null | wc -l) # before the results file exists
mkdir -p "$(dirname "$OUT")"
: >"$OUT.tmp"
RUN=$OUT.tmp

# freeport picks a port free on every address: libwebsockets (mosquitto)
# binds [::], which some kernels refuse for a while on a port just bound
# on 127.0.0.1 alone.
freeport() {
	python3 -c '
import socket
try:
    s = socket.socket(socket.AF_INET6); s.bind(("::", 0))
except OSError:
    s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}
waitport() { for _ in $(seq "${2:-100}"); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.2; done; return 1; }

jq -nc --arg date "$(date -u +%FT%TZ)" --arg commit "$(git rev-parse --short HEAD 2>/dev/null || echo none)" \
	--arg dirty "$DIRTY" --arg go "$(go version)" --arg kernel "$(uname -r)" \
	--arg cpus "$(nproc)" --arg cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs)" \
	--arg mem "$(free -g | awk '/Mem:/ {print $2 " GiB"}')" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
	--arg conns "$CONNS" --arg dur "$DUR" --arg rates "$RATES" \
	'{meta: "herald bench/peers/run.sh", date: $date, commit: $commit, uncommitted_files: ($dirty|tonumber), go: $go,
	  kernel: $kernel, cpus: ($cpus|tonumber), cpu: $cpu, memory: $mem, loadavg: $load,
	  conns: ($conns|tonumber), duration: $dur, rates: $rates,
	  command: "herald bench fanout --url URL [--protocol P] [--qos Q] --conns \($conns) --rate R --duration \($dur) --size 64 --timeout 3s --pid PID"}' >>"$RUN"

# status NAME STATUS VERSION [NOTE]: one line per server.
status() {
	jq -nc --arg peer "$1" --arg status "$2" --arg version "$3" --arg note "${4:-}" \
		'{peer: $peer, status: $status, version: $version, note: $note}' >>"$RUN"
}
# na NAME ROW WHY: a row this server cannot serve.
na() { jq -nc --arg peer "$1" --arg row "$2" --arg why "$3" '{peer: $peer, row: $row, na: $why}' >>"$RUN"; }

# ladder NAME ROW PID URL [ARGS...]: registers a row of a server; the
# rows are measured once every server is up (see the end).
TARGETS=()
ladder() {
	local name=$1 row=$2 pid=$3
	shift 3
	TARGETS+=("$name|$row|$pid|$*")
}

# measure NAME ROW PID RATE URL [ARGS...]: one run, appended to $RUN;
# returns 1 when the server fell behind (or gave no report).
measure() {
	local name=$1 row=$2 pid=$3 rate=$4 line
	shift 4
	line=$(timeout 60 "$BIN" bench fanout --url "$@" --conns "$CONNS" --rate "$rate" --duration "$DUR" --size 64 \
		--timeout 3s --pid "$pid" --json --quiet --label "$name/$row" 2>>"$TMP/bench.err" || true)
	if [ -z "$line" ]; then
		jq -nc --arg peer "$name" --arg row "$row" --argjson rate "$rate" '{peer: $peer, row: $row, rate: $rate, error: "no report (see stderr of the run)"}' >>"$RUN"
		say "$name $row at $rate/s: no report"
		return 1
	fi
	echo "$line" >>"$RUN"
	echo "$line" | jq -r '"peers: \(.label) \(.settings.rate)/s: \(.received)/\(.expected) at \(.rate)/s, p50 \(.latency_us.p50 // "-") µs p99 \(.latency_us.p99 // "-") µs, server cpu \(.cpu.server_cores // "-"), load \(.env.loadavg_start) \(.error // "")"' >&2
	echo "$line" | jq -e '.error == null and .expected > 0 and .received == .expected and .rate >= 0.90 * .offered' >/dev/null
}

# started NAME PID PORT...: waits for the ports; records the failure and
# returns 1 if the server did not come up.
started() {
	local name=$1 pid=$2 log=$3 p
	shift 3
	for p in "$@"; do
		if ! waitport "$p" 150 || ! kill -0 "$pid" 2>/dev/null; then
			say "$name did not start (port $p): $(tail -c 300 "$log" | tr '\n' ' ')"
			# The first failure is retried on new ports (a port picked
			# free can be taken before the server binds it).
			[ "$ATTEMPT" = 2 ] && status "$name" "did not start" "${VERSION:-}" "port $p not listening; log: $(tail -c 400 "$log" | tr '\n"' ' _')"
			kill "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
			return 1
		fi
	done
	STARTED=1
	status "$name" ok "${VERSION:-}"
	say "$name ${VERSION:-} pid $pid"
}

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

peer_herald() {
	local http mq st pid
	http=$(freeport) mq=$(freeport) st=$(freeport)
	VERSION="herald $(git describe --always --dirty 2>/dev/null || echo dev)"
	"$BIN" serve --listen "127.0.0.1:$http" --mqtt-listen "127.0.0.1:$mq" --stomp-listen "127.0.0.1:$st" \
		--demo=false --log-level error >"$TMP/herald.log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	started herald "$pid" "$TMP/herald.log" "$http" "$mq" "$st" || return 0
	ladder herald mqtt-tcp-qos0 "$pid" "mqtt://127.0.0.1:$mq"
	ladder herald mqtt-ws-qos0 "$pid" "ws://127.0.0.1:$http/ws" --protocol mqtt
	ladder herald mqtt-tcp-qos1 "$pid" "mqtt://127.0.0.1:$mq" --qos 1
	ladder herald stomp-tcp "$pid" "stomp://127.0.0.1:$st"
	ladder herald stomp-ws "$pid" "ws://127.0.0.1:$http/ws" --protocol stomp
	ladder herald json-ws "$pid" "ws://127.0.0.1:$http/ws"
}

# The issue's other targets, on the library server of bench/run.sh (Herald
# with an "echo" method), one fresh process each, before any other server
# starts.
herald_targets() {
	local spid burl metrics
	target() {
		local label=$1
		shift
		"$HBENCH" serve --listen 127.0.0.1:0 >"$TMP/serve.out" 2>"$TMP/serve.err" &
		spid=$!
		PIDS+=("$spid")
		for _ in $(seq 50); do [ -s "$TMP/serve.out" ] && break; sleep 0.1; done
		read -r _ _ _ burl _ metrics _ _ <"$TMP/serve.out" || { say "hbench serve did not start"; return; }
		sleep 0.5
		timeout 120 "$HBENCH" "$@" --url "$burl" --pid "$spid" --label "herald/$label" --json --quiet >>"$RUN" 2>>"$TMP/bench.err" ||
			say "herald $label did not complete cleanly (see its report's error)"
		tail -n 1 "$RUN" | "$HBENCH" table | tail -n 1 >&2
		stop "$spid"
		: >"$TMP/serve.out"
	}
	target idle idle --conns "$IDLE_CONNS" --procs 2 --hold 2s --timeout 60s
	target chat chat --conns "$CHAT_CONNS" --messages "$CHAT_MSGS" --size 64 --timeout 60s
	target rpc-open rpc --conns 1000 --duration "$RPC_SECS" --rate 10000
}

peer_mosquitto() {
	local tcp ws pid
	tcp=$(freeport) ws=$(freeport)
	VERSION=$(/usr/sbin/mosquitto -h 2>/dev/null | head -1 || true)
	[ -x /usr/sbin/mosquitto ] || { status mosquitto "not installed" ""; return; }
	cat >"$TMP/mosquitto.conf" <<-EOF
		per_listener_settings false
		allow_anonymous true
		max_queued_messages 10000
		log_type error
		log_dest stderr
		listener $tcp 127.0.0.1
		listener $ws 127.0.0.1
		protocol websockets
	EOF
	/usr/sbin/mosquitto -c "$TMP/mosquitto.conf" >"$TMP/mosquitto.log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	started mosquitto "$pid" "$TMP/mosquitto.log" "$tcp" "$ws" || return 0
	ladder mosquitto mqtt-tcp-qos0 "$pid" "mqtt://127.0.0.1:$tcp"
	ladder mosquitto mqtt-ws-qos0 "$pid" "ws://127.0.0.1:$ws/mqtt" --protocol mqtt
	ladder mosquitto mqtt-tcp-qos1 "$pid" "mqtt://127.0.0.1:$tcp" --qos 1
	na mosquitto stomp-tcp "no STOMP"
	na mosquitto stomp-ws "no STOMP"
}

peer_nats() {
	local port mq ws pid
	port=$(freeport) mq=$(freeport) ws=$(freeport)
	command -v nats-server >/dev/null || { status nats "not installed" ""; return; }
	VERSION=$(nats-server --version 2>/dev/null | head -1)
	# MQTT needs JetStream (sessions and QoS 1 live in streams).
	cat >"$TMP/nats.conf" <<-EOF
		listen: 127.0.0.1:$port
		server_name: herald_bench
		jetstream { store_dir: "$TMP/nats-js" }
		mqtt { listen: 127.0.0.1:$mq }
		websocket { listen: "127.0.0.1:$ws", no_tls: true }
	EOF
	nats-server -c "$TMP/nats.conf" >"$TMP/nats.log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	started nats "$pid" "$TMP/nats.log" "$port" "$mq" "$ws" || return 0
	ladder nats mqtt-tcp-qos0 "$pid" "mqtt://127.0.0.1:$mq"
	ladder nats mqtt-ws-qos0 "$pid" "ws://127.0.0.1:$ws/mqtt" --protocol mqtt
	ladder nats mqtt-tcp-qos1 "$pid" "mqtt://127.0.0.1:$mq" --qos 1
	na nats stomp-tcp "no STOMP"
	na nats stomp-ws "no STOMP"
}

peer_activemq() {
	local st mq pid base=$TMP/activemq
	st=$(freeport) mq=$(freeport)
	[ -f /usr/share/activemq/bin/activemq.jar ] || { status activemq "not installed" ""; return; }
	VERSION="activemq $(dpkg-query -W -f='${Version}' activemq 2>/dev/null)"
	mkdir -p "$base/conf" "$base/data" "$base/lib"
	# Debian's build loads its MQTT codec from libmqtt-client-java.
	for j in mqtt-client hawtdispatch hawtdispatch-transport; do
		[ -f "/usr/share/java/$j.jar" ] && ln -sf "/usr/share/java/$j.jar" "$base/lib/"
	done
	cat >"$base/conf/log4j.properties" <<-EOF
		log4j.rootLogger=WARN, stdout
		log4j.appender.stdout=org.apache.log4j.ConsoleAppender
		log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
		log4j.appender.stdout.layout.ConversionPattern=%d %-5p %c - %m%n
	EOF
	cat >"$base/conf/activemq.xml" <<-EOF
		<beans xmlns="http://www.springframework.org/schema/beans" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
		  xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans-2.0.xsd
		  http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
		  <broker xmlns="http://activemq.apache.org/schema/core" useJmx="false" brokerName="herald-bench"
		          persistent="false" schedulerSupport="false" advisorySupport="false">
		    <transportConnectors>
		      <transportConnector name="stomp" uri="stomp+nio://127.0.0.1:$st"/>
		      <transportConnector name="mqtt" uri="mqtt+nio://127.0.0.1:$mq"/>
		    </transportConnectors>
		  </broker>
		</beans>
	EOF
	java -Xms512M -Xmx512M -Dactivemq.base="$base" -Dactivemq.home=/usr/share/activemq -Dactivemq.conf="$base/conf" \
		-Dactivemq.data="$base/data" -Dlog4j.configuration="file:$base/conf/log4j.properties" \
		-jar /usr/share/activemq/bin/activemq.jar start "xbean:file:$base/conf/activemq.xml" >"$TMP/activemq.log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	started activemq "$pid" "$TMP/activemq.log" "$st" "$mq" || return 0
	ladder activemq mqtt-tcp-qos0 "$pid" "mqtt://127.0.0.1:$mq"
	na activemq mqtt-ws-qos0 "Debian's build has no WebSocket transport"
	ladder activemq mqtt-tcp-qos1 "$pid" "mqtt://127.0.0.1:$mq" --qos 1
	ladder activemq stomp-tcp "$pid" "stomp://127.0.0.1:$st"
	na activemq stomp-ws "Debian's build has no WebSocket transport"
}

peer_rabbitmq() {
	local amqp st mq wst wmq dist pid base=$TMP/rabbitmq
	amqp=$(freeport) st=$(freeport) mq=$(freeport) wst=$(freeport) wmq=$(freeport) dist=$(freeport)
	EPMD_PORT=$(freeport)
	[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || { status rabbitmq "not installed" ""; return; }
	VERSION="rabbitmq-server $(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null)"
	mkdir -p "$base/home"
	cat >"$base/rabbitmq.conf" <<-EOF
		listeners.tcp.default = 127.0.0.1:$amqp
		stomp.listeners.tcp.1 = 127.0.0.1:$st
		mqtt.listeners.tcp.1 = 127.0.0.1:$mq
		web_stomp.tcp.ip = 127.0.0.1
		web_stomp.tcp.port = $wst
		web_mqtt.tcp.ip = 127.0.0.1
		web_mqtt.tcp.port = $wmq
		loopback_users = none
		log.console = true
		log.console.level = warning
		log.file = false
	EOF
	echo '[rabbitmq_stomp,rabbitmq_mqtt,rabbitmq_web_stomp,rabbitmq_web_mqtt].' >"$base/enabled_plugins"
	# The node name uses this host's short name: "localhost" does not
	# resolve the way Erlang's distribution wants in every container.
	env HOME="$base/home" RABBITMQ_NODENAME="heraldbench@$(hostname -s)" RABBITMQ_MNESIA_BASE="$base/mnesia" \
		RABBITMQ_LOG_BASE="$base/log" RABBITMQ_CONFIG_FILE="$base/rabbitmq.conf" \
		RABBITMQ_ENABLED_PLUGINS_FILE="$base/enabled_plugins" RABBITMQ_DIST_PORT="$dist" ERL_EPMD_PORT="$EPMD_PORT" \
		RABBITMQ_PID_FILE="$base/pid" ERL_CRASH_DUMP="$base/erl_crash.dump" RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="+sbwt none +sbwtdcpu none +sbwtdio none" \
		/usr/lib/rabbitmq/bin/rabbitmq-server >"$TMP/rabbitmq.log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	started rabbitmq "$pid" "$TMP/rabbitmq.log" "$st" "$mq" "$wst" "$wmq" || return 0
	# The Erlang VM writes its own pid: sample its CPU, not the script's.
	[ -s "$base/pid" ] && pid=$(cat "$base/pid")
	ladder rabbitmq mqtt-tcp-qos0 "$pid" "mqtt://127.0.0.1:$mq"
	ladder rabbitmq mqtt-ws-qos0 "$pid" "ws://127.0.0.1:$wmq/ws" --protocol mqtt
	ladder rabbitmq mqtt-tcp-qos1 "$pid" "mqtt://127.0.0.1:$mq" --qos 1
	ladder rabbitmq stomp-tcp "$pid" "stomp://guest:guest@127.0.0.1:$st"
	ladder rabbitmq stomp-ws "$pid" "ws://guest:guest@127.0.0.1:$wst/ws" --protocol stomp
}

peer_mochi() {
	local tcp ws pid
	tcp=$(freeport) ws=$(freeport)
	VERSION="mochi-mqtt v2.7.9"
	if [ -n "$MOCHI_ERR" ]; then status mochi "did not start" "$VERSION" "$MOCHI_ERR"; return; fi
	"$MOCHI" -tcp "127.0.0.1:$tcp" -ws "127.0.0.1:$ws" >"$TMP/mochi.log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	started mochi "$pid" "$TMP/mochi.log" "$tcp" "$ws" || return 0
	ladder mochi mqtt-tcp-qos0 "$pid" "mqtt://127.0.0.1:$tcp"
	ladder mochi mqtt-ws-qos0 "$pid" "ws://127.0.0.1:$ws/" --protocol mqtt
	ladder mochi mqtt-tcp-qos1 "$pid" "mqtt://127.0.0.1:$tcp" --qos 1
	na mochi stomp-tcp "no STOMP"
	na mochi stomp-ws "no STOMP"
}

START=$(date +%s)
case " $PEERS " in *" herald "*) herald_targets ;; esac
say "herald targets done at $(($(date +%s) - START)) s"

# Start every server; each stays up until the end.
for p in $PEERS; do
	for ATTEMPT in 1 2; do
		VERSION= STARTED=
		"peer_$p"
		# Not installed or not built is final; a failed start is retried once.
		[ -n "$STARTED" ] || ! grep -q "\"peer\":\"$p\",\"status\"" "$RUN" || break
		[ -n "$STARTED" ] && break
	done
done
say "servers up at $(($(date +%s) - START)) s (load average $(cut -d' ' -f1 /proc/loadavg))"

# Measure row by row, and within a row rung by rung across the servers, so
# that the servers compared on a rung are measured within seconds of each
# other: on a shared machine the load drifts. A server leaves the row's
# ladder at the first rung it does not keep up with.
declare -A ALIVE
for row in mqtt-tcp-qos0 mqtt-ws-qos0 mqtt-tcp-qos1 stomp-tcp stomp-ws json-ws; do
	for t in "${TARGETS[@]}"; do
		IFS='|' read -r name trow pid args <<<"$t"
		[ "$trow" = "$row" ] || continue
		ALIVE[$name]=1
		# shellcheck disable=SC2086 # args is URL and flags, no spaces inside
		timeout 30 "$BIN" bench fanout --url $args --conns 100 --rate 50 --duration 500ms --size 64 --timeout 3s \
			--json --quiet >/dev/null 2>>"$TMP/bench.err" || true
	done
	for rate in $RATES; do
		for t in "${TARGETS[@]}"; do
			IFS='|' read -r name trow pid args <<<"$t"
			[ "$trow" = "$row" ] && [ "${ALIVE[$name]}" = 1 ] || continue
			# shellcheck disable=SC2086
			measure "$name" "$row" "$pid" "$rate" $args || ALIVE[$name]=0
		done
	done
	say "$row done at $(($(date +%s) - START)) s (load average $(cut -d' ' -f1 /proc/loadavg))"
done

mv "$RUN" "$OUT"
"$BIN" bench peers "$OUT" | tee "$MD"
say "results: $OUT, tables: $MD ($(($(date +%s) - START)) s)"
