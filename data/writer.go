package data

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// WriteOptions controls how a file is written.
type WriteOptions struct {
	// Format overrides the format implied by the extension (CSV, TSV or Parquet).
	Format Format
}

// Writer writes record batches to a temporary file and, on Close, renames it
// to its destination. Abort (or a failed Close) removes the temporary file.
type Writer struct {
	path, tmp string
	f         *os.File
	enc       batchEncoder
	done      bool
}

type batchEncoder interface {
	write(rec arrow.RecordBatch) error
	close() error
}

// Create starts writing path with the given schema.
func Create(path string, schema *arrow.Schema, opt WriteOptions) (*Writer, error) {
	format := opt.Format
	if format == "" {
		f, err := FormatOf(path)
		if err != nil {
			return nil, err
		}
		format = f
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("data: create %s: %w", path, err)
	}
	w := &Writer{path: path, tmp: f.Name(), f: f}
	switch format {
	case CSV:
		w.enc, err = newCSVEncoder(f, ',', schema)
	case TSV:
		w.enc, err = newCSVEncoder(f, '\t', schema)
	case Parquet:
		w.enc, err = newParquetEncoder(f, schema)
	default:
		err = fmt.Errorf("data: %s: writing %s is not supported; write .csv, .tsv or .parquet", path, format)
	}
	if err != nil {
		f.Close()
		os.Remove(w.tmp)
		return nil, err
	}
	return w, nil
}

// Write appends a batch.
func (w *Writer) Write(rec arrow.RecordBatch) error {
	if err := w.enc.write(rec); err != nil {
		return fmt.Errorf("data: write %s: %w", w.path, err)
	}
	return nil
}

// Close flushes, syncs and renames the file into place.
func (w *Writer) Close() error {
	if w.done {
		return nil
	}
	w.done = true
	err := w.enc.close()
	if err == nil {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(w.tmp, w.path)
	}
	if err != nil {
		os.Remove(w.tmp)
		return fmt.Errorf("data: write %s: %w", w.path, err)
	}
	return nil
}

// Abort discards what was written; the destination is left untouched.
func (w *Writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.f.Close()
	os.Remove(w.tmp)
}

type csvEncoder struct {
	cw     *csv.Writer
	row    []string
	header []string
	wrote  bool
}

func newCSVEncoder(f *os.File, comma rune, schema *arrow.Schema) (*csvEncoder, error) {
	cw := csv.NewWriter(f)
	cw.Comma = comma
	h := make([]string, schema.NumFields())
	for i, fl := range schema.Fields() {
		h[i] = fl.Name
	}
	return &csvEncoder{cw: cw, header: h, row: make([]string, len(h))}, nil
}

func (e *csvEncoder) write(rec arrow.RecordBatch) error {
	if !e.wrote {
		if err := e.cw.Write(e.header); err != nil {
			return err
		}
		e.wrote = true
	}
	cols := rec.Columns()
	for r := 0; r < int(rec.NumRows()); r++ {
		for c, col := range cols {
			e.row[c] = FormatValue(col, r)
		}
		if err := e.cw.Write(e.row); err != nil {
			return err
		}
	}
	return e.cw.Error()
}

func (e *csvEncoder) close() error {
	if !e.wrote {
		if err := e.cw.Write(e.header); err != nil {
			return err
		}
	}
	e.cw.Flush()
	return e.cw.Error()
}

// FormatValue renders one cell as text the way dawn writes CSV: nulls empty,
// floats in the shortest form that round-trips.
func FormatValue(col arrow.Array, i int) string {
	if col.IsNull(i) {
		return ""
	}
	switch a := col.(type) {
	case *array.String:
		return a.Value(i)
	case *array.LargeString:
		return a.Value(i)
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10)
	case *array.Int32:
		return strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Int8:
		return strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Float64:
		return formatFloat(a.Value(i))
	case *array.Float32:
		return formatFloat(float64(a.Value(i)))
	case *array.Boolean:
		return strconv.FormatBool(a.Value(i))
	}
	return col.ValueStr(i)
}

func formatFloat(v float64) string {
	if math.IsNaN(v) {
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

type parquetEncoder struct{ w *pqarrow.FileWriter }

func newParquetEncoder(f *os.File, schema *arrow.Schema) (*parquetEncoder, error) {
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy))
	// Hide Close from pqarrow so the Writer can sync before closing.
	w, err := pqarrow.NewFileWriter(schema, struct{ io.Writer }{f}, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return nil, err
	}
	return &parquetEncoder{w: w}, nil
}

func (e *parquetEncoder) write(rec arrow.RecordBatch) error { return e.w.WriteBuffered(rec) }

func (e *parquetEncoder) close() error { return e.w.Close() }
