package main

import (
	"encoding/json"
	"testing"
)

func TestGCCommand(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runDawn(t, "gc", "--data-dir", dir, "--dry-run", "--json")
	var res struct {
		DryRun  bool           `json:"dry_run"`
		Removed map[string]int `json:"removed"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || !res.DryRun || res.Removed["runs"] != 0 {
		t.Fatalf("gc: %d %q %q", code, out, errs)
	}
}
