# Shared by the bench/*.sh scripts (sourced after they cd to the
# repository): a temporary directory $TMP, the processes in PIDS stopped
# on exit, and helpers for free ports and readiness.

TMP=$(mktemp -d)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

# freeport prints a free TCP port on 127.0.0.1.
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# waitport waits (up to 10 s) until 127.0.0.1:$1 accepts connections.
waitport() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
# waitready waits (up to 30 s) until the Herald node on :$1 answers /readyz.
waitready() { for _ in $(seq 300); do curl -sf "http://127.0.0.1:$1/readyz" >/dev/null && return 0; sleep 0.1; done; echo "node on :$1 never ready" >&2; return 1; }
