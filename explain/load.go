package explain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/dawn-ml/dawn/data"
)

// ReadOptions choose what ReadFrame loads.
type ReadOptions struct {
	// Columns to load, in this order; nil loads every column.
	Columns []string
	// Kinds forces a column's kind; others keep the file's type (text
	// formats: inferred).
	Kinds map[string]Kind
	// Data passes the reader options a user gave (--format, --type,
	// --delimiter): Format, Types and Delimiter are used.
	Data data.Options
}

// ReadFrame loads a data file into a Frame: strings dictionary-encoded,
// numbers as float64 (nulls NaN). Parquet string columns are read as
// Parquet dictionaries, so encoding costs one slice load per row; other
// formats go through package data (CSV.gz through the CSV reader here).
//
// path may also be a directory (every data file in it whose name does not
// start with '.', in name order: a prediction log directory) or a glob
// pattern such as "logs/predictions-*.parquet"; the files are read with the
// same options and stacked, and must all hold the wanted columns.
func ReadFrame(path string, opt ReadOptions) (*Frame, error) {
	files, err := Inputs(path)
	if err != nil {
		return nil, err
	}
	if len(files) == 1 && files[0] == path {
		return readFrameFile(path, opt)
	}
	frames := make([]*Frame, 0, len(files))
	for _, f := range files {
		fr, err := readFrameFile(f, opt)
		if err != nil {
			return nil, err
		}
		frames = append(frames, fr)
	}
	return stack(frames, files)
}

func readFrameFile(path string, opt ReadOptions) (*Frame, error) {
	plain := opt.Data.Format == "" && opt.Data.Delimiter == 0 && len(opt.Data.Types) == 0
	if plain && strings.HasSuffix(strings.ToLower(path), ".csv.gz") {
		f, err := ReadCSVFile(path, opt.Kinds)
		if err != nil {
			return nil, err
		}
		return project(f, opt.Columns)
	}
	format := opt.Data.Format
	if format == "" {
		name := path
		if strings.EqualFold(filepath.Ext(path), ".gz") {
			name = strings.TrimSuffix(path, filepath.Ext(path))
		}
		f, err := data.FormatOf(name)
		if err != nil {
			return nil, fmt.Errorf("explain: %w", err)
		}
		format = f
	}
	if format == data.Parquet && len(opt.Data.Types) == 0 {
		return readParquet(path, opt)
	}
	r, err := openWithKinds(path, opt.Kinds, opt.Columns, format, opt.Data)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := newFrameBuilder(r.Schema(), opt, path)
	if err != nil {
		return nil, err
	}
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("explain: read %s: %w", path, err)
		}
		err = b.add(rec)
		rec.Release()
		if err != nil {
			return nil, err
		}
	}
	return b.frame(), nil
}

// openWithKinds opens a file through package data, reading only the
// wanted columns; for text formats the columns with a forced kind are read
// as that type, so a string attribute keeps its exact text ("1.0" stays
// "1.0").
func openWithKinds(path string, kinds map[string]Kind, cols []string, format data.Format, user data.Options) (*data.Reader, error) {
	base := data.Options{Format: format, Delimiter: user.Delimiter}
	r, err := data.Open(path, base)
	if err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	text := format == data.CSV || format == data.TSV
	if (len(kinds) == 0 || !text) && cols == nil && len(user.Types) == 0 {
		return r, nil
	}
	opt := base
	fields := r.Schema().Fields()
	for _, c := range cols {
		for _, f := range fields {
			if strings.EqualFold(f.Name, c) {
				opt.Columns = append(opt.Columns, f.Name)
				break
			}
		}
	}
	if len(opt.Columns) != len(cols) {
		opt.Columns = nil // let the frame builder name the missing column
	}
	if text {
		opt.Types = map[string]arrow.DataType{}
		for _, f := range fields {
			for name, k := range kinds {
				if !strings.EqualFold(name, f.Name) {
					continue
				}
				switch k {
				case String:
					opt.Types[f.Name] = arrow.BinaryTypes.String
				case Number:
					opt.Types[f.Name] = arrow.PrimitiveTypes.Float64
				}
			}
		}
	}
	// The user's --type overrides win over the kinds explain asks for.
	for name, t := range user.Types {
		if opt.Types == nil {
			opt.Types = map[string]arrow.DataType{}
		}
		opt.Types[name] = t
	}
	r.Close()
	r, err = data.Open(path, opt)
	if err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	return r, nil
}

func project(f *Frame, cols []string) (*Frame, error) {
	if cols == nil {
		return f, nil
	}
	out := &Frame{Rows: f.Rows}
	for _, c := range cols {
		fc, err := f.Col(c)
		if err != nil {
			return nil, err
		}
		out.Cols = append(out.Cols, *fc)
	}
	return out, nil
}

// frameBuilder appends Arrow batches to a Frame.
type frameBuilder struct {
	hint  int // expected rows, to size the columns once
	path  string
	idx   []int // schema field of each output column
	names []string
	kinds []Kind
	enc   []*Encoder
	nums  [][]float64
	rows  int
}

func newFrameBuilder(s *arrow.Schema, opt ReadOptions, path string) (*frameBuilder, error) {
	b := &frameBuilder{path: path}
	cols := opt.Columns
	if cols == nil {
		for _, f := range s.Fields() {
			cols = append(cols, f.Name)
		}
	}
	for _, c := range cols {
		i := -1
		for j, f := range s.Fields() {
			if f.Name == c || (i < 0 && strings.EqualFold(f.Name, c)) {
				i = j
			}
		}
		if i < 0 {
			var have []string
			for _, f := range s.Fields() {
				have = append(have, f.Name)
			}
			return nil, fmt.Errorf("explain: %s: unknown column %q (have %s)", path, c, strings.Join(have, ", "))
		}
		k := Auto
		for name, kk := range opt.Kinds {
			if strings.EqualFold(name, c) {
				k = kk
			}
		}
		if k == Auto {
			k = String
			if isNumeric(s.Field(i).Type) {
				k = Number
			}
		}
		b.idx = append(b.idx, i)
		b.names = append(b.names, s.Field(i).Name)
		b.kinds = append(b.kinds, k)
		if k == String {
			b.enc = append(b.enc, NewEncoder(s.Field(i).Name))
		} else {
			b.enc = append(b.enc, nil)
		}
	}
	b.nums = make([][]float64, len(b.idx))
	return b, nil
}

func isNumeric(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64, arrow.BOOL, arrow.DECIMAL128, arrow.DECIMAL256:
		return true
	}
	return false
}

func (b *frameBuilder) add(rec arrow.RecordBatch) error {
	n := int(rec.NumRows())
	for j, i := range b.idx {
		col := rec.Column(i)
		if b.kinds[j] == String {
			appendStrings(b.enc[j], col)
			continue
		}
		if b.nums[j] == nil && b.hint > 0 {
			b.nums[j] = make([]float64, 0, b.hint)
		}
		v, err := toFloats(col, b.names[j], b.rows, b.path)
		if err != nil {
			return err
		}
		b.nums[j] = append(b.nums[j], v...)
	}
	b.rows += n
	return nil
}

func (b *frameBuilder) frame() *Frame {
	f := &Frame{Rows: b.rows}
	for j, name := range b.names {
		if b.kinds[j] == String {
			f.Cols = append(f.Cols, FrameColumn{Name: name, Str: b.enc[j].Column()})
		} else {
			v := b.nums[j]
			if v == nil {
				v = []float64{}
			}
			f.Cols = append(f.Cols, FrameColumn{Name: name, Num: v})
		}
	}
	return f
}

func appendStrings(e *Encoder, col arrow.Array) {
	switch a := col.(type) {
	case *array.Dictionary:
		dict := a.Dictionary()
		local := make([]string, dict.Len())
		for i := range local {
			local[i] = valueString(dict, i)
		}
		var valid func(int) bool
		if a.NullN() > 0 {
			valid = a.IsValid
		}
		if idx, ok := a.Indices().(*array.Int32); ok {
			e.AppendCodes(idx.Int32Values(), local, valid)
			return
		}
		codes := make([]int32, a.Len())
		for i := range codes {
			if a.IsValid(i) {
				codes[i] = int32(a.GetValueIndex(i))
			}
		}
		e.AppendCodes(codes, local, valid)
	case *array.String:
		for i := 0; i < a.Len(); i++ {
			if a.IsNull(i) {
				e.AppendNull()
			} else {
				e.Append(a.Value(i))
			}
		}
	default:
		for i := 0; i < col.Len(); i++ {
			if col.IsNull(i) {
				e.AppendNull()
			} else {
				e.Append(valueString(col, i))
			}
		}
	}
}

func valueString(col arrow.Array, i int) string {
	switch a := col.(type) {
	case *array.String:
		return a.Value(i)
	case *array.LargeString:
		return a.Value(i)
	case *array.Binary:
		return string(a.Value(i))
	case *array.Float64:
		return FormatNumber(a.Value(i))
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10)
	}
	return data.FormatValue(col, i)
}

func toFloats(col arrow.Array, name string, row0 int, path string) ([]float64, error) {
	out := make([]float64, col.Len())
	set := func(get func(i int) float64) {
		for i := range out {
			if col.IsNull(i) {
				out[i] = math.NaN()
			} else {
				out[i] = get(i)
			}
		}
	}
	switch a := col.(type) {
	case *array.Float64:
		set(func(i int) float64 { return a.Value(i) })
	case *array.Float32:
		set(func(i int) float64 { return float64(a.Value(i)) })
	case *array.Int64:
		set(func(i int) float64 { return float64(a.Value(i)) })
	case *array.Int32:
		set(func(i int) float64 { return float64(a.Value(i)) })
	case *array.Int16:
		set(func(i int) float64 { return float64(a.Value(i)) })
	case *array.Int8:
		set(func(i int) float64 { return float64(a.Value(i)) })
	case *array.Uint64:
		set(func(i int) float64 { return float64(a.Value(i)) })
	case *array.Uint32:
		set(func(i int) float64 { return float64(a.Value(i)) })
	case *array.Uint16:
		set(func(i int) float64 { return float64(a.Value(i)) })
	case *array.Uint8:
		set(func(i int) float64 { return float64(a.Value(i)) })
	case *array.Timestamp:
		// A timestamp read as a number is unix seconds (fractional).
		unit := a.DataType().(*arrow.TimestampType).Unit
		perSecond := float64(time.Second / unit.Multiplier())
		set(func(i int) float64 { return float64(a.Value(i)) / perSecond })
	case *array.Boolean:
		set(func(i int) float64 {
			if a.Value(i) {
				return 1
			}
			return 0
		})
	default:
		for i := range out {
			if col.IsNull(i) {
				out[i] = math.NaN()
				continue
			}
			s := strings.TrimSpace(valueString(col, i))
			if s == "" {
				out[i] = math.NaN()
				continue
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, fmt.Errorf("explain: %s: row %d, column %q: %q is not a number", path, row0+i+1, name, s)
			}
			out[i] = v
		}
	}
	return out, nil
}

// readParquet reads the wanted columns, string columns as dictionaries.
func readParquet(path string, opt ReadOptions) (fr0 *Frame, err0 error) {
	// The Parquet decoder can panic on corrupt input; report it as an error.
	defer func() {
		if p := recover(); p != nil {
			fr0, err0 = nil, fmt.Errorf("explain: read %s: corrupt Parquet file: %v", path, p)
		}
	}()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, fmt.Errorf("explain: open %s: %w", path, err)
	}
	defer pf.Close()
	props := pqarrow.ArrowReadProperties{BatchSize: 1 << 16, Parallel: true}
	sc := pf.MetaData().Schema
	for i := 0; i < sc.NumColumns(); i++ {
		if sc.Column(i).PhysicalType() == parquet.Types.ByteArray {
			props.SetReadDict(i, true)
		}
	}
	fr, err := pqarrow.NewFileReader(pf, props, memory.DefaultAllocator)
	if err != nil {
		return nil, fmt.Errorf("explain: open %s: %w", path, err)
	}
	schema, err := fr.Schema()
	if err != nil {
		return nil, fmt.Errorf("explain: %s: schema: %w", path, err)
	}
	b, err := newFrameBuilder(schema, opt, path)
	if err != nil {
		return nil, err
	}
	var leaves []int
	for _, i := range b.idx {
		leaves = append(leaves, sc.ColumnIndexByName(schema.Field(i).Name))
	}
	rr, err := fr.GetRecordReader(context.Background(), leaves, nil)
	if err != nil {
		return nil, fmt.Errorf("explain: %s: %w", path, err)
	}
	defer rr.Release()
	// The record reader returns only the projected columns, in order.
	for j := range b.idx {
		b.idx[j] = j
	}
	b.hint = int(pf.NumRows())
	for _, e := range b.enc {
		if e != nil {
			e.Grow(b.hint)
		}
	}
	for rr.Next() {
		if err := b.add(rr.RecordBatch()); err != nil {
			return nil, err
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("explain: read %s: %w", path, err)
	}
	return b.frame(), nil
}
