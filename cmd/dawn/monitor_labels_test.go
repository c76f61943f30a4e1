package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --labels-file joins labels on request_id: the realised accuracy equals
// the one --labels gives when the same classes are a column of the rows,
// and rows without a label are left out of it.
func TestMonitorCheckLabelsFile(t *testing.T) {
	dir := t.TempDir()
	mdir := trainMonitored(t, dir)
	cur := filepath.Join(dir, "cur.csv")
	monitorRows(t, cur, 1500, 3, true)
	b, _ := os.ReadFile(cur)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var rows, labels, half strings.Builder
	rows.WriteString("request_id,x,country,version\n")
	labels.WriteString("request_id,label\n")
	half.WriteString("request_id,x,country,version,y\n")
	for i, ln := range lines[1:] {
		f := strings.Split(ln, ",") // x,country,version,y
		fmt.Fprintf(&rows, "req-%d,%s,%s,%s\n", i, f[0], f[1], f[2])
		if i%2 == 0 {
			fmt.Fprintf(&labels, "req-%d,%s\n", i, f[3])
			fmt.Fprintf(&half, "req-%d,%s,%s,%s,%s\n", i, f[0], f[1], f[2], f[3])
		} else {
			fmt.Fprintf(&half, "req-%d,%s,%s,%s,\n", i, f[0], f[1], f[2])
		}
	}
	rowsCSV, labelsCSV, halfCSV := filepath.Join(dir, "rows.csv"), filepath.Join(dir, "labels.csv"), filepath.Join(dir, "half.csv")
	os.WriteFile(rowsCSV, []byte(rows.String()), 0o644)
	os.WriteFile(labelsCSV, []byte(labels.String()), 0o644)
	os.WriteFile(halfCSV, []byte(half.String()), 0o644)
	actual := func(args ...string) (float64, int) {
		t.Helper()
		code, out, stderr := runDawn(t, append([]string{"monitor", "check", "--model", mdir, "--segments", "country,version", "--json"}, args...)...)
		if code != 0 {
			t.Fatalf("check %v: %s %s", args, out, stderr)
		}
		var r struct {
			Performance struct {
				Actual *struct {
					Accuracy float64
					Rows     int
				}
			}
		}
		json.Unmarshal([]byte(out), &r)
		if r.Performance.Actual == nil {
			t.Fatalf("check %v: no realised accuracy: %s", args, out)
		}
		return r.Performance.Actual.Accuracy, r.Performance.Actual.Rows
	}
	wantAcc, wantRows := actual("--data", halfCSV, "--labels", "y")
	if wantRows != 750 {
		t.Fatalf("in-row labels cover %d rows, want 750", wantRows)
	}
	if acc, n := actual("--data", rowsCSV, "--labels-file", labelsCSV); acc != wantAcc || n != wantRows {
		t.Errorf("--labels-file: accuracy %g over %d rows, want %g over %d", acc, n, wantAcc, wantRows)
	}
	// Rows without request ids cannot be joined: a clear error.
	code, out, _ := runDawn(t, "monitor", "check", "--model", mdir, "--data", cur, "--labels-file", labelsCSV, "--json")
	if code != 1 || !strings.Contains(out, `no \"request_id\" column`) {
		t.Errorf("rows without request_id: %d %s", code, out)
	}
	code, out, _ = runDawn(t, "monitor", "check", "--model", mdir, "--data", rowsCSV, "--labels-file", rowsCSV, "--json")
	if code != 1 || !strings.Contains(out, `no \"label\" column`) {
		t.Errorf("labels file without label: %d %s", code, out)
	}
}
