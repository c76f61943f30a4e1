#!/usr/bin/env bash
# Measures dawn video's queries with OpenCV's cached detections as the
# reference (cheap: no cascade runs), on the pre-decoded 96×72 frames:
# the selections' agreement over seeds 1–20, the aggregate's coverage, the
# LIMIT query, the saved cascade, and the specialised-model experiments.
# Agreement and calls do not depend on the machine's load; seconds do.
# Writes bench/video/cached-reference-DATE.txt and models-DATE.txt.
# Usage: DAWN_DATA=../shared/data bash bench/video/cached.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
day=$(date -u +%Y-%m-%d)
run() {
	local out=$1 pat=$2
	{
		echo "# command: DAWN_VIDEO_EXPERIMENTS=1 go test ./video -count=1 -v -run '$pat'"
		echo "# reference: OpenCV's cached detections (vtest_fullbody_opencv.csv) priced at 0.17 s per call; frames: vtest_96x72_gray.raw"
		echo "# date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "# uptime before: $(uptime)"
		DAWN_VIDEO_EXPERIMENTS=1 go test ./video -count=1 -v -run "$pat" 2>&1 | grep -v '^=== RUN'
		echo "# uptime after: $(uptime)"
	} > "$out"
}
run "bench/video/cached-reference-$day.txt" 'SelectionAgrees|SelectionSweep|Aggregate|Limit|SavedCascade'
run "bench/video/models-$day.txt" 'ModelExperiment|SelectionTrainingSizes'
