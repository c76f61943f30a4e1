package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// monitorRows writes n rows of (x, country, version, y) where y = x > 0;
// with shift, x moves by +3 in the rows of country CA running v3 only, so
// the model (trained before the shift) errs there.
func monitorRows(t *testing.T, path string, n int, seed uint64, shift bool) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	var b strings.Builder
	b.WriteString("x,country,version,y\n")
	for range n {
		c := []string{"US", "CA", "MX", "FR"}[rng.IntN(4)]
		v := []string{"v1", "v2", "v3"}[rng.IntN(3)]
		x := rng.NormFloat64()
		y := "neg"
		if x+0.3*rng.NormFloat64() > 0 {
			y = "pos"
		}
		if shift && c == "CA" && v == "v3" {
			x += 3
			y = "neg"
		}
		fmt.Fprintf(&b, "%.4f,%s,%s,%s\n", x, c, v, y)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestMonitorCheck(t *testing.T) {
	dir := t.TempDir()
	trainCSV, validCSV, curCSV := filepath.Join(dir, "train.csv"), filepath.Join(dir, "valid.csv"), filepath.Join(dir, "cur.csv")
	monitorRows(t, trainCSV, 2000, 1, false)
	monitorRows(t, validCSV, 800, 2, false)
	monitorRows(t, curCSV, 1500, 3, true)
	mdir := filepath.Join(dir, "model")
	code, _, stderr := runDawn(t, "train", "--data", trainCSV, "--target", "y", "--numeric", "x", "--valid", validCSV, "--gold", "y", "--out", mdir, "--workers", "1", "--json")
	if code != 0 {
		t.Fatalf("train: %s", stderr)
	}
	// dawn train wrote the profile from the validation rows.
	if _, err := os.Stat(filepath.Join(mdir, "monitor_profile.json")); err != nil {
		t.Fatal(err)
	}
	html := filepath.Join(dir, "report.html")
	code, out, stderr := runDawn(t, "monitor", "check", "--model", mdir, "--data", curCSV, "--labels", "y", "--segments", "country,version", "--json", "--report", html)
	if code != 0 {
		t.Fatalf("check: %s %s", out, stderr)
	}
	// --report wrote the HTML report of the window, performance included.
	if b, err := os.ReadFile(html); err != nil || !strings.Contains(string(b), `class="series actual"`) || !strings.Contains(string(b), "country=CA, version=v3") {
		t.Errorf("report %s: %v", html, err)
	}
	var r struct {
		Drift struct {
			DatasetDrift *bool    `json:"dataset_drift"`
			Share        *float64 `json:"share"`
			Columns      []struct {
				Column    string
				Test      string
				Statistic *float64
				PValue    *float64 `json:"p_value"`
				Threshold *float64
				Drift     *bool
			}
		}
		Performance struct {
			Estimated *struct{ Accuracy float64 }
			Actual    *struct{ Accuracy float64 }
		}
		Segments []struct {
			Attributes map[string]string
			Support    *float64
			RiskRatio  *float64 `json:"risk_ratio"`
		}
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if r.Drift.DatasetDrift == nil || r.Drift.Share == nil || len(r.Drift.Columns) == 0 {
		t.Fatalf("drift part: %s", out)
	}
	c := r.Drift.Columns[0]
	if c.Column == "" || c.Test == "" || c.Statistic == nil || c.Threshold == nil || c.Drift == nil {
		t.Errorf("column entry %+v", c)
	}
	if r.Performance.Estimated == nil || r.Performance.Actual == nil {
		t.Fatalf("performance part: %s", out)
	}
	// The shifted segment is wrong: realised accuracy falls, and the
	// errors are explained by {country=CA, version=v3}.
	if r.Performance.Actual.Accuracy > 0.93 {
		t.Errorf("realised accuracy %.3f; the planted errors should show", r.Performance.Actual.Accuracy)
	}
	if len(r.Segments) == 0 || r.Segments[0].Attributes["country"] != "CA" || r.Segments[0].Attributes["version"] != "v3" || len(r.Segments[0].Attributes) != 2 {
		t.Fatalf("segments: %s", out)
	}
	if r.Segments[0].Support == nil || r.Segments[0].RiskRatio == nil || *r.Segments[0].RiskRatio < 3 {
		t.Errorf("top segment %+v", r.Segments[0])
	}
	// Human output and errors.
	code, out, _ = runDawn(t, "monitor", "check", "--model", mdir, "--data", curCSV)
	if code != 0 || !strings.Contains(out, "estimated accuracy (CBPE)") {
		t.Errorf("text output (%d): %s", code, out)
	}
	code, out, _ = runDawn(t, "monitor", "check", "--model", mdir, "--data", filepath.Join(dir, "nope.csv"), "--json")
	if code != 1 || !strings.Contains(out, `"error"`) {
		t.Errorf("missing file (%d): %s", code, out)
	}
	if code, _, _ = runDawn(t, "monitor", "check", "--model", mdir); code != 2 {
		t.Errorf("no --data: exit %d, want 2", code)
	}
	if code, _, _ = runDawn(t, "monitor", "check", "--model", mdir, "--data", curCSV, "--test", "x=magic"); code != 2 {
		t.Errorf("unknown test: exit %d, want 2", code)
	}
	// monitor profile rebuilds it.
	code, out, stderr = runDawn(t, "monitor", "profile", "--model", mdir, "--data", validCSV, "--labels", "y", "--json")
	if code != 0 || !strings.Contains(out, `"reference_accuracy"`) {
		t.Errorf("profile (%d): %s %s", code, out, stderr)
	}
	if code, _, _ = runDawn(t, "monitor", "check", "--help"); code != 0 {
		t.Errorf("--help: exit %d", code)
	}
}
