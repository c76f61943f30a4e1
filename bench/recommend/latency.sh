#!/bin/sh
# Every /recommend latency figure docs/recommend.md quotes, in one command:
# builds dawn, then runs live.sh (in-process clients, the index scan alone,
# click-to-recommend; into live-results.md) and wrk.sh (wrk from outside
# the process; into wrk-results.txt). Needs DAWN_DATA with
# movielens-latest-small and wrk. Run it on a quiet machine:
#   sh bench/recommend/latency.sh
set -eu
cd "$(dirname "$0")/../.."
go build -o ./dawn ./cmd/dawn
sh bench/recommend/live.sh
{
  echo "# command: sh bench/recommend/wrk.sh (ml-latest-small from DAWN_DATA), via bench/recommend/latency.sh"
  DAWN_BIN=./dawn sh bench/recommend/wrk.sh
} > bench/recommend/wrk-results.txt
cat bench/recommend/wrk-results.txt
