#!/bin/sh
# /recommend latency at 32 concurrent keep-alive connections, measured from
# outside the server's process with wrk (Debian's package; a C load
# generator, so the clients take little of the CPU the server needs).
# Implicit ALS (64 factors) on all of ml-latest-small, k = 10, seen items
# excluded, users cycling over all 610. Needs DAWN_DATA with
# movielens-latest-small (GroupLens licence: not in the repository) and a
# built dawn (DAWN_BIN, default ./dawn). Run it on a quiet machine; the
# uptime lines go beside the figures.
#   sh bench/recommend/wrk.sh > bench/recommend/wrk-results.txt
set -eu
cd "$(dirname "$0")/../.."
DAWN_BIN=${DAWN_BIN:-./dawn}
DATA=${DAWN_DATA:-../shared/data}/movielens-latest-small/ratings.csv
[ -f "$DATA" ] || { echo "wrk.sh: SKIP: $DATA not found (set DAWN_DATA)"; exit 0; }
command -v wrk >/dev/null || { echo "wrk.sh: SKIP: wrk not installed (Debian: apt-get install wrk)"; exit 0; }
tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
"$DAWN_BIN" recommend train --data "$DATA" --user userId --item movieId --implicit --model als --out "$tmp/als" >/dev/null
port=${PORT:-18093}
"$DAWN_BIN" serve --model "$tmp/als" --host 127.0.0.1 --port "$port" --interactions-log "$tmp/log.csv" 2>"$tmp/serve.log" &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done
cat > "$tmp/req.lua" <<'LUA'
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  n = n + 1
  return wrk.format(nil, "/recommend", nil, string.format('{"user": "%d", "k": 10}', 1 + n % 610))
end
LUA
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "uptime: $(uptime)"
# warm-up, then the measurement
wrk -t1 -c32 -d3s -s "$tmp/req.lua" "http://127.0.0.1:$port" >/dev/null
for i in 1 2 3; do
  echo "wrk -t1 -c32 -d${DURATION:-10}s --latency (run $i)"
  wrk -t1 -c32 -d"${DURATION:-10}s" --latency -s "$tmp/req.lua" "http://127.0.0.1:$port" | grep -E 'Latency|50%|90%|99%|Requests/sec|Non-2xx'
done
echo "uptime: $(uptime)"
