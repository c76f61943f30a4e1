#!/usr/bin/env bash
# Measures dawn fuse: method accuracy on D_Product-shaped generated data
# (bench/fuse/crowd) and the Dawid–Skene speed target (10M claims, 100k
# sources, 50 EM iterations). Writes bench/fuse/results-DATE.json.
# Usage: bash bench/fuse/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out=bench/fuse/results-$(date -u +%Y-%m-%d).json
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
crowd=$(go run ./bench/fuse/crowd -seeds 5)
bench=$(go test ./fuse -run XXX -bench 'DawidSkene10M' -benchtime 3x -count 1 2>&1 | grep -E '^Benchmark')
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$out" "$load_before" "$load_after" "$crowd" "$bench" <<'PY'
import json, sys, datetime, platform, os
out, lb, la, crowd, bench = sys.argv[1:]
fields = bench.split()
ns = float(fields[2])
json.dump({
  "command": "bash bench/fuse/run.sh",
  "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
  "load_average_before": lb, "load_average_after": la, "cores": os.cpu_count(),
  "crowd_d_product_shaped": json.loads(crowd),
  "dawid_skene_10M_claims_100k_sources_50_iterations": {"benchmark": bench.strip(), "seconds": ns / 1e9},
}, open(out, "w"), indent=1)
print(open(out).read())
PY
