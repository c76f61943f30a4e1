package data

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// parquetSource streams a Parquet file batch by batch through pqarrow: only
// the column chunks of the row group being read are in memory, through a
// buffered page stream.
type parquetSource struct {
	f    *countingFile
	path string
	pf   *file.Reader
	rr   pqarrow.RecordReader // nil for a file without row groups
	sch  *arrow.Schema
	cut  slicer
	row  int64
	err  error
}

func newParquet(f *countingFile, path string, opt *Options) (src *parquetSource, err error) {
	defer recoverInto(&err, path, 0)
	props := parquet.NewReaderProperties(opt.Alloc)
	props.BufferedStreamEnabled = true
	props.BufferSize = 1 << 20
	pf, err := file.NewParquetReader(f, file.WithReadProps(props))
	if err != nil {
		return nil, &Error{File: path, Err: fmt.Errorf("not a readable Parquet file (truncated or corrupt?): %w", err)}
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: int64(opt.BatchSize)}, opt.Alloc)
	if err != nil {
		pf.Close()
		return nil, &Error{File: path, Err: fmt.Errorf("reading the Parquet schema: %w", err)}
	}
	sch, err := fr.Schema()
	if err != nil {
		pf.Close()
		return nil, &Error{File: path, Err: fmt.Errorf("reading the Parquet schema: %w", err)}
	}
	// With a flat schema (one Parquet leaf column per field) only the
	// selected columns are read and decoded; Open's projection then puts
	// them in the order asked for.
	var cols []int
	if opt.Columns != nil && pf.MetaData().Schema.NumColumns() == sch.NumFields() && hasAll(sch, opt.Columns) {
		for i, f := range sch.Fields() {
			if slices.Contains(opt.Columns, f.Name) {
				cols = append(cols, i)
			}
		}
		if len(cols) > 0 {
			fields := make([]arrow.Field, len(cols))
			for k, i := range cols {
				fields[k] = sch.Field(i)
			}
			md := sch.Metadata()
			sch = arrow.NewSchema(fields, &md)
		} else {
			cols = nil
		}
	}
	s := &parquetSource{f: f, path: path, pf: pf, sch: sch}
	if pf.NumRowGroups() > 0 && pf.NumRows() > 0 {
		s.rr, err = fr.GetRecordReader(context.Background(), cols, nil)
		if err != nil {
			pf.Close()
			return nil, &Error{File: path, Err: err}
		}
	}
	return s, nil
}

func hasAll(sch *arrow.Schema, names []string) bool {
	for _, n := range names {
		if !sch.HasField(n) {
			return false
		}
	}
	return true
}

func (s *parquetSource) schema() *arrow.Schema { return s.sch }

func (s *parquetSource) next(max int) (rec arrow.RecordBatch, err error) {
	if s.err != nil {
		return nil, s.err
	}
	defer func() {
		if err != nil && !errors.Is(err, io.EOF) {
			s.err = err
		}
	}()
	defer recoverInto(&err, s.path, s.row+1)
	if b := s.cut.take(max); b != nil {
		s.row += b.NumRows()
		return b, nil
	}
	if s.rr == nil {
		return nil, io.EOF
	}
	b, err := s.rr.Read()
	if errors.Is(err, io.EOF) || (err == nil && b == nil) {
		return nil, io.EOF
	}
	if err != nil {
		return nil, &Error{File: s.path, Row: s.row + 1, Err: fmt.Errorf("reading Parquet data: %w", err)}
	}
	b.Retain() // the record reader releases it on the next Read
	s.cut.set(b)
	out := s.cut.take(max)
	s.row += out.NumRows()
	return out, nil
}

func (s *parquetSource) close() error {
	s.cut.release()
	if s.rr != nil {
		s.rr.Release()
	}
	return s.pf.Close() // closes f too
}

// slicer hands out a batch in pieces of at most max rows.
type slicer struct {
	cur arrow.RecordBatch
	off int64
}

func (s *slicer) set(b arrow.RecordBatch) {
	s.release()
	s.cur, s.off = b, 0
}

// take returns the next piece, or nil once the batch is used up.
func (s *slicer) take(max int) arrow.RecordBatch {
	if s.cur == nil {
		return nil
	}
	n := s.cur.NumRows()
	if s.off == 0 && n <= int64(max) {
		b := s.cur
		s.cur = nil
		if n == 0 {
			b.Release()
			return nil
		}
		return b
	}
	end := min(s.off+int64(max), n)
	b := s.cur.NewSlice(s.off, end)
	s.off = end
	if s.off >= n {
		s.release()
	}
	return b
}

func (s *slicer) release() {
	if s.cur != nil {
		s.cur.Release()
		s.cur = nil
	}
}

// recoverInto turns a panic inside a third-party decoder (corrupt input can
// trigger one) into an *Error.
func recoverInto(err *error, path string, row int64) {
	if r := recover(); r != nil {
		*err = &Error{File: path, Row: row, Err: fmt.Errorf("corrupt input: %v", r)}
	}
}
