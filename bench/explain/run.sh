#!/bin/sh
# Throughput of dawn's DIFF (order 3, five low-cardinality string attributes)
# on synthetic Parquet data generated here (default 20M rows, ~1.5 GB RAM).
# MacroBase itself is not run (its Java build is not part of this repo); its
# figure on this machine (~0.7M rows/s, one thread, 2M rows) is quoted from
# docs/ref/macrobase.md.
set -e
cd "$(dirname "$0")/../.."
ROWS=${ROWS:-20000000}
go run ./bench/explain -rows "$ROWS" -reps "${REPS:-3}" "$@"
go test -run '^$' -bench 'APrioriOrder3' -benchtime 5x ./explain
