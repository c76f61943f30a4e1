#!/bin/sh
# Side-by-side: dawn's HogWild! logistic regression vs scikit-learn on the
# same 1,000,000 rows of hashed text features (see hashbench/main.go).
# Usage: bench/train/run.sh [ROWS]   (from the repository root)
# Results land in bench/train/results/. scikit-learn is optional: without it
# only dawn's figures are produced.
set -eu
rows=${1:-1000000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p bench/train/results
{ echo "cores: $(nproc)"; echo "start: $(uptime)"; } > bench/train/results/machine.txt
go run ./bench/train/hashbench -rows "$rows" -svm "$work" -json bench/train/results/dawn.json
# Debian's python3-sklearn lives in /usr/bin/python3, which may not be the
# first python3 on PATH.
py=python3
for p in python3 /usr/bin/python3; do
	if "$p" -c 'import sklearn' 2>/dev/null; then py=$p; break; fi
done
"$py" bench/train/sklearn_bench.py "$work" --json bench/train/results/sklearn.json
echo "end:   $(uptime)" >> bench/train/results/machine.txt
