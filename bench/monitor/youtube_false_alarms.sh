#!/bin/sh
# False-alarm rate of the drift check on YouTube spam (videos 1-4): 100
# independent resamples, each a fresh 400-row reference and a disjoint
# 200-row window drawn from the rows the model was not trained on
# (monitor/youtube_resample_test.go). Needs the shared data ($DAWN_DATA).
# Writes bench/monitor/youtube_false_alarms.txt: command, date, load, and
# one line per resample (dataset drift verdict, drifted columns, the
# domain classifier's AUC and threshold on CONTENT).
set -eu
cd "$(dirname "$0")/../.."
out=bench/monitor/youtube_false_alarms.txt
{
	echo "command: DAWN_FALSE_ALARMS_OUT=... go test ./monitor -run YouTubeFalseAlarmRate -v -count=1"
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "uptime: $(uptime)"
	DAWN_FALSE_ALARMS_OUT="$PWD/$out.rows" go test ./monitor -run YouTubeFalseAlarmRate -v -count=1 | grep -E 'false alarms|^(ok|FAIL|---)' || true
	cat "$out.rows"
} >"$out.tmp"
rm -f "$out.rows"
mv "$out.tmp" "$out"
cat "$out"
