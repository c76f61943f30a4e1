package explain

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/data"
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

// writeParquet writes csv text as a Parquet file through package data.
func writeParquet(t *testing.T, path, csv string) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src.csv")
	if err := os.WriteFile(src, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	rec, err := data.ReadRecord(src, data.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	w, err := data.Create(path, rec.Schema(), data.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// A prediction-log directory (or a glob) reads as one frame: files in name
// order, hidden files (being written) skipped, dictionaries merged.
func TestReadFrameDirectoryAndGlob(t *testing.T) {
	dir := t.TempDir()
	writeParquet(t, filepath.Join(dir, "p-2.parquet"), "country,latency\nUSA,3\nCAN,40\n")
	writeParquet(t, filepath.Join(dir, "p-1.parquet"), "country,latency\nCAN,50\nMEX,1\nUSA,2\n")
	os.WriteFile(filepath.Join(dir, ".p-3.parquet.tmp-1"), []byte("partial"), 0o644)
	os.WriteFile(filepath.Join(dir, "README"), []byte("not data"), 0o644)
	opt := ReadOptions{Columns: []string{"country", "latency"}, Kinds: map[string]Kind{"country": String}}
	for _, in := range []string{dir, filepath.Join(dir, "p-*.parquet")} {
		f, err := ReadFrame(in, opt)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		c, _ := f.Strings("country")
		lat, _ := f.Numbers("latency")
		var got []string
		for i := 0; i < f.Rows; i++ {
			got = append(got, c.Dict[c.Codes[i]]+":"+strconv.FormatFloat(lat[i], 'g', -1, 64))
		}
		if want := "CAN:50 MEX:1 USA:2 USA:3 CAN:40"; strings.Join(got, " ") != want {
			t.Errorf("%s: got %v, want %s", in, got, want)
		}
		if len(c.Dict) != 3 {
			t.Errorf("%s: dictionary %v, want 3 values", in, c.Dict)
		}
	}
	if _, err := ReadFrame(filepath.Join(dir, "nope-*.parquet"), opt); err == nil || !strings.Contains(err.Error(), "matches no file") {
		t.Errorf("empty glob: %v", err)
	}
	writeParquet(t, filepath.Join(dir, "p-0.parquet"), "country,other\nCAN,1\n")
	if _, err := ReadFrame(dir, opt); err == nil || !strings.Contains(err.Error(), "p-0.parquet") {
		t.Errorf("file without the column: %v", err)
	}
}

// --delimiter and --format reach the reader.
func TestReadFrameDataOptions(t *testing.T) {
	p := filepath.Join(t.TempDir(), "events.txt")
	os.WriteFile(p, []byte("country;latency\nCAN;5\nUSA;1\n"), 0o644)
	f, err := ReadFrame(p, ReadOptions{Data: data.Options{Format: data.CSV, Delimiter: ';'}})
	if err != nil {
		t.Fatal(err)
	}
	lat, err := f.Numbers("latency")
	if err != nil || lat[0] != 5 || lat[1] != 1 {
		t.Errorf("latency %v, %v", lat, err)
	}
	if _, err := ReadFrame(p, ReadOptions{}); err == nil {
		t.Error("extension-less file read without --format")
	}
}
