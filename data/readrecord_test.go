package data

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
)

func TestReadRecordConcatenatesBatches(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.csv")
	if err := os.WriteFile(p, []byte("a,b\n1,x\n2,y\n3,z\n4,w\n5,v\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rec, err := ReadRecord(p, Options{BatchSize: 2}) // three batches: 2, 2, 1 rows
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	if rec.NumRows() != 5 || rec.NumCols() != 2 {
		t.Fatalf("%d rows × %d columns, want 5 × 2", rec.NumRows(), rec.NumCols())
	}
	a := rec.Column(0).(*array.Int64)
	b := rec.Column(1).(*array.String)
	var got []string
	for i := 0; i < 5; i++ {
		got = append(got, b.Value(i))
		if a.Value(i) != int64(i+1) {
			t.Errorf("row %d: a = %d", i, a.Value(i))
		}
	}
	if strings.Join(got, "") != "xyzwv" {
		t.Errorf("b = %v", got)
	}

	empty := filepath.Join(dir, "empty.csv")
	if err := os.WriteFile(empty, []byte("a,b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadRecord(empty, Options{}); err == nil || !strings.Contains(err.Error(), "no rows") {
		t.Errorf("empty file: error %v, want one saying no rows", err)
	}
}
