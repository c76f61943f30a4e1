package youtube

import (
	"os"
	"path/filepath"
	"testing"
)

func TestTempSplits(t *testing.T) {
	if _, err := os.Stat(Dir()); err != nil {
		t.Skipf("YouTube data not found at %s (set DAWN_DATA to the shared data folder)", Dir())
	}
	dir, err := TempSplits("youtube-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	for name, rows := range map[string]int{"train.csv": 1586, "dev.csv": 100, "valid.csv": 120, "test.csv": 250} {
		got, err := readCSV(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != rows {
			t.Errorf("%s: %d rows, want %d", name, len(got), rows)
		}
	}
}
