package data

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// otherTypes is a batch of the column types other packages produce (label
// votes as int8/int32, probabilities as float32, class names as a
// dictionary, an all-null column).
func otherTypes(t *testing.T) arrow.RecordBatch {
	dictType := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	sch := arrow.NewSchema([]arrow.Field{
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "i8", Type: arrow.PrimitiveTypes.Int8, Nullable: true},
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "class", Type: dictType, Nullable: true},
		{Name: "nothing", Type: arrow.Null, Nullable: true},
		{Name: "u16", Type: arrow.PrimitiveTypes.Uint16, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sch)
	defer b.Release()
	b.Field(0).(*array.Int32Builder).AppendValues([]int32{-7, 0, 2147483647}, []bool{true, false, true})
	b.Field(1).(*array.Int8Builder).AppendValues([]int8{-1, 1, 0}, nil)
	b.Field(2).(*array.Float32Builder).AppendValues([]float32{0.1, 0.25, 3}, []bool{true, true, false})
	db := b.Field(3).(*array.BinaryDictionaryBuilder)
	for _, s := range []string{"spam", "ham", ""} {
		if s == "" {
			db.AppendNull()
			continue
		}
		if err := db.AppendString(s); err != nil {
			t.Fatal(err)
		}
	}
	b.Field(4).(*array.NullBuilder).AppendNulls(3)
	b.Field(5).(*array.Uint16Builder).AppendValues([]uint16{1, 65535, 3}, nil)
	return b.NewRecordBatch()
}

const otherTypesCSV = "i32,i8,f32,class,nothing,u16\n-7,-1,0.1,spam,,1\n,1,0.25,ham,,65535\n2147483647,0,,,,3\n"

func TestWriteOtherTypes(t *testing.T) {
	rec := otherTypes(t)
	defer rec.Release()
	for _, ext := range []string{"csv", "parquet", "arrow"} {
		t.Run(ext, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "out."+ext)
			w, err := Create(p, rec.Schema(), WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(rec); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if ext == "csv" {
				b, _ := os.ReadFile(p)
				if string(b) != otherTypesCSV {
					t.Fatalf("CSV\n%q\nwant\n%q", b, otherTypesCSV)
				}
				return
			}
			// binary formats keep the types and values
			out := filepath.Join(dir, "back.csv")
			convert(t, p, out, Options{})
			if b, _ := os.ReadFile(out); string(b) != otherTypesCSV {
				t.Errorf("through %s\n%q\nwant\n%q", ext, b, otherTypesCSV)
			}
			sch, recs, err := ReadAll(p, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				r.Release()
			}
			for i, f := range sch.Fields() {
				want := rec.Schema().Field(i).Type
				if !arrow.TypeEqual(f.Type, want) {
					t.Errorf("column %s: type %s, want %s", f.Name, f.Type, want)
				}
			}
		})
	}
}

func TestFormatValue(t *testing.T) {
	rec := otherTypes(t)
	defer rec.Release()
	var got []string
	for c := 0; c < int(rec.NumCols()); c++ {
		got = append(got, FormatValue(rec.Column(c), 0))
	}
	if want := []string{"-7", "-1", "0.1", "spam", "", "1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("FormatValue row 0 = %q, want %q", got, want)
	}
}

// TestWriterCommit: nothing appears at the destination until Close, Abort
// leaves an existing file untouched, and no temporary file is left behind.
func TestWriterCommit(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "out.csv")
	os.WriteFile(dst, []byte("old\n"), 0o644)
	rec := sampleBatch()
	defer rec.Release()

	w, err := Create(dst, rec.Schema(), WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	w.Abort()
	if b, _ := os.ReadFile(dst); string(b) != "old\n" {
		t.Errorf("Abort changed the destination: %q", b)
	}

	w, err = Create(dst, rec.Schema(), WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dst); string(b) != "old\n" {
		t.Errorf("destination changed before Close: %q", b)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := "id,text,score,ok\n1,plain,0.1,true\n2,\"a, \"\"quoted\"\"\nline\",,false\n,\" lead\",1e+300,\n"
	if b, _ := os.ReadFile(dst); string(b) != want {
		t.Errorf("wrote\n%q\nwant\n%q", b, want)
	}
	if st, _ := os.Stat(dst); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only out.csv", len(ents))
	}

	if _, err := Create(filepath.Join(dir, "out.xlsx"), rec.Schema(), WriteOptions{}); err == nil {
		t.Error("Create .xlsx succeeded")
	}
}

// TestParquetRowGroups: a Parquet file is written in bounded row groups and
// read back across them in bounded batches with every value intact.
func TestParquetRowGroups(t *testing.T) {
	defer func(n int64) { parquetRowGroupRows = n }(parquetRowGroupRows)
	parquetRowGroupRows = 1000
	dir := t.TempDir()
	src := filepath.Join(dir, "in.csv")
	var sb strings.Builder
	sb.WriteString("i,s\n")
	for i := range 2500 {
		fmt.Fprintf(&sb, "%d,v%d\n", i, i*7)
	}
	os.WriteFile(src, []byte(sb.String()), 0o644)
	pq := filepath.Join(dir, "out.parquet")
	convert(t, src, pq, Options{BatchSize: 600})

	r, err := Open(pq, Options{BatchSize: 700})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if n := r.src.(*parquetSource).pf.NumRowGroups(); n != 3 {
		t.Errorf("%d row groups, want 3", n)
	}
	next := int64(0)
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.NumRows() > 700 {
			t.Errorf("batch of %d rows", rec.NumRows())
		}
		ids := rec.Column(0).(*array.Int64)
		strs := rec.Column(1).(*array.String)
		for k := 0; k < ids.Len(); k++ {
			if ids.Value(k) != next || strs.Value(k) != fmt.Sprintf("v%d", next*7) {
				t.Fatalf("row %d: %d %q", next, ids.Value(k), strs.Value(k))
			}
			next++
		}
		rec.Release()
	}
	if next != 2500 {
		t.Errorf("read %d rows, want 2500", next)
	}
}
