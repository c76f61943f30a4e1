#!/bin/sh
# Every dawn recommender on MovieLens ml-latest-small with Microsoft
# Recommenders' protocol (per-user 75/25 split, k = 10, medians of 3 seeds),
# explicit mf RMSE on a random 80/20 split, and the speed benchmarks (implicit
# ALS iteration, exact top-10 index vs blocked brute force). The data is not
# in the repository (GroupLens licence): point DAWN_DATA at the folder holding
# movielens-latest-small. Results go to bench/recommend/results.md.
set -e
cd "$(dirname "$0")/../.."
DATA=${DAWN_DATA:-../shared/data}/movielens-latest-small/ratings.csv
OUT=bench/recommend/results.md
{
  echo "# dawn recommend on ml-latest-small"
  echo
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); uptime before: $(uptime)"
  echo
  echo 'command: `go run ./bench/recommend -data $DAWN_DATA/movielens-latest-small/ratings.csv -seeds 3 -tune '"${TUNE:-30s}"'`'
  echo
  go run ./bench/recommend -data "$DATA" -seeds 3 -tune "${TUNE:-30s}" -json bench/recommend/results.json
  echo
  echo "uptime after the table: $(uptime)"
  echo
  echo '```'
  echo 'go test -run ^$ -bench ALSIteration -benchtime 20x ./recommend'
  go test -run '^$' -bench 'ALSIteration' -benchtime 20x ./recommend | grep -E '^Benchmark|ok'
  echo "uptime: $(uptime)"
  echo 'go test -run ^$ -bench TopK -benchtime 3x ./recommend/mips'
  go test -run '^$' -bench 'TopK' -benchtime 3x ./recommend/mips | grep -E '^Benchmark|ok'
  echo "uptime: $(uptime)"
  echo '```'
} > "$OUT"
cat "$OUT"
