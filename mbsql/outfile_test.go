package mbsql

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/dawn-ml/dawn/data"
)

// INTO OUTFILE writes the format the extension names, with the rows the
// query returns; a CSV name keeps MacroBase's CSV bytes.
func TestIntoOutfileByExtension(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "t.csv"), []byte("usage,location,version\n2000,CAN,v1\n1500,CAN,v2\n10,USA,v1\n20,USA,v2\n30,MEX,v1\n"), 0o644)
	imp := "IMPORT FROM CSV FILE 't.csv' INTO t(usage double, location string, version string);\n"
	query := func(out, extra string) string {
		return imp + "SELECT * FROM DIFF (SPLIT t WHERE usage > 1000) ON location, version INTO OUTFILE '" + out + "'" + extra + ";"
	}
	want := runSQL(t, dir, imp+"SELECT * FROM DIFF (SPLIT t WHERE usage > 1000) ON location, version;")
	runSQL(t, dir, query("e.csv", ""))
	if got, _ := os.ReadFile(filepath.Join(dir, "e.csv")); string(got) != string(want) {
		t.Errorf("csv:\n%s\nwant\n%s", got, want)
	}
	for _, name := range []string{"e.parquet", "e.jsonl", "e.arrow"} {
		runSQL(t, dir, query(name, ""))
		rec, err := data.ReadRecord(filepath.Join(dir, name), data.Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var b strings.Builder
		for i := 0; i < int(rec.NumCols()); i++ {
			b.WriteString(rec.ColumnName(i) + "=" + rec.Column(i).(interface{ ValueStr(int) string }).ValueStr(0) + " ")
		}
		// The only explanation: location=CAN (both outliers), version empty.
		if got, w := b.String(), "location=CAN version=(null) support=1 global_ratio=2.5 outlier_count=2 total_count=2 "; rec.NumRows() != 1 || got != w {
			t.Errorf("%s: %d rows, %q, want %q", name, rec.NumRows(), got, w)
		}
		if _, ok := rec.Column(2).(*array.Float64); !ok && name != "e.jsonl" { // JSON lines re-infer 1 as an integer
			t.Errorf("%s: support is %s, want float64", name, rec.Column(2).DataType())
		}
		rec.Release()
	}
	runSQL(t, dir, query("e.tsv", ""))
	if got, _ := os.ReadFile(filepath.Join(dir, "e.tsv")); !strings.HasPrefix(string(got), "location\tversion\tsupport") {
		t.Errorf("tsv: %q", got)
	}
	s := NewSession(dir)
	err := s.Exec(query("e2.parquet", " FIELDS TERMINATED BY '|'"), func(*Result) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "FIELDS TERMINATED BY applies to CSV and TSV") {
		t.Errorf("delimiter with parquet: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "e2.parquet")); err == nil {
		t.Error("a failed write left e2.parquet")
	}
}
