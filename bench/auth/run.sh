#!/bin/sh
# Login under attack (issue 17 acceptance): 128 concurrent bad logins
# against an in-process `dawn server --auth` handler, RSS and a signed-in
# user's latency measured meanwhile; wrong-password vs unknown-user timing.
# Writes bench/auth/results.txt with the command, date and load average.
#   bench/auth/run.sh            # 8 s of attack, 30 timing samples each
#   DAWN_ATTACK_SECONDS=20 DAWN_LOGIN_SAMPLES=100 bench/auth/run.sh
set -e
cd "$(dirname "$0")/../.."
out=bench/auth/results.txt
tmp=$(mktemp)
cmd="DAWN_LOGIN_STRICT=1 go test ./tracking/auth -run TestLoginUnderAttack -count=1 -v"
status=0
DAWN_BENCH_OUT=$tmp DAWN_LOGIN_STRICT=1 go test ./tracking/auth -run TestLoginUnderAttack -count=1 -v > "$tmp.log" 2>&1 || status=$?
{
	echo "command: $cmd (DAWN_ATTACK_SECONDS=${DAWN_ATTACK_SECONDS:-8} DAWN_LOGIN_SAMPLES=${DAWN_LOGIN_SAMPLES:-30})"
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "uptime: $(uptime)"
	echo "cores: $(nproc)"
	cat "$tmp"
	if [ $status -ne 0 ]; then
		echo "acceptance bounds NOT met on this run:"
		grep -E 'want' "$tmp.log" || true
	else
		echo "acceptance bounds met"
	fi
} >> "$out"
echo >> "$out"
rm -f "$tmp" "$tmp.log"
tail -n 12 "$out"
