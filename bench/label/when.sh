#!/usr/bin/env bash
# Rows/s of the ten keyword/regex LFs of lfs10.yaml against the same set
# plus one `when` LF, one worker, 65,536 YouTube-comment-sized rows
# (label.BenchmarkApplyWhen). Issue 16's target: the set with the `when`
# LF within 2x of the keyword set. Writes bench/label/when-results.txt.
#
#   bash bench/label/when.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out=bench/label/when-results.txt
{
  echo "# go test ./label -run XXX -bench ApplyWhen -benchtime 50x -count 5"
  echo "# $(date -u '+%Y-%m-%d %H:%M UTC'); $(go version); $(nproc) cores; uptime:$(uptime)"
  go test ./label -run XXX -bench ApplyWhen -benchtime 50x -count 5
  echo "# uptime after:$(uptime)"
} | tee "$out"
