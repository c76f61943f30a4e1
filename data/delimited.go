package data

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// delimited reads CSV (RFC 4180: quoting, doubled quotes, quoted newlines,
// CRLF) and TSV, with an optional UTF-8 byte-order mark, a header row and
// inferred column types. Values go from the scanner's buffer straight into
// the column slices of the batch being built.
type delimited struct {
	f      io.ReadCloser
	path   string
	sc     *csvScanner
	header []string
	sch    *arrow.Schema // of the batches: the selected columns
	full   *arrow.Schema // of every column in the file
	out    []int         // file column of each batch column
	sel    []bool        // by file column: selected
	opt    *Options
	given  map[string]bool // columns whose type the caller fixed
	cols   []*column       // by file column; nil for a column not selected
	peek   [][]string      // rows read during inference, replayed first
	row    int64           // data rows scanned so far (the header is row 0)
	done   bool
	err    error // sticky: once a batch fails, every later call fails the same way

	scratch []byte
}

// maxBatchBytes ends a batch early so string offsets stay within int32.
const maxBatchBytes = 1 << 30

func newDelimited(f io.ReadCloser, path string, comma rune, opt *Options) (*delimited, error) {
	lazy := comma == '\t'
	if d := opt.Delimiter; d != 0 {
		if d == '"' || d == '\n' || d == '\r' || d >= 0x80 {
			return nil, &Error{File: path, Err: fmt.Errorf("delimiter %q: want one ASCII character other than a quote or a newline", rune(d))}
		}
		comma = rune(d)
	}
	sc := newCSVScanner(f, byte(comma), lazy)
	d := &delimited{f: f, path: path, sc: sc, opt: opt}
	if err := sc.skipBOM(); err != nil {
		return nil, &Error{File: path, Err: err}
	}
	ok, serr, err := sc.record()
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	if serr != nil {
		return nil, &Error{File: path, Err: fmt.Errorf("header (line %d): %s", serr.line, serr.msg)}
	}
	if !ok {
		return nil, &Error{File: path, Err: errors.New("the file is empty; a header row naming the columns is required")}
	}
	header := make([]string, len(sc.fields))
	seen := map[string]bool{}
	for i, fl := range sc.fields {
		h := string(sc.value(fl, &d.scratch))
		if !utf8.ValidString(h) {
			return nil, &Error{File: path, Err: fmt.Errorf("header column %d is not valid UTF-8; convert the file to UTF-8 (for example: iconv -f latin1 -t utf-8)", i+1)}
		}
		if !fl.quoted {
			h = strings.TrimSpace(h) // a quoted name is taken as written
		}
		if h == "" {
			// pandas writes its index under an empty name; give it one
			h = fmt.Sprintf("column%d", i+1)
		}
		if seen[h] {
			return nil, &Error{File: path, Column: h, Err: fmt.Errorf("the header names this column twice (columns %d and %d)", indexOf(header, h)+1, i+1)}
		}
		seen[h] = true
		header[i] = h
	}
	d.header = header
	d.out = make([]int, len(header))
	for i := range d.out {
		d.out[i] = i
	}
	if opt.Columns != nil {
		out, err := selectColumns(path, header, opt.Columns)
		if err != nil {
			return nil, err
		}
		d.out = out
	}
	d.sel = make([]bool, len(header))
	for _, i := range d.out {
		d.sel[i] = true
	}
	for len(d.peek) < opt.InferRows {
		ok, err := d.read()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		rec := make([]string, len(sc.fields))
		for i, fl := range sc.fields {
			rec[i] = string(sc.value(fl, &d.scratch))
		}
		d.peek = append(d.peek, rec)
	}
	full, given, err := inferTextSchema(path, header, d.sel, d.peek, opt)
	if err != nil {
		return nil, err
	}
	d.full, d.given = full, given
	d.cols = make([]*column, len(header))
	fields := make([]arrow.Field, len(d.out))
	for k, i := range d.out {
		d.cols[i] = newColumn(full.Field(i).Type)
		fields[k] = full.Field(i)
	}
	d.sch = arrow.NewSchema(fields, nil)
	return d, nil
}

func indexOf(xs []string, s string) int {
	for i, x := range xs {
		if x == s {
			return i
		}
	}
	return -1
}

// read scans the next record into d.sc.fields, checked for width and UTF-8.
func (d *delimited) read() (bool, error) {
	ok, serr, err := d.sc.record()
	if err != nil {
		return false, &Error{File: d.path, Row: d.row + 1, Err: err}
	}
	if serr != nil {
		e := &Error{File: d.path, Row: d.row + 1, Err: fmt.Errorf("malformed CSV at line %d: %s", serr.line, serr.msg)}
		if serr.field < len(d.header) {
			e.Column = d.header[serr.field]
		}
		return false, e
	}
	if !ok {
		return false, nil
	}
	d.row++
	if len(d.sc.fields) != len(d.header) {
		return false, &Error{File: d.path, Row: d.row, Err: fmt.Errorf("has %d fields but the header has %d (line %d)", len(d.sc.fields), len(d.header), d.sc.recLine)}
	}
	if !utf8.Valid(d.sc.rec) {
		for i, fl := range d.sc.fields {
			if !d.sel[i] {
				continue // not selected: its bytes are never read
			}
			if !utf8.Valid(d.sc.buf[fl.start:fl.end]) {
				return false, &Error{File: d.path, Row: d.row, Column: d.header[i], Err: errors.New("is not valid UTF-8; convert the file to UTF-8 (for example: iconv -f latin1 -t utf-8)")}
			}
		}
	}
	return true, nil
}

// inferTextSchema builds the schema of a text file from its header and the
// sampled rows, applying Options.Schema and Options.Types, for the selected
// columns (sel; the others are left as strings and never read). given reports
// the columns whose type came from the caller rather than from inference.
func inferTextSchema(path string, header []string, sel []bool, peek [][]string, opt *Options) (*arrow.Schema, map[string]bool, error) {
	for name := range opt.Types {
		if !contains(header, name) {
			return nil, nil, &Error{File: path, Column: name, Err: fmt.Errorf("a type override names this column but the file has only %s", strings.Join(header, ", "))}
		}
	}
	given := map[string]bool{}
	fields := make([]arrow.Field, len(header))
	for i, name := range header {
		var typ arrow.DataType
		if !sel[i] {
			fields[i] = arrow.Field{Name: name, Type: arrow.BinaryTypes.String, Nullable: true}
			continue
		}
		if opt.Schema != nil {
			idx := opt.Schema.FieldIndices(name)
			if len(idx) == 0 {
				return nil, nil, &Error{File: path, Column: name, Err: errors.New("the given schema has no such field")}
			}
			typ = opt.Schema.Field(idx[0]).Type
			given[name] = true
		} else if t, ok := opt.Types[name]; ok {
			typ = t
			given[name] = true
		} else {
			typ = inferColumn(peek, i)
		}
		if !supportedTextType(typ) {
			return nil, nil, &Error{File: path, Column: name, Err: fmt.Errorf("type %s cannot be read from text; use int64, float64, bool or string", typ)}
		}
		fields[i] = arrow.Field{Name: name, Type: typ, Nullable: true}
	}
	return arrow.NewSchema(fields, nil), given, nil
}

func contains(xs []string, s string) bool { return indexOf(xs, s) >= 0 }

func supportedTextType(t arrow.DataType) bool {
	_, ok := kindOf(t)
	return ok
}

// inferColumn picks the narrowest of int64, float64, bool and string that
// every non-empty sampled value parses as. An all-empty column is a string.
func inferColumn(rows [][]string, col int) arrow.DataType {
	isInt, isFloat, isBool, any := true, true, true, false
	for _, r := range rows {
		// the same trimming and parsing as appendText
		v := trimSpaceASCII(unsafeBytes(r[col]))
		if len(v) == 0 {
			continue
		}
		any = true
		if isInt {
			if _, ok := parseInt(v); !ok {
				isInt = false
			}
		}
		if isFloat && !isInt {
			if _, ok := parseFloat(v); !ok {
				isFloat = false
			}
		}
		if isBool {
			if _, ok := parseBoolBytes(v); !ok {
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

func (d *delimited) schema() *arrow.Schema { return d.sch }

func (d *delimited) next(max int) (arrow.RecordBatch, error) {
	if d.err != nil {
		return nil, d.err
	}
	if d.done && len(d.peek) == 0 {
		return nil, io.EOF
	}
	rec, err := d.batch(max)
	if err != nil {
		d.err = err
		return nil, err
	}
	return rec, nil
}

func (d *delimited) batch(max int) (arrow.RecordBatch, error) {
	for _, c := range d.cols {
		if c != nil {
			c.reset(max)
		}
	}
	n, size := 0, 0
	firstRow := d.row - int64(len(d.peek)) + 1
	for n < max && len(d.peek) > 0 {
		for i, v := range d.peek[0] {
			if d.cols[i] == nil {
				continue
			}
			if err := d.appendText(d.cols[i], i, unsafeBytes(v), firstRow+int64(n)); err != nil {
				return nil, err
			}
		}
		d.peek = d.peek[1:]
		n++
	}
	for n < max && !d.done && size < maxBatchBytes {
		ok, err := d.read()
		if err != nil {
			return nil, err
		}
		if !ok {
			d.done = true
			break
		}
		size += len(d.sc.rec)
		if len(d.sc.rec) > maxBatchBytes {
			return nil, &Error{File: d.path, Row: d.row, Err: fmt.Errorf("the record is %d bytes; records over 1 GiB are not supported", len(d.sc.rec))}
		}
		buf := d.sc.buf
		for i, f := range d.sc.fields {
			c := d.cols[i]
			if c == nil {
				continue
			}
			switch c.kind {
			case kString, kLargeString:
				if f.esc {
					c.data = appendUnescaped(c.data, buf[f.start:f.end])
				} else {
					c.data = append(c.data, buf[f.start:f.end]...)
				}
				c.endString()
			default:
				if err := d.appendText(c, i, d.sc.value(f, &d.scratch), d.row); err != nil {
					return nil, err
				}
			}
		}
		n++
	}
	if n == 0 {
		return nil, io.EOF
	}
	arrs := make([]arrow.Array, len(d.out))
	for k, i := range d.out {
		arrs[k] = d.cols[i].finish()
	}
	rec := array.NewRecordBatch(d.sch, arrs, int64(n))
	for _, a := range arrs {
		a.Release()
	}
	return rec, nil
}

// appendText parses one field by its column's type and appends it. In CSV an
// empty field is an empty string in a string column and null elsewhere.
func (d *delimited) appendText(c *column, i int, v []byte, row int64) error {
	switch c.kind {
	case kString, kLargeString:
		c.appendString(v)
		return nil
	}
	t := trimSpaceASCII(v)
	if len(t) == 0 {
		c.appendNull()
		return nil
	}
	switch c.kind {
	case kInt64:
		x, ok := parseInt(t)
		if !ok {
			return d.typeErr(row, i, v, "an integer")
		}
		c.appendInt(x)
	case kFloat64:
		x, ok := parseFloat(t)
		if !ok {
			return d.typeErr(row, i, v, "a number")
		}
		c.appendFloat(x)
	case kBool:
		x, ok := parseBoolBytes(t)
		if !ok {
			return d.typeErr(row, i, v, "true or false")
		}
		c.appendBool(x)
	}
	return nil
}

func (d *delimited) typeErr(row int64, col int, v []byte, want string) error {
	return typeError(d.path, row, d.header[col], d.full.Field(col).Type, d.given[d.header[col]], d.opt.InferRows, v, want)
}

func typeError(path string, row int64, name string, typ arrow.DataType, given bool, inferRows int, v []byte, want string) error {
	why := fmt.Sprintf("the column's type, %s, was inferred from the first %d rows; override it, e.g. --type %s=string", typ, inferRows, name)
	if given {
		why = fmt.Sprintf("the column's type was given as %s", typ)
	}
	return &Error{File: path, Row: row, Column: name, Err: fmt.Errorf("%s is not %s (%s)", quoteValue(v), want, why)}
}

func (d *delimited) close() error { return d.f.Close() }
