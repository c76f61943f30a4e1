package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/monitor"
)

// dawn label fit --out DIR and dawn label run --model-out DIR write the
// reference profile into the model directory, as dawn train does: the
// data's columns and the label model's outputs on the reference rows, with
// the calibration map when --valid has gold labels; dawn monitor check
// then needs the directory only.
func TestLabelModelDirectoryHasProfile(t *testing.T) {
	dir := t.TempDir()
	lfs, _ := filepath.Abs("../../label/testdata/lfs.yaml")
	src, err := os.ReadFile("../../label/testdata/comments.csv")
	if err != nil {
		t.Fatal(err)
	}
	// The LF file names its lookup list relative to itself; copy both.
	lfsDir := filepath.Join(dir, "lfs")
	os.MkdirAll(lfsDir, 0o755)
	for _, f := range []string{"lfs.yaml", "authors.txt"} {
		b, _ := os.ReadFile(filepath.Join(filepath.Dir(lfs), f))
		os.WriteFile(filepath.Join(lfsDir, f), b, 0o644)
	}
	lfs = filepath.Join(lfsDir, "lfs.yaml")
	data := filepath.Join(dir, "comments.csv")
	os.WriteFile(data, src, 0o644)
	// A gold-labelled copy: spam where the comment has a link or "my".
	var gold strings.Builder
	for i, ln := range strings.Split(strings.TrimSpace(string(src)), "\n") {
		switch {
		case i == 0:
			gold.WriteString(ln + ",CLASS\n")
		case strings.Contains(ln, "http") || strings.Contains(ln, " my "):
			gold.WriteString(ln + ",spam\n")
		default:
			gold.WriteString(ln + ",ham\n")
		}
	}
	valid := filepath.Join(dir, "valid.csv")
	os.WriteFile(valid, []byte(gold.String()), 0o644)

	check := func(mdir string, rows int, calibrated bool) {
		t.Helper()
		p, err := monitor.LoadProfile(mdir)
		if err != nil {
			t.Fatalf("%s: %v", mdir, err)
		}
		if p.Rows != rows || p.Column("CONTENT") == nil || p.Output == nil || len(p.Output.Predicted) == 0 {
			t.Errorf("%s: profile of %d rows, CONTENT %v, output %+v; want %d rows with outputs", mdir, p.Rows, p.Column("CONTENT") != nil, p.Output, rows)
		}
		if (p.Output != nil && p.Output.Calibration != nil) != calibrated {
			t.Errorf("%s: calibration map present = %v, want %v", mdir, !calibrated, calibrated)
		}
		code, out, stderr := runDawn(t, "monitor", "check", "--model", mdir, "--data", data, "--json")
		var r map[string]any
		if code != 0 || json.Unmarshal([]byte(out), &r) != nil || r["drift"] == nil {
			t.Errorf("monitor check of %s: %d %s %s", mdir, code, out, stderr)
		}
	}
	runDir := filepath.Join(dir, "run-model")
	if code, _, stderr := runDawn(t, "label", "run", "--lfs", lfs, "--data", data, "--out", filepath.Join(dir, "labels.csv"),
		"--method", "majority", "--model-out", runDir, "--valid", valid, "--gold", "CLASS"); code != 0 {
		t.Fatalf("label run: %s", stderr)
	}
	check(runDir, 6, true)

	votes := filepath.Join(dir, "votes.parquet")
	if code, _, stderr := runDawn(t, "label", "apply", "--lfs", lfs, "--data", data, "--out", votes); code != 0 {
		t.Fatalf("label apply: %s", stderr)
	}
	fitDir := filepath.Join(dir, "fit-model")
	if code, _, stderr := runDawn(t, "label", "fit", "--votes", votes, "--method", "majority", "--out", fitDir, "--lfs", lfs, "--data", data); code != 0 {
		t.Fatalf("label fit: %s", stderr)
	}
	check(fitDir, 6, false)
	// A .json label model is no model directory: no profile beside it.
	if code, _, stderr := runDawn(t, "label", "fit", "--votes", votes, "--method", "majority", "--out", filepath.Join(dir, "m.json")); code != 0 {
		t.Fatalf("label fit json: %s", stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, monitor.ProfileFile)); err == nil {
		t.Error("a profile written beside a .json label model")
	}
}
