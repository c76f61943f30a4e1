package mbsql

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/dawn-ml/dawn/data"
	"github.com/dawn-ml/dawn/explain"
)

// WriteFile writes f in the format its extension names: .parquet, .jsonl
// and .arrow through package data (text columns as strings, empty cells
// null; numbers as float64), .tsv as tab-separated text, and .csv or any
// other name as CSV with delim (MacroBase's INTO OUTFILE). delim other than
// ',' is only for the text formats. The file is written to a temporary
// name and renamed into place.
func WriteFile(path string, f *explain.Frame, delim rune) error {
	format, err := data.FormatOf(path)
	if err != nil {
		format = data.CSV // MacroBase writes CSV whatever the name
	}
	switch format {
	case data.CSV:
		return WriteCSVFile(path, f, delim)
	case data.TSV:
		if delim == ',' {
			delim = '\t'
		}
		return WriteCSVFile(path, f, delim)
	}
	if delim != ',' {
		return fmt.Errorf("mbsql: write %s: FIELDS TERMINATED BY applies to CSV and TSV output, not %s", path, format)
	}
	rec := frameRecord(f)
	defer rec.Release()
	w, err := data.Create(path, rec.Schema(), data.WriteOptions{Format: format})
	if err != nil {
		return fmt.Errorf("mbsql: %w", err)
	}
	if err := w.Write(rec); err != nil {
		w.Abort()
		return fmt.Errorf("mbsql: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mbsql: %w", err)
	}
	return nil
}

// frameRecord converts a Frame to one Arrow record batch.
func frameRecord(f *explain.Frame) arrow.RecordBatch {
	mem := memory.DefaultAllocator
	fields := make([]arrow.Field, len(f.Cols))
	cols := make([]arrow.Array, len(f.Cols))
	for i, c := range f.Cols {
		if c.Str != nil {
			fields[i] = arrow.Field{Name: c.Name, Type: arrow.BinaryTypes.String, Nullable: true}
			b := array.NewStringBuilder(mem)
			for _, k := range c.Str.Codes {
				if k == explain.Null {
					b.AppendNull()
				} else {
					b.Append(c.Str.Dict[k])
				}
			}
			cols[i] = b.NewArray()
			b.Release()
			continue
		}
		fields[i] = arrow.Field{Name: c.Name, Type: arrow.PrimitiveTypes.Float64, Nullable: true}
		b := array.NewFloat64Builder(mem)
		b.AppendValues(c.Num, nil)
		cols[i] = b.NewArray()
		b.Release()
	}
	rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(f.Rows))
	for _, c := range cols {
		c.Release()
	}
	return rec
}
