#!/bin/sh
# YouTube spam, Snorkel tutorial split: test accuracy of `dawn train` with
# default flags (featurization and L2 chosen on the validation split) on
# gold train labels and on dawn's probabilistic labels, beside the former
# fixed default (word 1-2-gram counts, --search=false). Writes
# bench/train/results/youtube-defaults.txt. Needs $DAWN_DATA. From the
# repository root. Accuracies do not depend on the machine's load.
set -eu
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/dawn" ./cmd/dawn
go run ./bench/train/ytsplit -out "$work/yt" >/dev/null
d=$work/dawn
y=$work/yt
out=bench/train/results/youtube-defaults.txt
acc() { "$d" eval --model "$1" --data "$y/test.csv" --gold CLASS --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["accuracy"])'; }
chosen() { python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["search"]["chosen"]; print("%s, l2 %g, lr %g (valid acc. %.3f)" % (c["features"], c["l2"], c["lr"], c["valid_accuracy"]))' "$1"; }
{
	echo "# $(date -u +%FT%TZ), $(uptime)"
	echo "# sh bench/train/youtube_defaults.sh"
	echo "labels | train flags | test accuracy | chosen on valid.csv"
	for m in gold majority snorkel; do
		if [ $m = gold ]; then
			data=$y/train.csv
			lab="--target CLASS"
		else
			data=$work/labels-$m.csv
			"$d" label run --lfs examples/youtube/lfs.yaml --data "$y/train.csv" --out "$data" --method $m >/dev/null 2>&1
			lab="--prob-cols prob_HAM,prob_SPAM"
		fi
		# shellcheck disable=SC2086
		"$d" train --data "$data" --text CONTENT $lab --valid "$y/valid.csv" --gold CLASS --out "$work/m-$m" --json >"$work/r-$m.json"
		echo "$m | defaults | $(acc "$work/m-$m") | $(chosen "$work/r-$m.json")"
		# shellcheck disable=SC2086
		"$d" train --data "$data" --text CONTENT $lab --valid "$y/valid.csv" --gold CLASS --out "$work/f-$m" --search=false >/dev/null
		echo "$m | --search=false (word 1-2-gram counts, l2 1e-4) | $(acc "$work/f-$m") | -"
	done
} >"$out"
cat "$out"
