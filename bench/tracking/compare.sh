#!/usr/bin/env bash
# bench/tracking beside MLflow's own tracking server, in one window on one machine:
# both servers as separate processes on loopback with SQLite stores, measured by the same
# client (go run ./bench/tracking -uri ...), MLflow first, then dawn.
#
#   bench/tracking/compare.sh MLFLOW_CHECKOUT DAWN_BINARY OUT_DIR [bench flags...]
#
# MLFLOW_CHECKOUT and the Python environment (OTEL_SRC, PYTHON) are those of
# bench/mlflow-compat/run.sh, which starts MLflow's server here (SERVE_MLFLOW); nothing is
# fetched or built. Extra flags go
# to both bench runs (e.g. -runs 10000 -batches 50 -calls 2000). Results: OUT_DIR/mlflow.json,
# OUT_DIR/dawn.json, with uptime before and after each in OUT_DIR/log.txt.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[ $# -ge 3 ] || { echo "usage: $0 MLFLOW_CHECKOUT DAWN_BINARY OUT_DIR [bench flags]" >&2; exit 2; }
mlflow_src=$1 dawn_bin=$2 out=$3; shift 3
mkdir -p "$out"; out="$(cd "$out" && pwd)"
dawn_bin="$(cd "$(dirname "$dawn_bin")" && pwd)/$(basename "$dawn_bin")"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { # URL PID
  for _ in $(seq 300); do
    curl -sf -m 2 "$1/health" >/dev/null 2>&1 && return 0
    kill -0 "$2" 2>/dev/null || { echo "compare: the server for $1 exited; see $out/*-server.log" >&2; return 1; }
    sleep 1
  done
  echo "compare: $1 did not come up" >&2; return 1
}
pids=() mport=""
# MLflow's server runs uvicorn as a child with its own workers: killing
# run.sh leaves them serving, so they are stopped by their port too.
stop_mlflow() {
  [ -n "$mport" ] || return 0
  pkill -9 -f "mlflow server.*--port $mport" 2>/dev/null || true
  for p in $(pgrep -f "uvicorn --host 127.0.0.1 --port $mport " 2>/dev/null); do
    pkill -9 -P "$p" 2>/dev/null || true; kill -9 "$p" 2>/dev/null || true
  done
}
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; stop_mlflow' EXIT
(cd "$here/../.." && go build -o "$out/trackbench" ./bench/tracking)

mport=$(free_port)
SERVE_MLFLOW=$mport "$here/../mlflow-compat/run.sh" "$mlflow_src" "$dawn_bin" "$out/mlflow" > "$out/mlflow-server.log" 2>&1 &
pids+=($!)
wait_up "http://127.0.0.1:$mport" "${pids[0]}"
{ echo "$(date -u) mlflow $(curl -s "http://127.0.0.1:$mport/version") at :$mport"; uptime; } >> "$out/log.txt"
"$out/trackbench" -uri "http://127.0.0.1:$mport" "$@" > "$out/mlflow.json"
uptime >> "$out/log.txt"
kill "${pids[0]}" 2>/dev/null || true; stop_mlflow

dport=$(free_port)
mkdir -p "$out/dawn-data"
"$dawn_bin" server --host 127.0.0.1 --port "$dport" --data-dir "$out/dawn-data" > "$out/dawn-server.log" 2>&1 &
pids+=($!)
wait_up "http://127.0.0.1:$dport" "${pids[1]}"
{ echo "$(date -u) dawn $("$dawn_bin" version | head -1) at :$dport"; uptime; } >> "$out/log.txt"
"$out/trackbench" -uri "http://127.0.0.1:$dport" "$@" > "$out/dawn.json"
uptime >> "$out/log.txt"
cat "$out/log.txt"
python3 - "$out/mlflow.json" "$out/dawn.json" <<'PY'
import json, sys
m, d = (json.load(open(p)) for p in sys.argv[1:3])
print(f"{'figure':55} {'mlflow':>12} {'dawn':>12} {'ratio':>8}")
for k in d:
    if k in m and isinstance(d[k], (int, float)) and isinstance(m[k], (int, float)) and not isinstance(d[k], bool):
        r = (d[k] / m[k] if k.endswith("_per_s") else m[k] / d[k]) if d[k] and m[k] else float("nan")
        print(f"{k:55} {m[k]:12.3f} {d[k]:12.3f} {r:8.1f}")
PY
