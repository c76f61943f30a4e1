#!/bin/sh
# The README's lifecycle block, runnable on the bundled YouTube data:
# tracking server → label run (logged) → train (logged, linked) → eval
# (logged to the training run) → register (from the training run) → serve
# one request → cascade build against the served model. Servers listen on ephemeral loopback ports and are stopped
# on exit.
#   sh examples/lifecycle/run.sh [OUT_DIR]
# Needs `dawn` on PATH (or DAWN=path/to/dawn) and $DAWN_DATA/youtube_spam_uci.
# cmd/dawn's TestLifecycleScript runs it (not in -short mode).
set -eu
DAWN=${DAWN:-dawn}
OUT=${1:-$(mktemp -d)}
mkdir -p "$OUT"
cd "$OUT"
pids=""
trap 'for p in $pids; do kill "$p" 2>/dev/null || true; done' EXIT

# addr LOG: the address a dawn server logged ("... addr=[http://]HOST:PORT").
addr() {
	for _ in $(seq 100); do
		a=$(sed -n 's/.*\(listening\|serving\).* addr=\(http:\/\/\)\{0,1\}\([^ ]*\).*/\3/p' "$1" | head -1)
		[ -n "$a" ] && { echo "$a"; return 0; }
		sleep 0.1
	done
	echo "no address in $1:" >&2; cat "$1" >&2; return 1
}

# The tutorial split and LF file (dawn quickstart writes them).
"$DAWN" quickstart --dir data >/dev/null

"$DAWN" server --port 0 --data-dir tracking 2>server.log &
pids="$pids $!"
MLFLOW_TRACKING_URI=http://$(addr server.log)
export MLFLOW_TRACKING_URI

"$DAWN" label run --lfs data/lfs.yaml --data data/train.csv --out labels.csv --model-out labeler/ \
	--valid data/valid.csv --gold CLASS
"$DAWN" train --data labels.csv --text CONTENT --prob-cols prob_HAM,prob_SPAM --out spam-model/
"$DAWN" eval --model spam-model/ --data data/test.csv --gold CLASS
"$DAWN" models register --model spam-model/ --name spam
"$DAWN" serve --model models:/spam/1 --port 0 2>serve.log &
pids="$pids $!"
SERVE=$(addr serve.log)
if command -v curl >/dev/null; then
	curl -fsS "http://$SERVE/invocations" -H 'Content-Type: application/json' \
		-d '{"dataframe_split": {"columns": ["CONTENT"], "data": [["check out my channel"], ["great song"]]}}'
	echo
fi
# A cheap model in front of the served one (NoScope's cascade), labeled by it.
"$DAWN" cascade build --reference "http://$SERVE" --data data/train.csv --text CONTENT --target-accuracy 0.99 --out cascade/
"$DAWN" predict --model spam-model/ --data data/test.csv --out predictions.csv
echo "served models:/spam/1 at $SERVE; tracking at $MLFLOW_TRACKING_URI"
