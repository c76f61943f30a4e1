package mbsql

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// The human table of a DIFF with the extra clauses, against a golden file.
func TestDiffTableGolden(t *testing.T) {
	dir := filepath.Join(dataDir(t), "macrobase")
	s := NewSession(dir)
	var out bytes.Buffer
	err := s.Exec(importSample+
		"SELECT * FROM DIFF (SPLIT sample WHERE usage > 1000.0) ON location, version WITH MIN SUPPORT 0.05 MIN RATIO 1.1 COMPARE BY prevalence_ratio(COUNT(*)) ORDER BY support DESC, location;\n"+
		"SELECT location, support FROM DIFF (SPLIT sample WHERE usage > 1000.0 AND latency > 500) ON * WHERE support > 0.1 ORDER BY location DESC NULLS LAST;",
		func(r *Result) error {
			if r.Frame != nil {
				return WriteTable(&out, r.Frame, 0)
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "diff_table.golden")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
}
