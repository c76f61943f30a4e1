package fuse

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/dawn-ml/dawn/data"
)

// Columns names the claim columns of a file.
type Columns struct {
	Object, Source, Value string
}

// ReadOptions configure reading a claims file.
type ReadOptions struct {
	Data data.Options
	// Progress, when set, is called after each batch with the bytes read
	// so far and the file's size (0 when unknown).
	Progress func(read, size int64)
}

// readColumns streams the named columns of path, calling f per batch.
func readColumns(path string, opt data.Options, cols []string, progress func(read, size int64), f func(rec arrow.RecordBatch, idx []int) error) error {
	opt.Columns = cols
	if opt.Types == nil {
		opt.Types = map[string]arrow.DataType{}
	}
	r, err := data.Open(path, opt)
	if err != nil {
		return fmt.Errorf("fuse: %w", err)
	}
	defer r.Close()
	sch := r.Schema()
	idx := make([]int, len(cols))
	for i, c := range cols {
		fi := sch.FieldIndices(c)
		if len(fi) == 0 {
			return fmt.Errorf("fuse: %s has no column %q", path, c)
		}
		idx[i] = fi[0]
	}
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("fuse: %w", err)
		}
		err = f(rec, idx)
		rec.Release()
		if err != nil {
			return err
		}
		if progress != nil {
			progress(r.BytesRead(), r.Size())
		}
	}
}

// stringTypes forces the named columns to be read as strings (an object
// id "007" stays "007").
func stringTypes(opt data.Options, cols ...string) data.Options {
	t := map[string]arrow.DataType{}
	for k, v := range opt.Types {
		t[k] = v
	}
	for _, c := range cols {
		if _, set := t[c]; !set {
			t[c] = arrow.BinaryTypes.String
		}
	}
	opt.Types = t
	return opt
}

// ReadClaims reads claims from any file dawn reads. Rows with an empty
// object, source or value are errors, named by row.
func ReadClaims(path string, ro ReadOptions, cols Columns, numeric bool) (*Claims, error) {
	opt := ro.Data
	b := NewBuilder(numeric)
	names := []string{cols.Object, cols.Source, cols.Value}
	if numeric {
		opt = stringTypes(opt, cols.Object, cols.Source)
	} else {
		opt = stringTypes(opt, names...)
	}
	var row int64
	err := readColumns(path, opt, names, ro.Progress, func(rec arrow.RecordBatch, idx []int) error {
		oc, sc, vc := rec.Column(idx[0]), rec.Column(idx[1]), rec.Column(idx[2])
		for i := 0; i < int(rec.NumRows()); i++ {
			row++
			if oc.IsNull(i) || sc.IsNull(i) || vc.IsNull(i) {
				return fmt.Errorf("fuse: %s: row %d: empty %s", path, row, emptyName(oc, sc, vc, i, names))
			}
			obj, src := data.FormatValue(oc, i), data.FormatValue(sc, i)
			if obj == "" || src == "" {
				return fmt.Errorf("fuse: %s: row %d: empty %s", path, row, map[bool]string{true: "column " + cols.Object, false: "column " + cols.Source}[obj == ""])
			}
			if !numeric {
				v := data.FormatValue(vc, i)
				if v == "" {
					return fmt.Errorf("fuse: %s: row %d: empty column %s", path, row, cols.Value)
				}
				if err := b.Add(obj, src, v); err != nil {
					return err
				}
				continue
			}
			v, err := number(vc, i)
			if err != nil {
				return fmt.Errorf("fuse: %s: row %d, column %s: %w", path, row, cols.Value, err)
			}
			if err := b.AddNumber(obj, src, v); err != nil {
				return fmt.Errorf("fuse: %s: row %d: %w", path, row, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	c, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("fuse: %s: %w", path, err)
	}
	return c, nil
}

func emptyName(oc, sc, vc arrow.Array, i int, names []string) string {
	for j, a := range []arrow.Array{oc, sc, vc} {
		if a.IsNull(i) {
			return "column " + names[j]
		}
	}
	return "value"
}

// number reads a numeric cell of any numeric or string column.
func number(a arrow.Array, i int) (float64, error) {
	switch c := a.(type) {
	case *array.Float64:
		return c.Value(i), nil
	case *array.Int64:
		return float64(c.Value(i)), nil
	case *array.Float32:
		return float64(c.Value(i)), nil
	case *array.Int32:
		return float64(c.Value(i)), nil
	}
	s := data.FormatValue(a, i)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("value %q is not a number", s)
	}
	return f, nil
}

// Truth holds known true values aligned with a claim set's objects.
type Truth struct {
	// IDs: categorical truth as a value id; -1 unknown; -2 a value no
	// source claimed (counted wrong, never used for training).
	IDs []int32
	// Num: numeric truth; NaN unknown.
	Num []float64
	// Known counts the objects with a truth; Missing the truth rows whose
	// object has no claims (ignored).
	Known, Missing int
}

// ReadTruth reads (object, value) rows and aligns them with c's objects.
func ReadTruth(path string, opt data.Options, objectCol, valueCol string, c *Claims) (*Truth, error) {
	objIdx := make(map[string]int32, len(c.Objects))
	for i, o := range c.Objects {
		objIdx[o] = int32(i)
	}
	t := &Truth{}
	if c.Numeric {
		t.Num = make([]float64, len(c.Objects))
		for i := range t.Num {
			t.Num[i] = math.NaN()
		}
		opt = stringTypes(opt, objectCol)
	} else {
		t.IDs = make([]int32, len(c.Objects))
		for i := range t.IDs {
			t.IDs[i] = -1
		}
		opt = stringTypes(opt, objectCol, valueCol)
	}
	valIdx := map[string]int32{}
	for i, v := range c.Values {
		valIdx[v] = int32(i)
	}
	var row int64
	err := readColumns(path, opt, []string{objectCol, valueCol}, nil, func(rec arrow.RecordBatch, idx []int) error {
		oc, vc := rec.Column(idx[0]), rec.Column(idx[1])
		for i := 0; i < int(rec.NumRows()); i++ {
			row++
			if oc.IsNull(i) || vc.IsNull(i) {
				return fmt.Errorf("fuse: %s: row %d: empty object or value", path, row)
			}
			o, ok := objIdx[data.FormatValue(oc, i)]
			if !ok {
				t.Missing++
				continue
			}
			t.Known++
			if c.Numeric {
				v, err := number(vc, i)
				if err != nil {
					return fmt.Errorf("fuse: %s: row %d, column %s: %w", path, row, valueCol, err)
				}
				t.Num[o] = v
				continue
			}
			if v, ok := valIdx[data.FormatValue(vc, i)]; ok {
				t.IDs[o] = v
			} else {
				t.IDs[o] = -2
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if t.Known == 0 {
		return nil, fmt.Errorf("fuse: %s: no truth row names an object of the claims", path)
	}
	return t, nil
}

// Split marks, per object with a truth, whether it is used for training
// (a seeded hash of the object name below fraction) or held out; the
// held-out ones score the fusion.
func (t *Truth) Split(c *Claims, fraction float64, seed uint64) (train []int32, eval []bool) {
	n := len(c.Objects)
	train = make([]int32, n)
	eval = make([]bool, n)
	h := fnv.New64a()
	for o := 0; o < n; o++ {
		train[o] = -1
		known := (t.IDs != nil && t.IDs[o] != -1) || (t.Num != nil && !math.IsNaN(t.Num[o]))
		if !known {
			continue
		}
		h.Reset()
		var sb [8]byte
		for i := range sb {
			sb[i] = byte(seed >> (8 * i))
		}
		h.Write(sb[:])
		h.Write([]byte(c.Objects[o]))
		u := float64(mix64(h.Sum64())>>11) / (1 << 53)
		if u < fraction {
			if t.IDs != nil && t.IDs[o] >= 0 {
				train[o] = t.IDs[o]
			}
			continue
		}
		eval[o] = true
	}
	return train, eval
}

// ReadFeatures reads per-source features: the source column plus every
// other column (or the named ones). String columns are one-hot encoded
// (col=value), numeric ones standardised; a source without a row gets
// zeros (the average). Sources that make no claim are ignored.
func ReadFeatures(path string, opt data.Options, sourceCol string, use []string, c *Claims) (*Features, int, error) {
	opt = stringTypes(opt, sourceCol)
	rr, err := data.Open(path, opt)
	if err != nil {
		return nil, 0, fmt.Errorf("fuse: %w", err)
	}
	sch := rr.Schema()
	rr.Close()
	cols := []string{sourceCol}
	if use == nil {
		for _, f := range sch.Fields() {
			if f.Name != sourceCol {
				cols = append(cols, f.Name)
			}
		}
	} else {
		cols = append(cols, use...)
	}
	if len(cols) == 1 {
		return nil, 0, fmt.Errorf("fuse: %s has no feature columns beside %s", path, sourceCol)
	}
	srcIdx := make(map[string]int, len(c.Sources))
	for i, s := range c.Sources {
		srcIdx[s] = i
	}
	m := len(c.Sources)
	type colData struct {
		name    string
		numeric bool
		num     []float64
		has     []bool
		cat     []string
	}
	cd := make([]*colData, len(cols)-1)
	for i := range cd {
		cd[i] = &colData{name: cols[i+1], num: make([]float64, m), has: make([]bool, m), cat: make([]string, m)}
		f, _ := sch.FieldsByName(cols[i+1])
		if len(f) > 0 {
			switch f[0].Type.ID() {
			case arrow.FLOAT64, arrow.INT64, arrow.FLOAT32, arrow.INT32, arrow.BOOL:
				cd[i].numeric = true
			}
		}
	}
	matched := 0
	var row int64
	err = readColumns(path, opt, cols, nil, func(rec arrow.RecordBatch, idx []int) error {
		sc := rec.Column(idx[0])
		for i := 0; i < int(rec.NumRows()); i++ {
			row++
			if sc.IsNull(i) {
				return fmt.Errorf("fuse: %s: row %d: empty %s", path, row, sourceCol)
			}
			s, ok := srcIdx[data.FormatValue(sc, i)]
			if !ok {
				continue
			}
			matched++
			for q, d := range cd {
				a := rec.Column(idx[q+1])
				if a.IsNull(i) {
					continue
				}
				d.has[s] = true
				if d.numeric {
					if b, ok := a.(*array.Boolean); ok {
						if b.Value(i) {
							d.num[s] = 1
						}
						continue
					}
					v, err := number(a, i)
					if err != nil {
						return fmt.Errorf("fuse: %s: row %d, column %s: %w", path, row, d.name, err)
					}
					d.num[s] = v
				} else {
					d.cat[s] = data.FormatValue(a, i)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	// Encode.
	var names []string
	type enc struct {
		col       *colData
		level     string
		mean, std float64
	}
	var encs []enc
	for _, d := range cd {
		if d.numeric {
			var s, ss, n float64
			for i := range d.num {
				if d.has[i] {
					s += d.num[i]
					ss += d.num[i] * d.num[i]
					n++
				}
			}
			if n == 0 {
				continue
			}
			mean := s / n
			std := math.Sqrt(max(ss/n-mean*mean, 0))
			if std == 0 {
				continue // constant: carries nothing beside the intercept
			}
			names = append(names, d.name)
			encs = append(encs, enc{col: d, mean: mean, std: std})
			continue
		}
		levels := map[string]bool{}
		for i, v := range d.cat {
			if d.has[i] {
				levels[v] = true
			}
		}
		ls := make([]string, 0, len(levels))
		for l := range levels {
			ls = append(ls, l)
		}
		sort.Strings(ls)
		if len(ls) > 10000 {
			return nil, 0, fmt.Errorf("fuse: %s: column %s has %d distinct values; a feature column may have at most 10,000 (per-source ids need no feature: SLiMFast fits one offset per source)", path, d.name, len(ls))
		}
		for _, l := range ls {
			names = append(names, d.name+"="+l)
			encs = append(encs, enc{col: d, level: l})
		}
	}
	if len(encs) == 0 {
		return nil, 0, fmt.Errorf("fuse: %s: no feature column varies across the sources", path)
	}
	D := len(encs)
	f := &Features{Names: names, D: D, X: make([]float64, m*D)}
	for s := 0; s < m; s++ {
		for j, e := range encs {
			if !e.col.has[s] {
				continue
			}
			if e.col.numeric {
				f.X[s*D+j] = (e.col.num[s] - e.mean) / e.std
			} else if e.col.cat[s] == e.level {
				f.X[s*D+j] = 1
			}
		}
	}
	return f, matched, nil
}

// WriteTruths writes one row per object: the object column under
// objectCol, then value, confidence and (categorical) prob_<value>.
func (r *Result) WriteTruths(path, objectCol string) error {
	c := r.Claims
	fields := []arrow.Field{{Name: objectCol, Type: arrow.BinaryTypes.String}}
	if c.Numeric {
		fields = append(fields, arrow.Field{Name: "value", Type: arrow.PrimitiveTypes.Float64})
	} else {
		fields = append(fields, arrow.Field{Name: "value", Type: arrow.BinaryTypes.String})
	}
	fields = append(fields, arrow.Field{Name: "confidence", Type: arrow.PrimitiveTypes.Float64})
	if !c.Numeric {
		for _, v := range c.Values {
			name := "prob_" + v
			if slices.ContainsFunc(fields, func(f arrow.Field) bool { return f.Name == name }) {
				return fmt.Errorf("fuse: output column %q would appear twice", name)
			}
			fields = append(fields, arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Float64})
		}
	}
	if slices.ContainsFunc(fields[1:], func(f arrow.Field) bool { return f.Name == objectCol }) {
		return fmt.Errorf("fuse: the object column %q clashes with an output column; rename it", objectCol)
	}
	sch := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sch)
	defer b.Release()
	k := c.K()
	for o, name := range c.Objects {
		b.Field(0).(*array.StringBuilder).Append(name)
		if c.Numeric {
			b.Field(1).(*array.Float64Builder).Append(r.Truth[o])
		} else {
			b.Field(1).(*array.StringBuilder).Append(c.Values[r.Value[o]])
		}
		b.Field(2).(*array.Float64Builder).Append(r.Confidence[o])
		for y := 0; y < k && !c.Numeric; y++ {
			b.Field(3 + y).(*array.Float64Builder).Append(r.Post[o*k+y])
		}
	}
	return writeRecord(path, sch, b)
}

// WriteSources writes Sources() as a table.
func (r *Result) WriteSources(path, sourceCol string) error {
	reps := r.Sources()
	numeric := r.Claims.Numeric
	fields := []arrow.Field{{Name: sourceCol, Type: arrow.BinaryTypes.String},
		{Name: "rank", Type: arrow.PrimitiveTypes.Int64}, {Name: "claims", Type: arrow.PrimitiveTypes.Int64}}
	if numeric {
		fields = append(fields, arrow.Field{Name: "weight", Type: arrow.PrimitiveTypes.Float64},
			arrow.Field{Name: "mean_abs_error", Type: arrow.PrimitiveTypes.Float64})
	} else {
		fields = append(fields, arrow.Field{Name: "accuracy", Type: arrow.PrimitiveTypes.Float64},
			arrow.Field{Name: "ci_low", Type: arrow.PrimitiveTypes.Float64},
			arrow.Field{Name: "ci_high", Type: arrow.PrimitiveTypes.Float64},
			arrow.Field{Name: "disagreements", Type: arrow.PrimitiveTypes.Int64},
			arrow.Field{Name: "changes_if_removed", Type: arrow.PrimitiveTypes.Int64})
	}
	sch := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sch)
	defer b.Release()
	for _, s := range reps {
		b.Field(0).(*array.StringBuilder).Append(s.Source)
		b.Field(1).(*array.Int64Builder).Append(int64(s.Rank))
		b.Field(2).(*array.Int64Builder).Append(int64(s.Claims))
		b.Field(3).(*array.Float64Builder).Append(s.Accuracy)
		if numeric {
			b.Field(4).(*array.Float64Builder).Append(s.Error)
			continue
		}
		b.Field(4).(*array.Float64Builder).Append(s.Low)
		b.Field(5).(*array.Float64Builder).Append(s.High)
		b.Field(6).(*array.Int64Builder).Append(int64(s.Disagreements))
		b.Field(7).(*array.Int64Builder).Append(int64(s.Changes))
	}
	return writeRecord(path, sch, b)
}

func writeRecord(path string, sch *arrow.Schema, b *array.RecordBuilder) error {
	rec := b.NewRecordBatch()
	defer rec.Release()
	w, err := data.Create(path, sch, data.WriteOptions{})
	if err != nil {
		return fmt.Errorf("fuse: %w", err)
	}
	if err := w.Write(rec); err != nil {
		w.Abort()
		return fmt.Errorf("fuse: write %s: %w", path, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("fuse: write %s: %w", path, err)
	}
	return nil
}

// mix64 is splitmix64's finaliser: FNV's high bits alone mix poorly for
// short, similar names.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
