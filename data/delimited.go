package data

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// delimited reads CSV (RFC 4180: quoting, quoted newlines) and TSV, with an
// optional UTF-8 byte-order mark, a header row and inferred column types.
type delimited struct {
	f      *os.File
	path   string
	cr     *csv.Reader
	header []string
	sch    *arrow.Schema
	opt    *Options
	peek   [][]string // rows read during inference, replayed first
	row    int64      // data rows consumed from cr so far
	done   bool
}

func newDelimited(f *os.File, path string, comma rune, opt *Options) (*delimited, error) {
	br := bufio.NewReaderSize(f, 1<<20)
	if b, err := br.Peek(3); err == nil && string(b) == "\xef\xbb\xbf" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.Comma = comma
	cr.FieldsPerRecord = -1
	if comma == '\t' {
		cr.LazyQuotes = true
	}
	d := &delimited{f: f, path: path, cr: cr, opt: opt}
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &Error{File: path, Err: errors.New("the file is empty; a header row naming the columns is required")}
	}
	if err != nil {
		return nil, d.parseErr(err)
	}
	seen := map[string]bool{}
	for i, h := range header {
		if !utf8.ValidString(h) {
			return nil, &Error{File: path, Err: fmt.Errorf("header column %d is not valid UTF-8; convert the file to UTF-8 (for example: iconv -f latin1 -t utf-8)", i+1)}
		}
		h = strings.TrimSpace(h)
		if h == "" {
			return nil, &Error{File: path, Err: fmt.Errorf("header column %d has no name", i+1)}
		}
		if seen[h] {
			return nil, &Error{File: path, Column: h, Err: errors.New("the header names this column twice")}
		}
		seen[h] = true
		header[i] = h
	}
	d.header = append([]string(nil), header...)
	cr.ReuseRecord = false
	for len(d.peek) < opt.InferRows {
		rec, err := d.read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		d.peek = append(d.peek, rec)
	}
	sch, err := d.inferSchema()
	if err != nil {
		return nil, err
	}
	d.sch = sch
	return d, nil
}

// read returns the next record, checked for width and UTF-8.
func (d *delimited) read() ([]string, error) {
	rec, err := d.cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, d.parseErr(err)
	}
	d.row++
	if len(rec) != len(d.header) {
		if len(rec) == 1 && rec[0] == "" {
			return d.read() // a blank line
		}
		return nil, &Error{File: d.path, Row: d.row, Err: fmt.Errorf("has %d fields but the header has %d", len(rec), len(d.header))}
	}
	for i, v := range rec {
		if !utf8.ValidString(v) {
			return nil, &Error{File: d.path, Row: d.row, Column: d.header[i], Err: errors.New("is not valid UTF-8; convert the file to UTF-8 (for example: iconv -f latin1 -t utf-8)")}
		}
	}
	return rec, nil
}

func (d *delimited) parseErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		col := ""
		if d.header != nil && pe.Column > 0 {
			// pe.Column is a 1-based byte position, not a field index.
			col = ""
		}
		return &Error{File: d.path, Row: d.row + 1, Column: col, Err: fmt.Errorf("malformed CSV at line %d, byte %d: %v", pe.Line, pe.Column, pe.Err)}
	}
	return &Error{File: d.path, Row: d.row + 1, Err: err}
}

func (d *delimited) inferSchema() (*arrow.Schema, error) {
	for name := range d.opt.Types {
		if !contains(d.header, name) {
			return nil, &Error{File: d.path, Column: name, Err: fmt.Errorf("a type override names this column but the file has only %s", strings.Join(d.header, ", "))}
		}
	}
	fields := make([]arrow.Field, len(d.header))
	for i, name := range d.header {
		var typ arrow.DataType
		if d.opt.Schema != nil {
			idx := d.opt.Schema.FieldIndices(name)
			if len(idx) == 0 {
				return nil, &Error{File: d.path, Column: name, Err: errors.New("the given schema has no such field")}
			}
			typ = d.opt.Schema.Field(idx[0]).Type
		} else if t, ok := d.opt.Types[name]; ok {
			typ = t
		} else {
			typ = inferColumn(d.peek, i)
		}
		if !supportedTextType(typ) {
			return nil, &Error{File: d.path, Column: name, Err: fmt.Errorf("type %s cannot be read from text; use int64, float64, bool or string", typ)}
		}
		fields[i] = arrow.Field{Name: name, Type: typ, Nullable: true}
	}
	return arrow.NewSchema(fields, nil), nil
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func supportedTextType(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.INT64, arrow.FLOAT64, arrow.BOOL, arrow.STRING, arrow.LARGE_STRING:
		return true
	}
	return false
}

// inferColumn picks the narrowest of int64, float64, bool and string that
// every non-empty sampled value parses as. An all-empty column is a string.
func inferColumn(rows [][]string, col int) arrow.DataType {
	isInt, isFloat, isBool, any := true, true, true, false
	for _, r := range rows {
		v := r[col]
		if v == "" {
			continue
		}
		any = true
		if isInt {
			if _, err := strconv.ParseInt(v, 10, 64); err != nil {
				isInt = false
			}
		}
		if isFloat && !isInt {
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				isFloat = false
			}
		}
		if isBool {
			if _, ok := parseBool(v); !ok {
				isBool = false
			}
		}
		if !isInt && !isFloat && !isBool {
			break
		}
	}
	switch {
	case !any:
		return arrow.BinaryTypes.String
	case isInt:
		return arrow.PrimitiveTypes.Int64
	case isFloat:
		return arrow.PrimitiveTypes.Float64
	case isBool:
		return arrow.FixedWidthTypes.Boolean
	}
	return arrow.BinaryTypes.String
}

func parseBool(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

func (d *delimited) schema() *arrow.Schema { return d.sch }

func (d *delimited) next(max int) (arrow.RecordBatch, error) {
	if d.done {
		return nil, io.EOF
	}
	b := array.NewRecordBuilder(d.opt.Alloc, d.sch)
	defer b.Release()
	n := 0
	firstRow := d.row - int64(len(d.peek)) + 1
	for n < max {
		var rec []string
		if len(d.peek) > 0 {
			rec, d.peek = d.peek[0], d.peek[1:]
		} else {
			d.cr.ReuseRecord = true
			r, err := d.read()
			if errors.Is(err, io.EOF) {
				d.done = true
				break
			}
			if err != nil {
				return nil, err
			}
			rec = r
		}
		if err := d.append(b, rec, firstRow+int64(n)); err != nil {
			return nil, err
		}
		n++
	}
	if n == 0 {
		return nil, io.EOF
	}
	return b.NewRecordBatch(), nil
}

func (d *delimited) append(b *array.RecordBuilder, rec []string, row int64) error {
	for i, v := range rec {
		switch fb := b.Field(i).(type) {
		case *array.StringBuilder:
			fb.Append(v)
		case *array.LargeStringBuilder:
			fb.Append(v)
		case *array.Int64Builder:
			if v == "" {
				fb.AppendNull()
				continue
			}
			x, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return d.typeErr(row, i, v, "an integer")
			}
			fb.Append(x)
		case *array.Float64Builder:
			if v == "" {
				fb.AppendNull()
				continue
			}
			x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return d.typeErr(row, i, v, "a number")
			}
			fb.Append(x)
		case *array.BooleanBuilder:
			if v == "" {
				fb.AppendNull()
				continue
			}
			x, ok := parseBool(strings.TrimSpace(v))
			if !ok {
				return d.typeErr(row, i, v, "true or false")
			}
			fb.Append(x)
		default:
			return &Error{File: d.path, Row: row, Column: d.header[i], Err: fmt.Errorf("unsupported column type %s", b.Field(i).Type())}
		}
	}
	return nil
}

func (d *delimited) typeErr(row int64, col int, v, want string) error {
	if len(v) > 40 {
		v = v[:40] + "…"
	}
	return &Error{File: d.path, Row: row, Column: d.header[col], Err: fmt.Errorf(
		"%q is not %s (the column's type, %s, was inferred from the first %d rows; override it, e.g. --type %s=string)",
		v, want, d.sch.Field(col).Type, d.opt.InferRows, d.header[col])}
}

func (d *delimited) close() error { return d.f.Close() }
