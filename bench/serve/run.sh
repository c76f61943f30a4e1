#!/usr/bin/env bash
# Serving and cascade benchmarks for docs/serve.md, on loopback only.
#
#   bench/serve/run.sh [WORKDIR]
#
# 1. Throughput: a linear text model (word 1-2-grams, logistic regression)
#    trained on the YouTube spam training split, served by `dawn serve`;
#    the Go load generator sends single-row requests from 32 concurrent
#    clients, then 1,000-row requests from 4 clients.
# 2. Cascade: an expensive reference (character 2-5-gram logistic
#    regression over 2^18 hashed features) served by `dawn serve` in another
#    process; `dawn cascade build` on a random 80 % sample of the 1,956 UCI
#    comments, `dawn cascade eval` on the other 20 % (3 runs).
#
# The cheap-model candidates and the optimizer's margin are $CHEAP_SPEC (a
# --cheap-spec file), $CONFIDENCE, $WINDOW and $NESTED (defaults below:
# bench/serve/cheap.yaml, a blend of a word model
# and a character 2-4-gram model trained also on the sample's fragments,
# the target demanded on windows of 250 inputs with 95 % probability, the
# error budget chosen by nested cross-fitting; earlier figures were taken
# with CHEAP=logreg,ngrams=2,bits=16,epochs=60,l2=0.000001 CONFIDENCE=0
# WINDOW=0 NESTED=0, and with the three word/char candidates of
# docs/serve.md, CONFIDENCE=0.95 WINDOW=0 NESTED=0).
# CASCADE_ONLY=1 skips the throughput part; THROUGHPUT_ONLY=1 the cascade part.
# The single-row load runs twice: server and load generator sharing both
# cores (GOMAXPROCS=2 each, competing for them), and one core each
# (GOMAXPROCS=1 each), which keeps the load generator from preempting the
# server; then at a fixed offered load of 20,000 requests/s (-rate).
#
# Needs $DAWN_DATA (default ../shared/data from the repo root); skips when
# it is absent. MLflow is not installed on the benchmark machine, so there
# is no side-by-side `mlflow models serve` run.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-$(mktemp -d /tmp/dawn-serve-bench.XXXXXX)}
data=${DAWN_DATA:-$root/../shared/data}
if [ ! -f "$data/wrench_youtube/train.json" ]; then
	echo "skip: $data/wrench_youtube not found (set DAWN_DATA)" >&2
	exit 0
fi
mkdir -p "$work"
cd "$root"
go build -o "$work/dawn" ./cmd/dawn
go build -o "$work/loadgen" ./bench/serve/loadgen
go run ./bench/serve/prepdata -data "$data" -out "$work/data" -sample 0.8 -seed 1
cd "$work"
cheap=${CHEAP_SPEC:-$root/bench/serve/cheap.yaml}
confidence=${CONFIDENCE:-0.95}
window=${WINDOW:-250}
nested=${NESTED:-1}
margin=(--confidence "$confidence" --window "$window")
if [ "$nested" = 1 ]; then margin+=(--nested); fi
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
wait_up() { for _ in $(seq 100); do curl -sf "http://127.0.0.1:$1/ping" >/dev/null && return; sleep 0.1; done; echo "server on $1 did not start" >&2; exit 1; }

# summary NAME BUILD.json EVAL.json prints one line per split.
summary() {
	python3 - "$@" <<'PY'
import json, sys
name, b, e = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
n = b.get("nested") or {}
c = b["costs"]
print(f"{name}: build held-out {b['agreement']:.4f} / {b['reference_fraction']:.3f}"
      + (f", nested budget {n['budget']} ({n['agreement']:.4f} / {n['reference_fraction']:.3f})" if n else "")
      + f", per single-row call: cheap {c['cheap_seconds']*1e6:.1f} us, reference {c['reference_seconds']*1e6:.0f} us (alone {c.get('reference_alone_seconds', 0)*1e6:.0f} us)"
      + f" (batched per row: {c['cheap_batch_seconds']*1e6:.1f} / {c['reference_batch_seconds']*1e6:.1f} us),"
      + f" expected {b['expected_speedup']:.2f}x | test {round(e['agreement']*e['rows'])}/{e['rows']} = {e['agreement']:.4f} / {e['reference_fraction']:.3f}, measured {e['speedup']:.2f}x")
PY
}

echo "== machine"; nproc; uptime
if [ -z "${CASCADE_ONLY:-}" ]; then
./dawn train --data data/train.csv --target label --text text --workers 1 --out linear >/dev/null
./dawn serve --model linear --port 5411 2>serve-linear.log & pids+=($!)
wait_up 5411
echo "== single-row requests, 32 clients"
./loadgen -url http://127.0.0.1:5411 -data data/test.csv -column text -clients 32 -rows 1 -duration 10s | tee single.json
echo "== 1,000-row requests, 4 clients"
./loadgen -url http://127.0.0.1:5411 -data data/train.csv -column text -clients 4 -rows 1000 -duration 10s | tee batch.json
echo "== single-row requests, 32 clients, offered 20,000 requests/s"
./loadgen -url http://127.0.0.1:5411 -data data/test.csv -column text -clients 32 -rows 1 -duration 10s -rate 20000 | tee single-rate.json
GOMAXPROCS=1 ./dawn serve --model linear --port 5413 2>serve-linear1.log & pids+=($!)
wait_up 5413
echo "== single-row requests, 32 clients, server and load generator on one core each"
GOMAXPROCS=1 ./loadgen -url http://127.0.0.1:5413 -data data/test.csv -column text -clients 32 -rows 1 -duration 10s | tee single-1core.json
echo "== 1,000-row requests, 4 clients, server and load generator on one core each"
GOMAXPROCS=1 ./loadgen -url http://127.0.0.1:5413 -data data/train.csv -column text -clients 4 -rows 1000 -duration 10s | tee batch-1core.json
fi
[ -n "${THROUGHPUT_ONLY:-}" ] && { echo "results in $work"; exit 0; }

./dawn train --data data/train.csv --target label --text text --char-ngrams 2-5 --ngrams 1 --bits 18 --workers 1 --out reference >/dev/null
./dawn serve --model reference --port 5412 2>serve-reference.log & pids+=($!)
wait_up 5412
echo "== cascade build (sample: 80 % of the comments)"
./dawn cascade build --reference http://127.0.0.1:5412 --data data/sample.csv --text text \
	--cheap-spec "$cheap" "${margin[@]}" --target-accuracy 0.99 --out cascade --seed 1 --json | tee build.json
for i in 1 2 3; do
	echo "== cascade eval $i (the other 20 %, one row per call)"
	./dawn cascade eval --model cascade --reference http://127.0.0.1:5412 --data data/holdout.csv --json | tee "eval$i.json"
done
echo "== 5 random 80/20 splits (seeds 1-5): build on the sample, eval on the rest"
for seed in 1 2 3 4 5; do
	(cd "$root" && go run ./bench/serve/prepdata -data "$data" -out "$work/split$seed" -sample 0.8 -seed "$seed")
	./dawn cascade build --reference http://127.0.0.1:5412 --data "split$seed/sample.csv" --text text \
		--cheap-spec "$cheap" "${margin[@]}" --target-accuracy 0.99 --out "cascade$seed" --seed 1 --json > "build-split$seed.json"
	./dawn cascade eval --model "cascade$seed" --reference http://127.0.0.1:5412 --data "split$seed/holdout.csv" --json > "eval-split$seed.json"
	summary "seed $seed" "build-split$seed.json" "eval-split$seed.json"
done
echo "== tutorial split: sample = training split, test = Shakira video (distribution shift)"
./dawn cascade build --reference http://127.0.0.1:5412 --data data/train.csv --text text \
	--cheap-spec "$cheap" "${margin[@]}" --target-accuracy 0.99 --out cascade-shift --seed 1 --json | tee build-shift.json
./dawn cascade eval --model cascade-shift --reference http://127.0.0.1:5412 --data data/test.csv --json | tee eval-shift.json
echo "== summary"
for i in 1 2 3; do summary "split 1 again, eval $i" build.json "eval$i.json"; done
for seed in 1 2 3 4 5; do summary "seed $seed" "build-split$seed.json" "eval-split$seed.json"; done
summary "tutorial split" build-shift.json eval-shift.json
uptime
echo "results in $work"
