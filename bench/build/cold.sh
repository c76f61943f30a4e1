#!/usr/bin/env bash
# Cold build of the default binary: empty module cache and build cache in
# temp dirs, modules from the proxy, as on a fresh machine. Prints the wall
# and CPU time, what was downloaded, the binary's size, and the compile
# time per module from Go's action graph (which package is the critical
# path). Writes bench/build/cold-results.txt.
#
#   bash bench/build/cold.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out=bench/build/cold-results.txt
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp"; rm -rf "$tmp"' EXIT
export GOMODCACHE=$tmp/mod GOCACHE=$tmp/cache CGO_ENABLED=0 GOFLAGS=-modcacherw
{
  echo "# bash bench/build/cold.sh   $(date -u '+%Y-%m-%d %H:%M UTC'); $(go version); $(nproc) cores"
  echo "# uptime before:$(uptime)"
  s=$(date +%s.%N)
  /usr/bin/time -f 'user %U s, system %S s, max RSS %M KB' go build -debug-actiongraph="$tmp/ag.json" -o "$tmp/dawn" ./cmd/dawn
  e=$(date +%s.%N)
  echo "cold go build ./cmd/dawn: wall $(echo "$e - $s" | bc) s"
  echo "# uptime after:$(uptime)"
  echo "module cache: $(du -sb "$GOMODCACHE" | cut -f1) bytes extracted, $(du -sb "$GOMODCACHE/cache/download" | cut -f1) bytes downloaded"
  echo "binary: $(stat -c %s "$tmp/dawn") bytes; packages: $(go list -deps ./cmd/dawn | wc -l)"
  python3 - "$tmp/ag.json" <<'PY'
import json, sys, datetime, collections
def ts(s):
    base, _, frac = s.rstrip('Z').partition('.')
    return datetime.datetime.fromisoformat(base).timestamp() + float('0.' + (frac or '0'))
rows = [(ts(a['TimeDone']) - ts(a['TimeStart']), a['Package']) for a in json.load(open(sys.argv[1]))
        if a.get('Mode') == 'build' and a.get('TimeStart') and a.get('TimeDone')]
agg = collections.Counter()
for d, p in rows:
    parts = p.split('/')
    key = 'std' if '.' not in parts[0] else '/'.join(parts[:2] if parts[0] == 'modernc.org' else parts[:3])
    agg[key] += d
tot = sum(agg.values())
print(f"compile actions: {tot:.0f} s summed (they overlap on several cores)")
for k, v in agg.most_common(15):
    print(f"  {v:7.1f} s {100*v/tot:5.1f} %  {k}")
print("longest single packages (a package compiles on one core):")
for d, p in sorted(rows, reverse=True)[:8]:
    print(f"  {d:7.1f} s  {p}")
PY
} 2>&1 | tee "$out"
