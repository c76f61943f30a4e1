#!/bin/sh
# /recommend latency at 32 concurrent clients, click-to-recommend, and the
# index scan alone, on implicit ALS over all of ml-latest-small (loopback
# HTTP). Needs DAWN_DATA with movielens-latest-small (GroupLens licence: not
# in the repository). Results go to bench/recommend/live-results.md; run it
# on a quiet machine and keep the uptime lines beside the figures.
set -e
cd "$(dirname "$0")/../.."
OUT=bench/recommend/live-results.md
{
  echo "# dawn serve recommend latency on ml-latest-small"
  echo
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo
  echo '```'
  echo "uptime: $(uptime)"
  echo "go test -run '^$' -bench 'Recommend32|ClickTo|IndexScan' -benchtime 3x -count ${COUNT:-3} ./recommend/live"
  go test -run '^$' -bench 'Recommend32|ClickTo|IndexScan' -benchtime 3x -count "${COUNT:-3}" ./recommend/live | grep -E '^Benchmark|^ok'
  echo "uptime: $(uptime)"
  echo '```'
} > "$OUT"
cat "$OUT"
