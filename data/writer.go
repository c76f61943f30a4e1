package data

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// WriteOptions controls how a file is written.
type WriteOptions struct {
	// Format overrides the format implied by the extension (CSV, TSV, JSONL,
	// Parquet or Arrow; .arrows is written as an Arrow IPC stream, other
	// Arrow extensions as an IPC file).
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
	// CreateTemp makes the file private; the output is an ordinary file.
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("data: create %s: %w", path, err)
	}
	w := &Writer{path: path, tmp: f.Name(), f: f}
	// The encoders see a writer they cannot close, so Close can sync the
	// file before closing and renaming it.
	sink := struct{ io.Writer }{f}
	switch format {
	case CSV:
		w.enc, err = newCSVEncoder(sink, ',', schema)
	case TSV:
		w.enc, err = newCSVEncoder(sink, '\t', schema)
	case Parquet:
		w.enc, err = newParquetEncoder(sink, schema)
	case JSONL:
		w.enc = newJSONLEncoder(sink, schema)
	case Arrow:
		w.enc, err = newIPCEncoder(sink, schema, strings.EqualFold(filepath.Ext(path), ".arrows"))
	default:
		err = fmt.Errorf("data: %s: writing %s is not supported; write .csv, .tsv, .jsonl, .parquet or .arrow", path, format)
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
	bw     *bufio.Writer
	comma  byte
	header []string
	ncols  int
	wrote  bool
	line   []byte
}

func newCSVEncoder(w io.Writer, comma rune, schema *arrow.Schema) (*csvEncoder, error) {
	h := make([]string, schema.NumFields())
	for i, fl := range schema.Fields() {
		h[i] = fl.Name
	}
	return &csvEncoder{bw: bufio.NewWriterSize(w, 1<<20), comma: byte(comma), header: h, ncols: len(h)}, nil
}

func (e *csvEncoder) writeHeader() error {
	e.line = e.line[:0]
	for i, h := range e.header {
		if i > 0 {
			e.line = append(e.line, e.comma)
		}
		if h != strings.TrimSpace(h) || h == "" || (i == 0 && strings.HasPrefix(h, "\ufeff")) {
			// readers trim unquoted header names, and take a leading
			// U+FEFF for a byte-order mark
			e.line = appendQuoted(e.line, unsafeBytes(h))
			continue
		}
		e.line = appendCSVField(e.line, unsafeBytes(h), e.comma)
	}
	e.line = append(e.line, '\n')
	_, err := e.bw.Write(e.line)
	e.wrote = true
	return err
}

func (e *csvEncoder) write(rec arrow.RecordBatch) error {
	if int(rec.NumCols()) != e.ncols {
		return fmt.Errorf("the batch has %d columns but the schema has %d", rec.NumCols(), e.ncols)
	}
	if !e.wrote {
		if err := e.writeHeader(); err != nil {
			return err
		}
	}
	cols := rec.Columns()
	var cell []byte
	for r := 0; r < int(rec.NumRows()); r++ {
		e.line = e.line[:0]
		for c, col := range cols {
			if c > 0 {
				e.line = append(e.line, e.comma)
			}
			cell = appendValue(cell[:0], col, r)
			if len(cell) == 0 && e.ncols == 1 {
				// a bare empty line would read back as no row at all
				e.line = append(e.line, '"', '"')
				continue
			}
			e.line = appendCSVField(e.line, cell, e.comma)
		}
		e.line = append(e.line, '\n')
		if _, err := e.bw.Write(e.line); err != nil {
			return err
		}
	}
	return nil
}

func (e *csvEncoder) close() error {
	if !e.wrote {
		if err := e.writeHeader(); err != nil {
			return err
		}
	}
	return e.bw.Flush()
}

// appendCSVField appends v, quoted when it holds the separator, a quote, a
// line break or leading white space (the rules of encoding/csv).
func appendCSVField(dst, v []byte, comma byte) []byte {
	if !fieldNeedsQuotes(v, comma) {
		return append(dst, v...)
	}
	return appendQuoted(dst, v)
}

// appendQuoted appends v in quotes, doubling the quotes inside.
func appendQuoted(dst, v []byte) []byte {
	dst = append(dst, '"')
	for {
		k := bytes.IndexByte(v, '"')
		if k < 0 {
			break
		}
		dst = append(dst, v[:k+1]...)
		dst = append(dst, '"')
		v = v[k+1:]
	}
	dst = append(dst, v...)
	return append(dst, '"')
}

func fieldNeedsQuotes(v []byte, comma byte) bool {
	if len(v) == 0 {
		return false
	}
	if len(v) == 2 && v[0] == '\\' && v[1] == '.' {
		return true // PostgreSQL's end-of-data marker
	}
	for _, c := range v {
		if c == comma || c == '"' || c == '\n' || c == '\r' {
			return true
		}
	}
	r, _ := utf8.DecodeRune(v)
	return unicode.IsSpace(r)
}

// appendValue appends one cell as text the way FormatValue renders it,
// without allocating for the common types.
func appendValue(dst []byte, col arrow.Array, i int) []byte {
	// a Null-typed array has no validity bitmap, so IsNull reports false
	if col.IsNull(i) || col.DataType().ID() == arrow.NULL {
		return dst
	}
	switch a := col.(type) {
	case *array.String:
		return append(dst, a.Value(i)...)
	case *array.LargeString:
		return append(dst, a.Value(i)...)
	case *array.Int64:
		return strconv.AppendInt(dst, a.Value(i), 10)
	case *array.Int32:
		return strconv.AppendInt(dst, int64(a.Value(i)), 10)
	case *array.Int16:
		return strconv.AppendInt(dst, int64(a.Value(i)), 10)
	case *array.Int8:
		return strconv.AppendInt(dst, int64(a.Value(i)), 10)
	case *array.Uint64:
		return strconv.AppendUint(dst, a.Value(i), 10)
	case *array.Uint32:
		return strconv.AppendUint(dst, uint64(a.Value(i)), 10)
	case *array.Uint16:
		return strconv.AppendUint(dst, uint64(a.Value(i)), 10)
	case *array.Uint8:
		return strconv.AppendUint(dst, uint64(a.Value(i)), 10)
	case *array.Float64:
		return appendFloat(dst, a.Value(i), 64)
	case *array.Float32:
		return appendFloat(dst, float64(a.Value(i)), 32)
	case *array.Boolean:
		return strconv.AppendBool(dst, a.Value(i))
	case *array.Dictionary:
		return appendValue(dst, a.Dictionary(), a.GetValueIndex(i))
	}
	return append(dst, col.ValueStr(i)...)
}

// FormatValue renders one cell as text the way dawn writes CSV: nulls empty,
// floats in the shortest form that round-trips (at their own precision),
// dictionary values as the value they stand for.
func FormatValue(col arrow.Array, i int) string {
	switch a := col.(type) {
	case *array.String:
		if a.IsNull(i) {
			return ""
		}
		return a.Value(i)
	case *array.LargeString:
		if a.IsNull(i) {
			return ""
		}
		return a.Value(i)
	}
	return string(appendValue(nil, col, i))
}

func appendFloat(dst []byte, v float64, bits int) []byte {
	if math.IsNaN(v) {
		return append(dst, "NaN"...)
	}
	return strconv.AppendFloat(dst, v, 'g', -1, bits)
}

type parquetEncoder struct{ w *pqarrow.FileWriter }

// parquetRowGroupRows caps a Parquet row group. pqarrow holds a whole row
// group in memory until it is flushed, so without a cap writing a file larger
// than memory would fail; 256Ki rows of comment-sized text is ~45 MB.
var parquetRowGroupRows int64 = 1 << 18

func newParquetEncoder(f io.Writer, schema *arrow.Schema) (*parquetEncoder, error) {
	props := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithMaxRowGroupLength(parquetRowGroupRows))
	w, err := pqarrow.NewFileWriter(schema, f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return nil, err
	}
	return &parquetEncoder{w: w}, nil
}

func (e *parquetEncoder) write(rec arrow.RecordBatch) error { return e.w.WriteBuffered(rec) }

// close writes the Parquet footer.
func (e *parquetEncoder) close() error { return e.w.Close() }

// ipcEncoder writes the Arrow IPC file format, or the stream format for
// .arrows.
type ipcEncoder struct {
	fw *ipc.FileWriter
	sw *ipc.Writer
}

func newIPCEncoder(w io.Writer, schema *arrow.Schema, stream bool) (*ipcEncoder, error) {
	if stream {
		return &ipcEncoder{sw: ipc.NewWriter(w, ipc.WithSchema(schema))}, nil
	}
	fw, err := ipc.NewFileWriter(w, ipc.WithSchema(schema))
	if err != nil {
		return nil, err
	}
	return &ipcEncoder{fw: fw}, nil
}

func (e *ipcEncoder) write(rec arrow.RecordBatch) error {
	if e.fw != nil {
		return e.fw.Write(rec)
	}
	return e.sw.Write(rec)
}

func (e *ipcEncoder) close() error {
	if e.fw != nil {
		return e.fw.Close()
	}
	return e.sw.Close()
}
