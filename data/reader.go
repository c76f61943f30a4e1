package data

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// DefaultBatchSize is the number of rows per batch when Options leaves it 0.
const DefaultBatchSize = 64 * 1024

// DefaultInferRows is how many rows schema inference looks at by default.
const DefaultInferRows = 1000

// Options controls how a file is read. The zero value reads by extension
// with an inferred schema.
type Options struct {
	// Format overrides the format implied by the extension.
	Format Format
	// BatchSize caps the rows per batch (DefaultBatchSize when 0).
	BatchSize int
	// Schema, when set, replaces inference for text formats: its fields are
	// matched to the header by name and every header column must be present.
	Schema *arrow.Schema
	// Types overrides the inferred type of single columns by name (text
	// formats; a Parquet or Arrow file keeps its own types, and an override
	// that differs from them is an error). Naming a column the file lacks is
	// an error.
	Types map[string]arrow.DataType
	// Delimiter, when set, replaces the field separator of CSV and TSV
	// (',' and tab): one ASCII character other than a quote or a newline,
	// e.g. ';' or '|'.
	Delimiter byte
	// Progress, when set, is called after every batch Next returns with
	// the bytes read so far and the file's size (0 when unknown), for a
	// progress bar.
	Progress func(read, size int64)
	// InferRows is the number of rows inference samples (DefaultInferRows
	// when 0; inference never reads more than this before the first batch).
	InferRows int
	// Columns, when set, selects the columns to read, in the order given;
	// the batches and Schema hold only these. Naming a column the file lacks
	// is an error. CSV and TSV skip the other columns' values without copying
	// or parsing them, Parquet (with a flat schema) decodes only the selected
	// columns, Arrow drops the others from each batch.
	Columns []string
	// Alloc allocates the batches of Parquet and Arrow files
	// (memory.DefaultAllocator when nil). Text formats build their columns in
	// Go-managed memory, which the garbage collector frees.
	Alloc memory.Allocator
}

func (o *Options) withDefaults() {
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.InferRows <= 0 {
		o.InferRows = DefaultInferRows
	}
	if o.Alloc == nil {
		o.Alloc = memory.DefaultAllocator
	}
}

// source is one format's batch producer.
type source interface {
	schema() *arrow.Schema
	// next returns the next batch of at most max rows, or io.EOF.
	next(max int) (arrow.RecordBatch, error)
	close() error
}

// Reader streams a file as Arrow record batches.
type Reader struct {
	path   string
	opt    Options
	src    source
	rows   int64
	file   *countingFile
	size   int64
	closed bool
}

// Open opens path for reading as a stream of record batches.
//
// A gzip-compressed text file (name.csv.gz, name.tsv.gz, name.jsonl.gz) is
// decompressed as it is read.
func Open(path string, opt Options) (*Reader, error) {
	opt.withDefaults()
	gz := strings.EqualFold(filepath.Ext(path), ".gz")
	format := opt.Format
	if format == "" {
		name := path
		if gz {
			name = strings.TrimSuffix(path, filepath.Ext(path))
		}
		f, err := FormatOf(name)
		if err != nil {
			return nil, err
		}
		format = f
	}
	if gz && format != CSV && format != TSV && format != JSONL {
		return nil, fmt.Errorf("data: %s: only CSV, TSV and JSON Lines can be read gzip-compressed; decompress it first", path)
	}
	osf, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	var size int64
	if st, err := osf.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	f := &countingFile{f: osf}
	var text io.ReadCloser = f
	if gz {
		z, err := gzip.NewReader(f)
		if err != nil {
			osf.Close()
			return nil, &Error{File: path, Err: fmt.Errorf("not a readable gzip file: %w", err)}
		}
		text = gzipFile{z, f}
	}
	var src source
	switch format {
	case CSV:
		src, err = textSource(newDelimited(text, path, ',', &opt))
	case TSV:
		src, err = textSource(newDelimited(text, path, '\t', &opt))
	case JSONL:
		src, err = textSource(newJSONL(text, path, &opt))
	case Parquet:
		src, err = newParquet(f, path, &opt)
	case Arrow:
		src, err = newIPC(f, path, &opt)
	default:
		src, err = openOther(osf, path, format, &opt)
	}
	if err == nil && (format == Parquet || format == Arrow) {
		err = checkBinaryOverrides(path, src.schema(), &opt)
		if err == nil && opt.Columns != nil {
			src, err = newProjection(path, src, opt.Columns)
		}
		if err != nil {
			src.close()
		}
	}
	if err != nil {
		osf.Close()
		return nil, err
	}
	return &Reader{path: path, opt: opt, src: src, file: f, size: size}, nil
}

// selectColumns maps Options.Columns to indices of names.
func selectColumns(path string, names, want []string) ([]int, error) {
	idx := make([]int, len(want))
	seen := map[string]bool{}
	for k, w := range want {
		i := indexOf(names, w)
		if i < 0 {
			return nil, &Error{File: path, Column: w, Err: fmt.Errorf("the file has no such column (it has %s)", strings.Join(names, ", "))}
		}
		if seen[w] {
			return nil, &Error{File: path, Column: w, Err: errors.New("the column is selected twice")}
		}
		seen[w] = true
		idx[k] = i
	}
	return idx, nil
}

// projection keeps the selected columns of a typed format's batches.
type projection struct {
	source
	idx []int
	sch *arrow.Schema
}

func newProjection(path string, src source, cols []string) (source, error) {
	full := src.schema()
	names := make([]string, full.NumFields())
	for i, f := range full.Fields() {
		names[i] = f.Name
	}
	idx, err := selectColumns(path, names, cols)
	if err != nil {
		return nil, err
	}
	fields := make([]arrow.Field, len(idx))
	for k, i := range idx {
		fields[k] = full.Field(i)
	}
	md := full.Metadata()
	return &projection{source: src, idx: idx, sch: arrow.NewSchema(fields, &md)}, nil
}

func (p *projection) schema() *arrow.Schema { return p.sch }

func (p *projection) next(max int) (arrow.RecordBatch, error) {
	rec, err := p.source.next(max)
	if err != nil {
		return nil, err
	}
	defer rec.Release()
	cols := make([]arrow.Array, len(p.idx))
	for k, i := range p.idx {
		cols[k] = rec.Column(i)
	}
	return array.NewRecordBatch(p.sch, cols, rec.NumRows()), nil
}

// checkBinaryOverrides holds typed formats to the overrides: a Parquet or
// Arrow file carries its own types, so Types and Schema may only name columns
// it has, with the types it has.
func checkBinaryOverrides(path string, sch *arrow.Schema, opt *Options) error {
	want := map[string]arrow.DataType{}
	for name, t := range opt.Types {
		want[name] = t
	}
	if opt.Schema != nil {
		for _, f := range opt.Schema.Fields() {
			want[f.Name] = f.Type
		}
	}
	for name, t := range want {
		if opt.Columns != nil && !slices.Contains(opt.Columns, name) {
			continue // not read
		}
		idx := sch.FieldIndices(name)
		if len(idx) == 0 {
			return &Error{File: path, Column: name, Err: errors.New("a type override names this column but the file has no such column")}
		}
		if got := sch.Field(idx[0]).Type; !arrow.TypeEqual(got, t) {
			return &Error{File: path, Column: name, Err: fmt.Errorf("the file stores this column as %s; type overrides (%s) apply to text formats only", got, t)}
		}
	}
	return nil
}

// Size is the size of the file in bytes (0 when it is not a regular file),
// the total for a progress bar driven by BytesRead.
func (r *Reader) Size() int64 { return r.size }

// BytesRead is how many bytes have been read from the file so far. Text
// formats read ahead of the batches returned, so it runs a little ahead of
// RowsRead; it never exceeds Size.
func (r *Reader) BytesRead() int64 {
	if r.file == nil {
		return 0
	}
	n := r.file.n.Load()
	if r.size > 0 && n > r.size {
		n = r.size // Parquet and Arrow files re-read their footers
	}
	return n
}

// countingFile counts the bytes read through it (for progress), from the
// read-ahead goroutine as well.
type countingFile struct {
	f *os.File
	n atomic.Int64
}

func (c *countingFile) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.f.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingFile) Seek(off int64, whence int) (int64, error) { return c.f.Seek(off, whence) }

func (c *countingFile) Close() error { return c.f.Close() }

// gzipFile reads decompressed bytes and closes the file underneath.
type gzipFile struct {
	*gzip.Reader
	f io.Closer
}

func (g gzipFile) Close() error {
	g.Reader.Close()
	return g.f.Close()
}

// NewReader reads a stream that is not a file (standard input, a network
// body): CSV, TSV, JSON Lines or an Arrow IPC stream. The format is
// opt.Format, else the one name's extension implies, else JSON Lines when the
// first non-blank byte is '{' and CSV otherwise. name labels errors. Parquet
// and the Arrow IPC file format need random access: use Open. Close does not
// close r.
func NewReader(r io.Reader, name string, opt Options) (*Reader, error) {
	opt.withDefaults()
	br := bufio.NewReaderSize(r, 64<<10)
	format := opt.Format
	if format == "" && filepath.Ext(name) != "" {
		f, err := FormatOf(name)
		if err != nil {
			return nil, err
		}
		format = f
	}
	if format == "" {
		format = CSV
		for {
			b, err := br.Peek(1)
			if err != nil {
				break // empty input: the CSV reader says so
			}
			if b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n' {
				br.ReadByte()
				continue
			}
			if b[0] == '{' {
				format = JSONL
			}
			break
		}
	}
	rc := io.NopCloser(br)
	var src source
	var err error
	switch format {
	case CSV:
		src, err = textSource(newDelimited(rc, name, ',', &opt))
	case TSV:
		src, err = textSource(newDelimited(rc, name, '\t', &opt))
	case JSONL:
		src, err = textSource(newJSONL(rc, name, &opt))
	case Arrow:
		src, err = newIPCStream(rc, name, &opt)
		if err == nil && opt.Columns != nil {
			src, err = newProjection(name, src, opt.Columns)
		}
	default:
		err = fmt.Errorf("data: %s: %s needs random access; save it to a file and use Open", name, format)
	}
	if err != nil {
		return nil, err
	}
	return &Reader{path: name, opt: opt, src: src}, nil
}

// textSource parses a text format's batches ahead on a second goroutine.
func textSource[S source](s S, err error) (source, error) {
	if err != nil {
		return nil, err
	}
	return pipelined(s), nil
}

// openOther is a hook for formats outside this package's switch.
var openOther = func(f *os.File, path string, format Format, opt *Options) (source, error) {
	return nil, fmt.Errorf("data: %s: reading %s is not supported yet", path, format)
}

// Path returns the file being read.
func (r *Reader) Path() string { return r.path }

// Schema returns the schema of every batch.
func (r *Reader) Schema() *arrow.Schema { return r.src.schema() }

// Next returns the next batch, or io.EOF after the last. The caller owns the
// batch and must Release it.
func (r *Reader) Next() (arrow.RecordBatch, error) {
	if r.closed {
		return nil, ErrClosed
	}
	rec, err := r.src.next(r.opt.BatchSize)
	if err != nil {
		return nil, err
	}
	r.rows += rec.NumRows()
	if r.opt.Progress != nil {
		r.opt.Progress(r.BytesRead(), r.size)
	}
	return rec, nil
}

// RowsRead is the number of rows returned so far.
func (r *Reader) RowsRead() int64 { return r.rows }

// Close releases the file (and stops the read-ahead goroutine). Calling it
// again does nothing; Next after Close returns ErrClosed.
func (r *Reader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	return r.src.close()
}

// ErrClosed is returned by Next on a closed Reader.
var ErrClosed = errors.New("data: read from a closed reader")

// ReadAll reads a whole file into memory as a slice of batches (for small
// inputs such as dev sets). The caller releases each batch.
func ReadAll(path string, opt Options) (*arrow.Schema, []arrow.RecordBatch, error) {
	r, err := Open(path, opt)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	var out []arrow.RecordBatch
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return r.Schema(), out, nil
		}
		if err != nil {
			for _, b := range out {
				b.Release()
			}
			return nil, nil, err
		}
		out = append(out, rec)
	}
}

// ReadRecord reads a whole file into one record batch, ReadAll's batches
// concatenated (the caller releases it). A file without rows is an error.
func ReadRecord(path string, opt Options) (arrow.RecordBatch, error) {
	sch, recs, err := ReadAll(path, opt)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, rec := range recs {
			rec.Release()
		}
	}()
	switch len(recs) {
	case 0:
		return nil, fmt.Errorf("%s: no rows", path)
	case 1:
		recs[0].Retain()
		return recs[0], nil
	}
	cols := make([]arrow.Array, len(sch.Fields()))
	var n int64
	for _, rec := range recs {
		n += rec.NumRows()
	}
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for c := range cols {
		parts := make([]arrow.Array, len(recs))
		for i, rec := range recs {
			parts[i] = rec.Column(c)
		}
		if cols[c], err = array.Concatenate(parts, memory.DefaultAllocator); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return array.NewRecordBatch(sch, cols, n), nil
}
