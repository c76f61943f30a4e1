package explain

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadFrameBadFiles(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.parquet")
	os.WriteFile(bad, []byte("PAR1 this is not parquet PAR1"), 0o644)
	if _, err := ReadFrame(bad, ReadOptions{}); err == nil || !strings.Contains(err.Error(), "bad.parquet") {
		t.Errorf("corrupt parquet: %v", err)
	}
	csv := filepath.Join(dir, "d.csv")
	os.WriteFile(csv, []byte("a,m\nx,1\ny,oops\n"), 0o644)
	if _, err := ReadFrame(csv, ReadOptions{Kinds: map[string]Kind{"m": Number}}); err == nil {
		t.Error("non-numeric metric accepted")
	}
	if _, err := ReadFrame(csv, ReadOptions{Columns: []string{"nope"}}); err == nil || !strings.Contains(err.Error(), `unknown column "nope"`) {
		t.Errorf("unknown column: %v", err)
	}
	if _, err := ReadFrame(filepath.Join(dir, "missing.csv"), ReadOptions{}); err == nil {
		t.Error("missing file accepted")
	}
	f, err := ReadFrame(csv, ReadOptions{Kinds: map[string]Kind{"m": String}})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := f.Strings("m"); c.Dict[c.Codes[1]] != "oops" {
		t.Errorf("string kind: %v", c)
	}
}
