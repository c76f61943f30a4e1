#!/usr/bin/env bash
# Times `dawn label apply` with ten keyword/regex LFs against `grep -E` over
# the same patterns on a 1,000,000-row file made from the YouTube comments.
#
#   bash bench/label/apply_vs_grep.sh [ROWS]
#
# Needs $DAWN_DATA/youtube_spam_uci (default ../shared/data). Writes the
# generated file and outputs under ${TMPDIR:-/tmp}/dawn-bench-label.
set -euo pipefail
cd "$(dirname "$0")/../.."
rows=${1:-1000000}
data=${DAWN_DATA:-../shared/data}/youtube_spam_uci
work=${TMPDIR:-/tmp}/dawn-bench-label
mkdir -p "$work"
[ -d "$data" ] || { echo "skip: no YouTube data at $data (set DAWN_DATA)"; exit 0; }

go build -o "$work/dawn" ./cmd/dawn
if [ ! -s "$work/comments-$rows.csv" ]; then
  go run ./bench/label/mkcomments -rows "$rows" -out "$work/comments-$rows.csv" "$data"/Youtube0*.csv
fi
file=$work/comments-$rows.csv
cp bench/label/lfs10.yaml "$work/lfs10.yaml"
# The same ten LFs as one extended regex: every keyword and regex, case-insensitive.
pattern='my|subscribe|http|please|plz|song|check.*out|channel|\$[0-9]+|money|cash|love|amazing|best|https?://|www\.'

best() { # best N CMD...: the fastest of N runs, in seconds
  local n=$1; shift; local b=
  for _ in $(seq "$n"); do
    # Not /dev/null: GNU grep then stops at the first match, as with -q.
    local s=$(date +%s.%N); "$@" >"$work/out.txt"; local e=$(date +%s.%N)
    local t=$(echo "$e - $s" | bc); if [ -z "$b" ] || [ "$(echo "$t < $b" | bc)" = 1 ]; then b=$t; fi
  done
  echo "$b"
}
cat "$file" >/dev/null # warm the page cache
g=$(best 3 grep -E -i "$pattern" "$file")
d=$(best 3 "$work/dawn" label apply --lfs "$work/lfs10.yaml" --data "$file" --out "$work/votes.parquet")
size=$(du -m "$file" | cut -f1)
echo "file: $rows rows, ${size} MB; machine: $(nproc) cores, $(uname -m)"
printf 'grep -E -i (16 patterns):         %6.2f s\n' "$g"
printf 'dawn label apply (10 LFs, votes): %6.2f s  (%.0f rows/s, %.1f x grep)\n' "$d" "$(echo "$rows / $d" | bc -l)" "$(echo "$d / $g" | bc -l)"
