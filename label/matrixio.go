package label

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/dawn-ml/dawn/data"
)

// The votes file is Parquet in long (sparse) form: one row per vote with
// columns row (int64), lf (int32, index into the LF names) and label (int32,
// class id). The LF names, class names and row count are in the schema
// metadata, so abstains need no storage and all-abstain rows survive.
const (
	metaLFs     = "dawn.label.lfs"
	metaClasses = "dawn.label.classes"
	metaRows    = "dawn.label.rows"
	metaVersion = "dawn.label.votes_version"
)

var votesFields = []arrow.Field{
	{Name: "row", Type: arrow.PrimitiveTypes.Int64},
	{Name: "lf", Type: arrow.PrimitiveTypes.Int32},
	{Name: "label", Type: arrow.PrimitiveTypes.Int32},
}

// SaveMatrix writes x to path (.parquet) atomically.
func SaveMatrix(path string, x *Matrix) error {
	if f, err := data.FormatOf(path); err != nil || f != data.Parquet {
		return fmt.Errorf("label: %s: votes are saved as Parquet; name the file *.parquet", path)
	}
	lfs, _ := json.Marshal(x.LFs)
	classes, _ := json.Marshal(x.Classes)
	md := arrow.NewMetadata(
		[]string{metaLFs, metaClasses, metaRows, metaVersion},
		[]string{string(lfs), string(classes), strconv.Itoa(x.N), "1"})
	schema := arrow.NewSchema(votesFields, &md)
	w, err := data.Create(path, schema, data.WriteOptions{})
	if err != nil {
		return err
	}
	const batch = 1 << 20
	mem := memory.DefaultAllocator
	row := 0
	for start := 0; start < len(x.LF) || start == 0; start += batch {
		end := min(start+batch, len(x.LF))
		rb := array.NewRecordBuilder(mem, schema)
		rows := rb.Field(0).(*array.Int64Builder)
		rows.Reserve(end - start)
		for p := start; p < end; p++ {
			for x.RowPtr[row+1] <= int64(p) {
				row++
			}
			rows.UnsafeAppend(int64(row))
		}
		rb.Field(1).(*array.Int32Builder).AppendValues(x.LF[start:end], nil)
		rb.Field(2).(*array.Int32Builder).AppendValues(x.Vote[start:end], nil)
		rec := rb.NewRecordBatch()
		rb.Release()
		err := w.Write(rec)
		rec.Release()
		if err != nil {
			w.Abort()
			return err
		}
		if end >= len(x.LF) {
			break
		}
	}
	return w.Close()
}

// LoadMatrix reads a votes file written by SaveMatrix.
func LoadMatrix(ctx context.Context, path string) (*Matrix, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	defer f.Close()
	bad := func(format string, args ...any) error {
		return fmt.Errorf("label: %s: not a dawn votes file (%s; make one with 'dawn label apply')%s", path, fmt.Sprintf(format, args...), matrixPathHint(path))
	}
	pf, err := file.NewParquetReader(f)
	if err != nil {
		return nil, bad("%v", err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1 << 20}, memory.DefaultAllocator)
	if err != nil {
		return nil, bad("%v", err)
	}
	kv := pf.MetaData().KeyValueMetadata()
	get := func(k string) string {
		if v := kv.FindValue(k); v != nil {
			return *v
		}
		return ""
	}
	x := &Matrix{}
	if err := json.Unmarshal([]byte(get(metaLFs)), &x.LFs); err != nil || len(x.LFs) == 0 {
		return nil, bad("no LF names in its metadata")
	}
	if err := json.Unmarshal([]byte(get(metaClasses)), &x.Classes); err != nil || len(x.Classes) < 2 {
		return nil, bad("no class names in its metadata")
	}
	if v := get(metaVersion); v != "1" {
		return nil, bad("votes format version %q; this dawn reads version 1", v)
	}
	x.N, err = strconv.Atoi(get(metaRows))
	if err != nil || x.N < 0 {
		return nil, bad("bad row count %q", get(metaRows))
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return nil, bad("%v", err)
	}
	defer rr.Release()
	x.RowPtr = make([]int64, x.N+1)
	m, k := int32(len(x.LFs)), int32(len(x.Classes))
	prevRow, prevLF := int64(-1), int32(-1)
	for rr.Next() {
		rec := rr.RecordBatch()
		if rec.NumCols() != 3 {
			return nil, bad("%d columns, want row, lf, label", rec.NumCols())
		}
		rows, ok1 := rec.Column(0).(*array.Int64)
		lfs, ok2 := rec.Column(1).(*array.Int32)
		votes, ok3 := rec.Column(2).(*array.Int32)
		if !ok1 || !ok2 || !ok3 {
			return nil, bad("columns are not row int64, lf int32, label int32")
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			r, l, v := rows.Value(i), lfs.Value(i), votes.Value(i)
			switch {
			case r < 0 || r >= int64(x.N):
				return nil, bad("vote %d names row %d of %d", len(x.LF), r, x.N)
			case l < 0 || l >= m:
				return nil, bad("vote %d names LF %d of %d", len(x.LF), l, m)
			case v < 0 || v >= k:
				return nil, bad("vote %d has label %d, not a class id in 0..%d", len(x.LF), v, k-1)
			case r < prevRow || (r == prevRow && l <= prevLF):
				return nil, bad("votes are not sorted by row and LF at vote %d", len(x.LF))
			}
			x.RowPtr[r+1]++
			x.LF = append(x.LF, l)
			x.Vote = append(x.Vote, v)
			prevRow, prevLF = r, l
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, context.Canceled) {
		return nil, bad("%v", err)
	}
	for i := 0; i < x.N; i++ {
		x.RowPtr[i+1] += x.RowPtr[i]
	}
	return x, nil
}

// matrixPathHint helps when a CSV is passed where votes are expected.
func matrixPathHint(path string) string {
	if strings.EqualFold(filepath.Ext(path), ".csv") {
		return " (votes are the .parquet file written by 'dawn label apply', not the data)"
	}
	return ""
}
