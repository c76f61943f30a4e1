#!/bin/sh
# Writes bench/label/results/youtube-lf-patterns.txt: per LF vote pattern on
# the YouTube tutorial train split, the gold spam rate beside P(spam) from
# the Snorkel label model (dawn's default prior, and uniform) and majority
# vote. Needs $DAWN_DATA (the youtube_spam_uci data). From the repository root.
set -eu
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/dawn" ./cmd/dawn
go run ./bench/train/ytsplit -out "$work/yt"
lfs=examples/youtube/lfs.yaml
"$work/dawn" label run --lfs $lfs --data "$work/yt/train.csv" --out "$work/snorkel.csv" >/dev/null
"$work/dawn" label run --lfs $lfs --data "$work/yt/train.csv" --out "$work/uniform.csv" --class-balance uniform >/dev/null
"$work/dawn" label run --lfs $lfs --data "$work/yt/train.csv" --out "$work/majority.csv" --method majority >/dev/null
root=$(pwd)
out=$root/bench/label/results/youtube-lf-patterns.txt
mkdir -p bench/label/results
{
	echo "# $(date -u +%FT%TZ), $(uptime)"
	echo "# sh bench/label/youtube_lf_patterns.sh"
	cd "$work" && python3 "$root/bench/label/youtube_lf_patterns.py" snorkel.csv uniform.csv majority.csv
} > "$out"
cat "$out"
