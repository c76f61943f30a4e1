#!/bin/sh
# A/B of small-span OTLP ingestion: BASE (a git ref, default main) against
# the working tree, interleaved rounds, each line with the load average.
# Usage: bench/tracking/otlp-ab.sh [BASE] > bench/tracking/results-DATE-otlp-payloads.txt
set -e
base=${1:-main}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git archive "$base" | tar -x -C "$tmp"
bench='OTLPIngest/spans-per-request=100$'
echo "# go test ./tracking/sqlite/ -run XXX -bench '$bench' -benchtime 3x: $base ($(git rev-parse --short "$base")) and the working tree ($(git rev-parse --short HEAD)) interleaved, $(date -u +%FT%TZ)"
for i in 1 2 3; do
	echo "# base round $i: $(uptime)"
	(cd "$tmp" && go test ./tracking/sqlite/ -run XXX -bench "$bench" -benchtime 3x | grep Benchmark)
	echo "# branch round $i: $(uptime)"
	go test ./tracking/sqlite/ -run XXX -bench "$bench" -benchtime 3x | grep Benchmark
done
echo "# after: $(uptime)"
