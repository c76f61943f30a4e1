#!/bin/sh
# Rows/s of `dawn monitor run`'s runner over a rolling prediction log
# (Parquet files of 50,000 rows shaped as serve/predlog writes them, 10
# numeric and 2 categorical inputs, windows of 50,000 rows, state in
# SQLite, no model scoring). It keeps up with a log growing at 50,000
# rows/s when rows/s >= 50,000. Writes bench/monitor/runner.txt.
# Usage: sh bench/monitor/runner.sh [files]   (default 20 files = 1,000,000 rows)
set -eu
cd "$(dirname "$0")/../.."
files=${1:-20}
out=bench/monitor/runner.txt
{
	echo "command: DAWN_BENCH_FILES=$files go test ./monitor/runner -run XXX -bench RollingLog -benchtime 3x"
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "uptime: $(uptime)"
	DAWN_BENCH_FILES=$files go test ./monitor/runner -run XXX -bench RollingLog -benchtime 3x | grep -E '^Benchmark|^cpu'
} >"$out.tmp"
mv "$out.tmp" "$out"
cat "$out"
