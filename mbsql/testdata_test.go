package mbsql

import (
	"os"
	"path/filepath"
	"testing"
)

// dataDir returns $DAWN_DATA, or ../shared/data next to the module root,
// skipping the test when the MacroBase reference data is absent.
func dataDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("DAWN_DATA"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Skip("module root not found; set DAWN_DATA to the shared data directory")
		}
		dir = up
	}
	// ../shared/data next to the repository; from a git worktree the
	// repository may sit one level deeper, so look further up too.
	first := filepath.Join(dir, "..", "shared", "data")
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		cand := filepath.Join(d, "shared", "data")
		if _, err := os.Stat(filepath.Join(cand, "macrobase")); err == nil {
			return cand
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	t.Skipf("MacroBase reference data not found under %s; set DAWN_DATA", first)
	return ""
}

func macrobaseFile(t testing.TB, rel string) string {
	return filepath.Join(dataDir(t), "macrobase", rel)
}
