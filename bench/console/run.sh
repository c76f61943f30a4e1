#!/bin/sh
# The console at scale: a SQLite store of RUNS runs x 50 params x 20 metrics
# plus one run with a 1,000,000-point history, generated through the store
# API (takes minutes: about 100 runs/s on a loaded 2-core machine), then
# the server time of the runs page, of sorting by a metric and of the chart
# data, and (when chromium and web/browsertest's npm packages are present)
# the time until the runs page is interactive and until the 1M-point chart
# is drawn in headless Chromium. Prints JSON; record it in RESULTS.md with
# the date and `uptime`.
set -e
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-100000}
DB=${DB:-${TMPDIR:-/tmp}/dawn-console-bench.db}
go build -o "${TMPDIR:-/tmp}/consolebench" ./bench/console
B="${TMPDIR:-/tmp}/consolebench"
if [ ! -f "$DB" ]; then
  "$B" gen -db "$DB" -runs "$RUNS" -history "${HISTORY:-1000000}"
fi
date -u
uptime
"$B" measure -db "$DB" -reps "${REPS:-5}"
if [ -x /usr/bin/chromium ] && [ -d web/browsertest/node_modules/playwright-core ]; then
  "$B" serve -db "$DB" > "${TMPDIR:-/tmp}/consolebench.addr" &
  pid=$!
  trap 'kill $pid 2>/dev/null' EXIT
  for _ in $(seq 50); do [ -s "${TMPDIR:-/tmp}/consolebench.addr" ] && break; sleep 0.2; done
  set -- $(sed 's/.*"url":"\([^"]*\)","experiment":"\([^"]*\)","long_run":"\([^"]*\)".*/\1 \2 \3/' "${TMPDIR:-/tmp}/consolebench.addr")
  (cd web/browsertest && node ../../bench/console/browser.js "$1" "$2" "$3")
  uptime
fi
