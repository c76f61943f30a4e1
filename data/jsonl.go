package data

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// jsonl reads JSON Lines: one object per line, blank lines skipped. Columns
// are the keys of the first InferRows objects in first-seen order (or the
// fields of Options.Schema); a key missing from an object is null. Numbers
// become int64 when every sampled value is an integer and float64 otherwise,
// true/false bool, strings string; a column whose samples mix kinds, and any
// nested object or array, is a string holding the JSON text. Row numbers in
// errors are line numbers.
type jsonl struct {
	f     io.ReadCloser
	path  string
	br    *bufio.Reader
	opt   *Options
	sch   *arrow.Schema
	names []string
	index map[string]int
	given map[string]bool
	// strict rejects keys outside the schema (inferred schemas); with a
	// schema from the caller other keys are ignored.
	strict bool
	cols   []*column

	peek  []jsonRow
	line  int64
	done  bool
	err   error
	seen  []int64 // per column: the line that last set it (duplicate keys)
	buf   []byte
	valsc []byte
	vals  []jsonVal
}

type jsonVal struct {
	key []byte // unescaped
	raw []byte
}

type jsonRow struct {
	line int64
	vals []jsonVal
}

// jsonKind classifies a raw JSON value.
type jsonKind uint8

const (
	jNull jsonKind = iota
	jInt
	jFloat
	jBool
	jString
	jNested
)

func classify(raw []byte) jsonKind {
	switch raw[0] {
	case 'n':
		return jNull
	case 't', 'f':
		return jBool
	case '"':
		return jString
	case '{', '[':
		return jNested
	}
	if bytes.ContainsAny(raw, ".eE") {
		return jFloat
	}
	if _, ok := parseInt(raw); !ok {
		return jFloat // an integer too big for int64
	}
	return jInt
}

func newJSONL(f io.ReadCloser, path string, opt *Options) (*jsonl, error) {
	j := &jsonl{f: f, path: path, br: bufio.NewReaderSize(f, 1<<20), opt: opt, index: map[string]int{}}
	for len(j.peek) < opt.InferRows {
		line, ok, err := j.readLine()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		vals, err := j.parse(line)
		if err != nil {
			return nil, err
		}
		vals = append([]jsonVal(nil), vals...) // parse reuses its slice
		for i := range vals {
			vals[i].key = bytes.Clone(vals[i].key)
			vals[i].raw = bytes.Clone(vals[i].raw)
		}
		j.peek = append(j.peek, jsonRow{line: j.line, vals: vals})
	}
	if opt.Schema != nil {
		for _, fl := range opt.Schema.Fields() {
			j.names = append(j.names, fl.Name)
		}
	} else {
		j.strict = true
		for _, r := range j.peek {
			for _, v := range r.vals {
				if _, ok := j.index[string(v.key)]; !ok {
					j.index[string(v.key)] = len(j.names)
					j.names = append(j.names, string(v.key))
				}
			}
		}
		if len(j.names) == 0 {
			if len(j.peek) == 0 {
				return nil, &Error{File: path, Err: errors.New("the file is empty; JSON Lines input needs at least one object")}
			}
			return nil, &Error{File: path, Err: fmt.Errorf("the first %d objects have no fields", len(j.peek))}
		}
	}
	if opt.Columns != nil {
		if _, err := selectColumns(path, j.names, opt.Columns); err != nil {
			return nil, err
		}
		j.names = append([]string(nil), opt.Columns...)
		j.strict = false // the other keys are not wanted
	}
	clear(j.index)
	for i, n := range j.names {
		j.index[n] = i
	}
	for name := range opt.Types {
		if _, ok := j.index[name]; !ok {
			return nil, &Error{File: path, Column: name, Err: fmt.Errorf("a type override names this field but the first %d objects have only %s", len(j.peek), strings.Join(j.names, ", "))}
		}
	}
	j.given = map[string]bool{}
	var kinds [][jNested + 1]bool
	if opt.Schema == nil {
		kinds = j.kinds()
	}
	fields := make([]arrow.Field, len(j.names))
	for i, name := range j.names {
		var typ arrow.DataType
		if opt.Schema != nil {
			typ = opt.Schema.Field(opt.Schema.FieldIndices(name)[0]).Type
			j.given[name] = true
		} else if t, ok := opt.Types[name]; ok {
			typ = t
			j.given[name] = true
		} else {
			typ = inferKind(kinds[i])
		}
		if !supportedTextType(typ) {
			return nil, &Error{File: path, Column: name, Err: fmt.Errorf("type %s cannot be read from JSON Lines; use int64, float64, bool or string", typ)}
		}
		fields[i] = arrow.Field{Name: name, Type: typ, Nullable: true}
	}
	j.sch = arrow.NewSchema(fields, nil)
	j.cols = make([]*column, len(fields))
	for i, fl := range fields {
		j.cols[i] = newColumn(fl.Type)
	}
	j.seen = make([]int64, len(fields))
	return j, nil
}

// kinds records, for each column of j.index, the kinds of value the
// sampled objects give it, in one pass over the sample (asking per column
// was quadratic in the keys: 30,000 keys took 30 s).
func (j *jsonl) kinds() [][jNested + 1]bool {
	out := make([][jNested + 1]bool, len(j.names))
	for _, r := range j.peek {
		for _, v := range r.vals {
			if i, ok := j.index[string(v.key)]; ok {
				out[i][classify(v.raw)] = true
			}
		}
	}
	return out
}

// inferKind picks a column's type from the kinds of its sampled values.
func inferKind(kinds [jNested + 1]bool) arrow.DataType {
	switch {
	case kinds[jString] || kinds[jNested]:
		return arrow.BinaryTypes.String
	case kinds[jBool] && (kinds[jInt] || kinds[jFloat]):
		return arrow.BinaryTypes.String
	case kinds[jBool]:
		return arrow.FixedWidthTypes.Boolean
	case kinds[jFloat]:
		return arrow.PrimitiveTypes.Float64
	case kinds[jInt]:
		return arrow.PrimitiveTypes.Int64
	}
	return arrow.BinaryTypes.String // only nulls seen
}

// readLine returns the next non-blank line (valid until the next call) and
// advances j.line to its number.
func (j *jsonl) readLine() ([]byte, bool, error) {
	for {
		j.buf = j.buf[:0]
		chunk, err := j.br.ReadSlice('\n')
		if err == nil {
			// the whole line is in the bufio buffer: use it in place
			j.line++
			line := bytes.TrimSpace(chunk)
			if j.line == 1 {
				line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
			}
			if len(line) > 0 {
				return line, true, nil
			}
			continue
		}
		for {
			j.buf = append(j.buf, chunk...)
			if errors.Is(err, bufio.ErrBufferFull) {
				chunk, err = j.br.ReadSlice('\n')
				if err == nil {
					j.buf = append(j.buf, chunk...)
					break
				}
				continue
			}
			if errors.Is(err, io.EOF) {
				if len(j.buf) == 0 {
					return nil, false, nil
				}
				break
			}
			if err != nil {
				return nil, false, &Error{File: j.path, Row: j.line + 1, Err: err}
			}
			break
		}
		j.line++
		line := bytes.TrimSpace(j.buf)
		if j.line == 1 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		}
		if len(line) > 0 {
			return line, true, nil
		}
	}
}

// parse splits one line's object into its keys and raw values (valid until
// the next line is read). Plain objects go through scanObject; anything it
// declines is parsed again by encoding/json, which gives the verdict and the
// error message.
func (j *jsonl) parse(line []byte) ([]jsonVal, error) {
	if vals, ok := scanObject(line, j.vals[:0]); ok && utf8.Valid(line) {
		j.vals = vals
		return vals, nil
	}
	return j.parseSlow(line)
}

func (j *jsonl) parseSlow(line []byte) ([]jsonVal, error) {
	if line[0] != '{' {
		return nil, &Error{File: j.path, Row: j.line, Err: errors.New("is not a JSON object (each line must hold one {...} object)")}
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return nil, j.syntaxErr("", err)
	}
	var vals []jsonVal
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, j.syntaxErr("", err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, j.syntaxErr("", fmt.Errorf("expected a field name, found %v", tok))
		}
		if key == "" {
			return nil, &Error{File: j.path, Row: j.line, Err: errors.New("a field has an empty name")}
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, j.syntaxErr(key, err)
		}
		if !utf8.Valid(raw) {
			return nil, &Error{File: j.path, Row: j.line, Column: key, Err: errors.New("is not valid UTF-8; convert the file to UTF-8 (for example: iconv -f latin1 -t utf-8)")}
		}
		vals = append(vals, jsonVal{key: []byte(key), raw: raw})
	}
	if _, err := dec.Token(); err != nil {
		return nil, j.syntaxErr("", err)
	}
	if off := dec.InputOffset(); off != int64(len(line)) {
		return nil, &Error{File: j.path, Row: j.line, Err: fmt.Errorf("unexpected text after the object at byte %d; put one object on each line", off+1)}
	}
	if !utf8.Valid(line) { // every value was valid, so a name is not
		return nil, &Error{File: j.path, Row: j.line, Err: errors.New("a field name is not valid UTF-8; convert the file to UTF-8 (for example: iconv -f latin1 -t utf-8)")}
	}
	return vals, nil
}

func (j *jsonl) syntaxErr(key string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = errors.New("unexpected end of line")
	}
	return &Error{File: j.path, Row: j.line, Column: key, Err: fmt.Errorf("malformed JSON: %v", err)}
}

func (j *jsonl) schema() *arrow.Schema { return j.sch }

func (j *jsonl) next(max int) (arrow.RecordBatch, error) {
	if j.err != nil {
		return nil, j.err
	}
	if j.done && len(j.peek) == 0 {
		return nil, io.EOF
	}
	rec, err := j.batch(max)
	if err != nil {
		j.err = err
	}
	return rec, err
}

func (j *jsonl) batch(max int) (arrow.RecordBatch, error) {
	for _, c := range j.cols {
		c.reset(max)
	}
	n, size := 0, 0
	for n < max && size < maxBatchBytes {
		var row jsonRow
		if len(j.peek) > 0 {
			row, j.peek = j.peek[0], j.peek[1:]
		} else if !j.done {
			line, ok, err := j.readLine()
			if err != nil {
				return nil, err
			}
			if !ok {
				j.done = true
				break
			}
			vals, err := j.parse(line)
			if err != nil {
				return nil, err
			}
			size += len(line)
			row = jsonRow{line: j.line, vals: vals}
		} else {
			break
		}
		if err := j.appendRow(row); err != nil {
			return nil, err
		}
		n++
	}
	if n == 0 {
		return nil, io.EOF
	}
	arrs := make([]arrow.Array, len(j.cols))
	for i, c := range j.cols {
		arrs[i] = c.finish()
	}
	rec := array.NewRecordBatch(j.sch, arrs, int64(n))
	for _, a := range arrs {
		a.Release()
	}
	return rec, nil
}

func (j *jsonl) appendRow(r jsonRow) error {
	for _, v := range r.vals {
		i, ok := j.index[string(v.key)]
		if !ok {
			if j.strict {
				return &Error{File: j.path, Row: r.line, Column: string(v.key), Err: fmt.Errorf("this field is not among the columns found in the first %d objects (%s); pass a schema that names it", j.opt.InferRows, strings.Join(j.names, ", "))}
			}
			continue
		}
		if j.seen[i] == r.line {
			return &Error{File: j.path, Row: r.line, Column: string(v.key), Err: errors.New("the object has this field twice")}
		}
		j.seen[i] = r.line
		if err := j.appendValue(i, v.raw, r.line); err != nil {
			return err
		}
	}
	for i, c := range j.cols {
		if j.seen[i] != r.line {
			c.appendNull()
		}
	}
	return nil
}

func (j *jsonl) appendValue(i int, raw []byte, line int64) error {
	c := j.cols[i]
	k := classify(raw)
	if k == jNull {
		c.appendNull()
		return nil
	}
	bad := func(want string) error {
		return typeError(j.path, line, j.names[i], j.sch.Field(i).Type, j.given[j.names[i]], j.opt.InferRows, raw, want)
	}
	switch c.kind {
	case kString, kLargeString:
		switch k {
		case jString:
			if bytes.IndexByte(raw, '\\') < 0 {
				c.appendString(raw[1 : len(raw)-1])
				break
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return &Error{File: j.path, Row: line, Column: j.names[i], Err: fmt.Errorf("malformed JSON string: %v", err)}
			}
			c.appendString(unsafeBytes(s))
		case jNested:
			j.valsc = j.valsc[:0]
			b := bytes.NewBuffer(j.valsc)
			if err := json.Compact(b, raw); err != nil {
				return &Error{File: j.path, Row: line, Column: j.names[i], Err: fmt.Errorf("malformed JSON: %v", err)}
			}
			j.valsc = b.Bytes()
			c.appendString(j.valsc)
		default:
			c.appendString(raw)
		}
	case kInt64:
		if k != jInt {
			return bad("an integer")
		}
		x, _ := parseInt(raw)
		c.appendInt(x)
	case kFloat64:
		if k != jInt && k != jFloat {
			return bad("a number")
		}
		x, ok := parseFloat(raw)
		if !ok {
			return bad("a number")
		}
		c.appendFloat(x)
	case kBool:
		if k != jBool {
			return bad("true or false")
		}
		c.appendBool(raw[0] == 't')
	}
	return nil
}

func (j *jsonl) close() error { return j.f.Close() }
