#!/bin/sh
# The SMS spam flow of docs/label.md with default flags: split the UCI SMS
# Spam Collection, label the training part with lfs.yaml, train an end model
# on the probabilistic labels and score it on the test part.
#   sh examples/sms/run.sh [OUT_DIR]
# Needs `dawn` on PATH (or DAWN=path/to/dawn) and the data in
# $DAWN_DATA/sms_spam_uci. cmd/dawn's TestSMSFlowDefaults runs the same steps.
set -eu
DAWN=${DAWN:-dawn}
DATA=${DAWN_DATA:-../shared/data}/sms_spam_uci/SMSSpamCollection
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$(mktemp -d)}
mkdir -p "$OUT"
cd "$OUT"
"$DAWN" split --data "$DATA" --format tsv --stratify Label --seed 1 \
	--train-out train.csv --valid-out valid.csv --test-out test.csv
"$DAWN" label run --lfs "$HERE/lfs.yaml" --data train.csv --out labels.csv \
	--valid valid.csv --gold Label
"$DAWN" train --data labels.csv --text SMS --prob-cols prob_ham,prob_spam --out model
"$DAWN" eval --model model --data test.csv --gold Label
