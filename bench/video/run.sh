#!/usr/bin/env bash
# Measures dawn video on OpenCV's vtest clip: the pure-Go cascade against
# OpenCV's cached detections on every frame (count exact / within ±1,
# seconds per frame), then the issue's queries with dawn's own detector as
# the reference (through the detection cache the first step fills).
# Needs ffmpeg and $DAWN_DATA/opencv-vtest. Writes bench/video/results-DATE.json.
# Usage: DAWN_DATA=../shared/data bash bench/video/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
D=${DAWN_DATA:-../shared/data}/opencv-vtest
out=bench/video/results-$(date -u +%Y-%m-%d).json
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/dawn" ./cmd/dawn
load0=$(cut -d' ' -f1-3 /proc/loadavg)
"$tmp/dawn" video detect --video "$D/vtest.avi" --cascade "$D/haarcascade_fullbody.xml" --cache "$tmp/cache" --out "$tmp/boxes.csv" --json > "$tmp/detect.json"
q() { local sql=$1; shift; "$tmp/dawn" video query --video "$D/vtest.avi" --reference "$D/haarcascade_fullbody.xml" --cache "$tmp/cache" --sql "$sql" --json "$@"; }
q 'SELECT frame FROM video WHERE count(person) >= 6' > "$tmp/q6.json"
q 'SELECT frame FROM video WHERE count(person) >= 7' --save "$tmp/casc7" > "$tmp/q7.json"
# The same query again from the saved cascade: no training calls.
q 'SELECT frame FROM video WHERE count(person) >= 7' --cascade "$tmp/casc7" --seed 2 > "$tmp/q7saved.json"
q 'SELECT AVG(count(person)) FROM video ERROR WITHIN 0.1 AT CONFIDENCE 95%' > "$tmp/avg.json"
q 'SELECT frame FROM video WHERE count(person) >= 7 LIMIT 10' > "$tmp/limit.json"
load1=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$out" "$tmp" "$D" "$load0" "$load1" <<'PY'
import csv, json, sys, collections, datetime, os
out, tmp, d, l0, l1 = sys.argv[1:]
def counts(p):
    c = collections.Counter()
    for r in csv.DictReader(open(p)):
        c[int(r["frame"])] += 1
    return c
ours, cv = counts(f"{tmp}/boxes.csv"), counts(f"{d}/vtest_fullbody_opencv.csv")
n = 795
exact = sum(ours[i] == cv[i] for i in range(n)) / n
within = sum(abs(ours[i] - cv[i]) <= 1 for i in range(n)) / n
res = {"command": "bash bench/video/run.sh", "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
       "load_average_before": l0, "load_average_after": l1, "cores": os.cpu_count(),
       "detect": json.load(open(f"{tmp}/detect.json")), "count_exact_vs_opencv": exact, "count_within_1_vs_opencv": within,
       "opencv_seconds_per_frame": 0.17, "dawn_mean_count": sum(ours[i] for i in range(n)) / n}
for k in ["q6", "q7", "q7saved", "avg", "limit"]:
    a = json.load(open(f"{tmp}/{k}.json"))
    if k in ("q6", "q7", "q7saved"):
        kk = 6 if k == "q6" else 7
        sel = set(a["frames_selected"] or [])
        a["agreement_with_dawn_reference"] = sum(((ours[i] >= kk) == (i in sel)) for i in range(n)) / n
    a.pop("frames_selected", None) if k != "limit" else None
    res[k] = a
json.dump(res, open(out, "w"), indent=1)
print(open(out).read())
PY
