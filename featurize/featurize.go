package featurize

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sort"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// DefaultBits is the default hash space, 2^18 buckets (scikit-learn's
// HashingVectorizer uses 2^20; 2^18 keeps small models small).
const DefaultBits = 18

// Text configures one text column.
type Text struct {
	Column string `json:"column" yaml:"column"`
	// Words is the largest word n-gram (1 = unigrams); 0 disables words.
	Words int `json:"words" yaml:"words"`
	// CharMin..CharMax are character n-gram lengths; 0 disables them.
	CharMin int `json:"char_min,omitempty" yaml:"char_min"`
	CharMax int `json:"char_max,omitempty" yaml:"char_max"`
	// Lower folds case before hashing.
	Lower bool `json:"lower" yaml:"lower"`
	// TFIDF weights counts by smoothed inverse document frequency and
	// L2-normalizes the column's features.
	TFIDF bool `json:"tfidf" yaml:"tfidf"`
}

// Categorical configures one categorical column.
type Categorical struct {
	Column string `json:"column" yaml:"column"`
	// Hashed hashes "column=value" into the shared hash space instead of
	// one-hot encoding over the training vocabulary.
	Hashed bool `json:"hashed" yaml:"hashed"`
}

// Config says which columns become which features.
type Config struct {
	Text        []Text        `json:"text,omitempty" yaml:"text"`
	Numeric     []string      `json:"numeric,omitempty" yaml:"numeric"`
	Categorical []Categorical `json:"categorical,omitempty" yaml:"categorical"`
	// Bits sets the hash space to 2^Bits buckets (DefaultBits when 0).
	Bits int `json:"bits" yaml:"bits"`
}

// Featurizer is a fitted Config. It is safe for concurrent use.
type Featurizer struct {
	Config Config `json:"config"`
	// Rows is the number of training rows it was fitted on.
	Rows int `json:"rows"`
	// Mean and Std of each numeric column (Std 1 for a constant column).
	Mean []float64 `json:"mean,omitempty"`
	Std  []float64 `json:"std,omitempty"`
	// Vocab holds each one-hot categorical column's values, sorted (nil for
	// hashed columns).
	Vocab [][]string `json:"vocab,omitempty"`
	// IDF per text column with TFIDF: the buckets seen in training and
	// their idf; other buckets get DefaultIDF.
	IDF []*IDF `json:"idf,omitempty"`

	hashDim int
	numOff  int
	catOff  []int
	vocab   []map[string]int32
	idf     [][]float32 // dense, per text column; nil without TF-IDF
	dim     int
}

// IDF is a sparse idf table.
type IDF struct {
	Default float32   `json:"default"`
	Bucket  []int32   `json:"bucket"`
	Value   []float32 `json:"value"`
}

// Dim is the length of the feature vectors.
func (f *Featurizer) Dim() int { return f.dim }

// Inputs lists the columns the featurizer reads with the MLflow type each
// should have.
func (f *Featurizer) Inputs() [][2]string {
	var out [][2]string
	for _, t := range f.Config.Text {
		out = append(out, [2]string{t.Column, "string"})
	}
	for _, n := range f.Config.Numeric {
		out = append(out, [2]string{n, "double"})
	}
	for _, c := range f.Config.Categorical {
		out = append(out, [2]string{c.Column, "string"})
	}
	return out
}

func (c *Config) validate() error {
	if c.Bits == 0 {
		c.Bits = DefaultBits
	}
	if c.Bits < 4 || c.Bits > 24 {
		return fmt.Errorf("featurize: bits = %d; want 4..24", c.Bits)
	}
	if len(c.Text)+len(c.Numeric)+len(c.Categorical) == 0 {
		return errors.New("featurize: no feature columns configured; name at least one text, numeric or categorical column")
	}
	seen := map[string]bool{}
	check := func(name string) error {
		if name == "" {
			return errors.New("featurize: a feature column has an empty name")
		}
		if seen[name] {
			return fmt.Errorf("featurize: column %q is configured twice", name)
		}
		seen[name] = true
		return nil
	}
	for _, t := range c.Text {
		if err := check(t.Column); err != nil {
			return err
		}
		if t.Words < 0 || t.Words > 8 || t.CharMin < 0 || t.CharMax < t.CharMin || t.CharMax > 12 || (t.Words == 0 && t.CharMax == 0) {
			return fmt.Errorf("featurize: text column %q: words %d, chars %d..%d; want words 0..8 and chars 0..12 with at least one enabled", t.Column, t.Words, t.CharMin, t.CharMax)
		}
		if t.CharMax > 0 && t.CharMin == 0 {
			return fmt.Errorf("featurize: text column %q: char_max %d needs char_min ≥ 1", t.Column, t.CharMax)
		}
	}
	for _, n := range c.Numeric {
		if err := check(n); err != nil {
			return err
		}
	}
	for _, k := range c.Categorical {
		if err := check(k.Column); err != nil {
			return err
		}
	}
	return nil
}

// init derives the lookup structures from the exported fields (after Fit or
// after decoding a saved featurizer).
func (f *Featurizer) init() error {
	if err := f.Config.validate(); err != nil {
		return err
	}
	c := &f.Config
	f.hashDim = 1 << c.Bits
	f.numOff = f.hashDim
	if len(f.Mean) != len(c.Numeric) || len(f.Std) != len(c.Numeric) {
		return fmt.Errorf("featurize: %d numeric columns but %d means and %d stds", len(c.Numeric), len(f.Mean), len(f.Std))
	}
	if len(f.Vocab) != len(c.Categorical) {
		return fmt.Errorf("featurize: %d categorical columns but %d vocabularies", len(c.Categorical), len(f.Vocab))
	}
	off := f.numOff + len(c.Numeric)
	f.catOff = make([]int, len(c.Categorical))
	f.vocab = make([]map[string]int32, len(c.Categorical))
	for i, k := range c.Categorical {
		f.catOff[i] = off
		if k.Hashed {
			continue
		}
		m := make(map[string]int32, len(f.Vocab[i]))
		for j, v := range f.Vocab[i] {
			m[v] = int32(j)
		}
		f.vocab[i] = m
		off += len(f.Vocab[i])
	}
	f.dim = off
	if len(f.IDF) != len(c.Text) {
		return fmt.Errorf("featurize: %d text columns but %d idf tables", len(c.Text), len(f.IDF))
	}
	f.idf = make([][]float32, len(c.Text))
	for i, t := range c.Text {
		tab := f.IDF[i]
		if !t.TFIDF {
			continue
		}
		if tab == nil || len(tab.Bucket) != len(tab.Value) {
			return fmt.Errorf("featurize: text column %q has TF-IDF but no valid idf table", t.Column)
		}
		d := make([]float32, f.hashDim)
		for j := range d {
			d[j] = tab.Default
		}
		for j, b := range tab.Bucket {
			if b < 0 || int(b) >= f.hashDim {
				return fmt.Errorf("featurize: text column %q: idf bucket %d outside 0..%d", t.Column, b, f.hashDim-1)
			}
			d[b] = tab.Value[j]
		}
		f.idf[i] = d
	}
	return nil
}

// Fit learns the statistics cfg needs (numeric mean and deviation,
// categorical vocabularies, document frequencies) from the training batches.
func Fit(cfg Config, recs []arrow.RecordBatch) (*Featurizer, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	f := &Featurizer{Config: cfg}
	nNum := len(cfg.Numeric)
	sum, sumSq, cnt := make([]float64, nNum), make([]float64, nNum), make([]float64, nNum)
	vocab := make([]map[string]bool, len(cfg.Categorical))
	for i := range vocab {
		vocab[i] = map[string]bool{}
	}
	hashDim := 1 << cfg.Bits
	df := make([][]int32, len(cfg.Text))
	for i, t := range cfg.Text {
		if t.TFIDF {
			df[i] = make([]int32, hashDim)
		}
	}
	var sc scratch
	row := 0
	for _, rec := range recs {
		b, err := f.bind(rec)
		if err != nil {
			return nil, err
		}
		for r := 0; r < int(rec.NumRows()); r++ {
			for i := range cfg.Numeric {
				v, ok, err := b.numeric(i, r)
				if err != nil {
					return nil, rowErr(row+1, cfg.Numeric[i], err)
				}
				if ok {
					// Shifted sums keep the variance accurate when the
					// mean is large compared to the spread.
					sum[i] += v
					sumSq[i] += v * v
					cnt[i]++
				}
			}
			for i := range cfg.Categorical {
				if cfg.Categorical[i].Hashed {
					continue
				}
				if s, ok := b.category(i, r, &sc); ok {
					if !vocab[i][string(s)] {
						vocab[i][string(s)] = true
					}
				}
			}
			for i, t := range cfg.Text {
				if !t.TFIDF {
					continue
				}
				sc.idx = sc.idx[:0]
				sc.hashText(&t, uint64(i), b.text(i, r), hashDim)
				slices.Sort(sc.idx)
				prev := int32(-1)
				for _, j := range sc.idx {
					if j != prev {
						df[i][j]++
						prev = j
					}
				}
			}
			row++
		}
	}
	f.Rows = row
	f.Mean, f.Std = make([]float64, nNum), make([]float64, nNum)
	for i := range cfg.Numeric {
		if cnt[i] == 0 {
			f.Std[i] = 1
			continue
		}
		m := sum[i] / cnt[i]
		v := sumSq[i]/cnt[i] - m*m
		f.Mean[i] = m
		f.Std[i] = 1
		if v > 1e-24*math.Max(1, m*m) {
			f.Std[i] = math.Sqrt(v)
		}
	}
	f.Vocab = make([][]string, len(cfg.Categorical))
	for i, k := range cfg.Categorical {
		if k.Hashed {
			f.Vocab[i] = []string{}
			continue
		}
		vs := make([]string, 0, len(vocab[i]))
		for v := range vocab[i] {
			vs = append(vs, v)
		}
		sort.Strings(vs)
		f.Vocab[i] = vs
	}
	f.IDF = make([]*IDF, len(cfg.Text))
	n := float64(row)
	for i, t := range cfg.Text {
		if !t.TFIDF {
			continue
		}
		tab := &IDF{Default: float32(math.Log((1+n)/1) + 1)}
		for j, d := range df[i] {
			if d > 0 {
				tab.Bucket = append(tab.Bucket, int32(j))
				tab.Value = append(tab.Value, float32(math.Log((1+n)/(1+float64(d)))+1))
			}
		}
		f.IDF[i] = tab
	}
	if err := f.init(); err != nil {
		return nil, err
	}
	return f, nil
}

// Ready prepares a decoded featurizer (e.g. from JSON) for use.
func (f *Featurizer) Ready() error { return f.init() }

// Error is a bad value in the input, naming its row (1-based within the
// data passed in) and column.
type Error struct {
	Row    int
	Column string
	Err    error
}

func (e *Error) Error() string {
	if e.Row > 0 {
		return fmt.Sprintf("featurize: row %d, column %q: %v", e.Row, e.Column, e.Err)
	}
	return fmt.Sprintf("featurize: column %q: %v", e.Column, e.Err)
}
func (e *Error) Unwrap() error { return e.Err }

// ErrNaN reports a NaN or infinite numeric feature.
var ErrNaN = errors.New("value is NaN or infinite; fix or drop the row")

func rowErr(row int, col string, err error) error { return &Error{Row: row, Column: col, Err: err} }

// bound holds one batch's columns in config order.
type bound struct {
	texts []textCol
	num   []arrow.Array
	cat   []arrow.Array
}

type textCol struct {
	s  *array.String
	ls *array.LargeString
}

func (b *bound) text(i, r int) string {
	c := b.texts[i]
	switch {
	case c.s != nil:
		if c.s.IsNull(r) {
			return ""
		}
		return c.s.Value(r)
	case c.ls != nil:
		if c.ls.IsNull(r) {
			return ""
		}
		return c.ls.Value(r)
	}
	return ""
}

func (b *bound) numeric(i, r int) (float64, bool, error) {
	a := b.num[i]
	if a.IsNull(r) {
		return 0, false, nil
	}
	var v float64
	switch c := a.(type) {
	case *array.Float64:
		v = c.Value(r)
	case *array.Float32:
		v = float64(c.Value(r))
	case *array.Int64:
		v = float64(c.Value(r))
	case *array.Int32:
		v = float64(c.Value(r))
	case *array.Boolean:
		if c.Value(r) {
			v = 1
		}
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false, ErrNaN
	}
	return v, true, nil
}

// category returns the row's value as bytes in sc's buffer (no allocation
// for strings or integers).
func (b *bound) category(i, r int, sc *scratch) ([]byte, bool) {
	a := b.cat[i]
	if a.IsNull(r) {
		return nil, false
	}
	sc.cat = sc.cat[:0]
	switch c := a.(type) {
	case *array.String:
		sc.cat = append(sc.cat, c.Value(r)...)
	case *array.LargeString:
		sc.cat = append(sc.cat, c.Value(r)...)
	case *array.Int64:
		sc.cat = strconv.AppendInt(sc.cat, c.Value(r), 10)
	case *array.Int32:
		sc.cat = strconv.AppendInt(sc.cat, int64(c.Value(r)), 10)
	case *array.Boolean:
		sc.cat = strconv.AppendBool(sc.cat, c.Value(r))
	case *array.Float64:
		sc.cat = strconv.AppendFloat(sc.cat, c.Value(r), 'g', -1, 64)
	default:
		return nil, false
	}
	return sc.cat, true
}

func (f *Featurizer) bind(rec arrow.RecordBatch) (*bound, error) {
	b := &bound{}
	return b, f.bindTo(b, rec)
}

// bindTo fills b with rec's columns, reusing b's slices (Transform binds
// into its scratch, allocating nothing per call).
func (f *Featurizer) bindTo(b *bound, rec arrow.RecordBatch) error {
	b.texts, b.num, b.cat = b.texts[:0], b.num[:0], b.cat[:0]
	sch := rec.Schema()
	col := func(name string) (arrow.Array, error) {
		// The first column of that name, as FieldIndices(name)[0], which
		// allocates.
		for i := range sch.NumFields() {
			if sch.Field(i).Name == name {
				return rec.Column(i), nil
			}
		}
		names := make([]string, sch.NumFields())
		for i := range names {
			names[i] = sch.Field(i).Name
		}
		return nil, &Error{Column: name, Err: fmt.Errorf("no such column in the input (it has %v)", names)}
	}
	for _, t := range f.Config.Text {
		a, err := col(t.Column)
		if err != nil {
			return err
		}
		var tc textCol
		switch c := a.(type) {
		case *array.String:
			tc.s = c
		case *array.LargeString:
			tc.ls = c
		default:
			return &Error{Column: t.Column, Err: fmt.Errorf("text features need a string column, not %s", a.DataType())}
		}
		b.texts = append(b.texts, tc)
	}
	for _, n := range f.Config.Numeric {
		a, err := col(n)
		if err != nil {
			return err
		}
		switch a.DataType().ID() {
		case arrow.FLOAT64, arrow.FLOAT32, arrow.INT64, arrow.INT32, arrow.BOOL:
		default:
			return &Error{Column: n, Err: fmt.Errorf("numeric features need a number column, not %s", a.DataType())}
		}
		b.num = append(b.num, a)
	}
	for _, k := range f.Config.Categorical {
		a, err := col(k.Column)
		if err != nil {
			return err
		}
		switch a.DataType().ID() {
		case arrow.STRING, arrow.LARGE_STRING, arrow.INT64, arrow.INT32, arrow.BOOL, arrow.FLOAT64:
		default:
			return &Error{Column: k.Column, Err: fmt.Errorf("categorical features need a string, integer or boolean column, not %s", a.DataType())}
		}
		b.cat = append(b.cat, a)
	}
	return nil
}

// Matrix is a CSR sparse matrix of feature rows.
type Matrix struct {
	Dim    int
	RowPtr []int64 // len Rows()+1
	Idx    []int32
	Val    []float32
	sc     scratch
}

// NewMatrix returns an empty matrix of width dim.
func NewMatrix(dim int) *Matrix { return &Matrix{Dim: dim, RowPtr: []int64{0}} }

// Rows is the number of rows.
func (m *Matrix) Rows() int { return len(m.RowPtr) - 1 }

// Row returns row i's indices and values (aliasing the matrix).
func (m *Matrix) Row(i int) ([]int32, []float32) {
	a, b := m.RowPtr[i], m.RowPtr[i+1]
	return m.Idx[a:b], m.Val[a:b]
}

// Reset empties the matrix, keeping its buffers.
func (m *Matrix) Reset() {
	m.RowPtr = append(m.RowPtr[:0], 0)
	m.Idx, m.Val = m.Idx[:0], m.Val[:0]
}

// Subset returns a new matrix holding the given rows in order.
func (m *Matrix) Subset(rows []int) *Matrix {
	out := NewMatrix(m.Dim)
	for _, r := range rows {
		idx, val := m.Row(r)
		out.Idx = append(out.Idx, idx...)
		out.Val = append(out.Val, val...)
		out.RowPtr = append(out.RowPtr, int64(len(out.Idx)))
	}
	return out
}

// Transform appends the feature vectors of rec's rows to dst. Each row's
// indices are sorted and unique. Errors name the row within rec.
func (f *Featurizer) Transform(rec arrow.RecordBatch, dst *Matrix) error {
	if dst.Dim != f.dim {
		return fmt.Errorf("featurize: matrix width %d, featurizer width %d", dst.Dim, f.dim)
	}
	sc := &dst.sc
	b := &sc.bound
	// Let go of rec's columns when done: the scratch outlives the call.
	defer func() { clear(b.texts); clear(b.num); clear(b.cat) }()
	if err := f.bindTo(b, rec); err != nil {
		return err
	}
	n := int(rec.NumRows())
	for r := 0; r < n; r++ {
		start := len(dst.Idx)
		for i := range f.Config.Text {
			t := &f.Config.Text[i]
			sc.idx = sc.idx[:0]
			sc.hashText(t, uint64(i), b.text(i, r), f.hashDim)
			dst.Idx, dst.Val = sc.appendCounts(dst.Idx, dst.Val, sc.idx, f.hashDim)
			if t.TFIDF {
				seg := dst.Val[start:]
				var norm float64
				for k, j := range dst.Idx[start:] {
					seg[k] *= f.idf[i][j]
					norm += float64(seg[k]) * float64(seg[k])
				}
				if norm > 0 {
					inv := float32(1 / math.Sqrt(norm))
					for k := range seg {
						seg[k] *= inv
					}
				}
			}
			start = len(dst.Idx)
		}
		for i := range f.Config.Categorical {
			if !f.Config.Categorical[i].Hashed {
				continue
			}
			s, ok := b.category(i, r, sc)
			if !ok {
				continue
			}
			h := fnvSeed(uint64(1000 + i))
			for _, c := range s {
				h = (h ^ uint64(c)) * fnvPrime
			}
			sc.idx = append(sc.idx[:0], bucket(h, f.hashDim))
			dst.Idx, dst.Val = sc.appendCounts(dst.Idx, dst.Val, sc.idx, f.hashDim)
		}
		// Several text/hashed columns share the hash space: merge them.
		rowStart := int(dst.RowPtr[len(dst.RowPtr)-1])
		mergeDup(dst, rowStart)
		for i := range f.Config.Numeric {
			v, ok, err := b.numeric(i, r)
			if err != nil {
				dst.Idx, dst.Val = dst.Idx[:rowStart], dst.Val[:rowStart]
				return rowErr(r+1, f.Config.Numeric[i], err)
			}
			if !ok {
				continue // missing: the training mean, i.e. 0
			}
			z := (v - f.Mean[i]) / f.Std[i]
			if z != 0 {
				dst.Idx = append(dst.Idx, int32(f.numOff+i))
				dst.Val = append(dst.Val, float32(z))
			}
		}
		for i := range f.Config.Categorical {
			if f.Config.Categorical[i].Hashed {
				continue
			}
			s, ok := b.category(i, r, sc)
			if !ok {
				continue
			}
			if j, ok := f.vocab[i][string(s)]; ok { // no allocation: map lookup by converted []byte
				dst.Idx = append(dst.Idx, int32(f.catOff[i])+j)
				dst.Val = append(dst.Val, 1)
			}
		}
		dst.RowPtr = append(dst.RowPtr, int64(len(dst.Idx)))
	}
	return nil
}

// appendCounts sorts idx (indices below dim, a power of two) and appends
// each distinct index with its count.
func (sc *scratch) appendCounts(dIdx []int32, dVal []float32, idx []int32, dim int) ([]int32, []float32) {
	if len(idx) == 0 {
		return dIdx, dVal
	}
	idx = sc.sortIdx(idx, dim)
	cur, cnt := idx[0], float32(1)
	for _, j := range idx[1:] {
		if j == cur {
			cnt++
			continue
		}
		dIdx, dVal = append(dIdx, cur), append(dVal, cnt)
		cur, cnt = j, 1
	}
	return append(dIdx, cur), append(dVal, cnt)
}

// Sorting the indices of a row is a third of Transform's time. They are
// hashes, uniformly spread over [0, dim): short lists are sorted by
// insertion; longer ones are first distributed into about one bucket per
// index by their top bits (a counting sort), which leaves only neighbours
// within a bucket out of order for the insertion sort to fix, so the whole
// sort takes time linear in the length (BenchmarkSortIdx).
const (
	insertionMax = 40      // longest list sorted by insertion alone
	bucketMax    = 1 << 14 // longest list bucketed; longer ones use slices.Sort
)

// sortIdx sorts idx, which holds indices below dim (a power of two), and
// returns the sorted list: idx itself or sc's buffer.
func (sc *scratch) sortIdx(idx []int32, dim int) []int32 {
	n := len(idx)
	if n <= insertionMax {
		insertionSort(idx)
		return idx
	}
	if n > bucketMax {
		slices.Sort(idx)
		return idx
	}
	dimBits := bits.Len(uint(dim - 1))
	k := min(bits.Len(uint(n)), dimBits) // about one bucket per index
	shift := uint(dimBits - k)
	cnt := sc.counts[:0]
	cnt = slices.Grow(cnt, 1<<k+1)[:1<<k+1]
	clear(cnt)
	for _, j := range idx {
		cnt[int(uint32(j)>>shift)+1]++
	}
	for b := 1; b < len(cnt); b++ {
		cnt[b] += cnt[b-1]
	}
	out := slices.Grow(sc.sorted[:0], n)[:n]
	for _, j := range idx {
		b := uint32(j) >> shift
		out[cnt[b]] = j
		cnt[b]++
	}
	insertionSort(out)
	sc.counts, sc.sorted = cnt, out
	return out
}

func insertionSort(idx []int32) {
	for i := 1; i < len(idx); i++ {
		v := idx[i]
		j := i
		for ; j > 0 && idx[j-1] > v; j-- {
			idx[j] = idx[j-1]
		}
		idx[j] = v
	}
}

// mergeDup sorts the hashed part of the last row (from start) by index and
// sums duplicate indices, in place. Rows with one text column are already
// sorted and unique, so this is a single scan for them.
func mergeDup(m *Matrix, start int) {
	idx, val := m.Idx[start:], m.Val[start:]
	sorted := true
	for k := 1; k < len(idx); k++ {
		if idx[k] <= idx[k-1] {
			sorted = false
			break
		}
	}
	if sorted {
		return
	}
	sort.Sort(pairs{idx, val})
	w := 0
	for k := 0; k < len(idx); k++ {
		if w > 0 && idx[w-1] == idx[k] {
			val[w-1] += val[k]
			continue
		}
		idx[w], val[w] = idx[k], val[k]
		w++
	}
	m.Idx, m.Val = m.Idx[:start+w], m.Val[:start+w]
}

type pairs struct {
	i []int32
	v []float32
}

func (p pairs) Len() int           { return len(p.i) }
func (p pairs) Less(a, b int) bool { return p.i[a] < p.i[b] }
func (p pairs) Swap(a, b int) {
	p.i[a], p.i[b] = p.i[b], p.i[a]
	p.v[a], p.v[b] = p.v[b], p.v[a]
}

// scratch is reusable per-goroutine working memory.
type scratch struct {
	bound  bound
	idx    []int32
	sorted []int32 // sortIdx's output for long lists
	counts []int32 // sortIdx's bucket offsets
	toks   []uint64
	runes  []rune
	cat    []byte
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvSeed(seed uint64) uint64 { return (fnvOffset ^ seed) * fnvPrime }

// mix is a 64-bit finalizer (SplitMix64's) so that bucket bits are well spread.
func mix(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

func bucket(h uint64, dim int) int32 { return int32(mix(h) & uint64(dim-1)) }

func isWord(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// asciiKey[lower][c] is what ASCII byte c adds to a word's hash: c, or
// unicode.ToLower(c) when lower is 1, for word characters (isWord's
// letters, digits and '_'), and 0 for the others, which end a word.
var asciiKey = func() (k [2][utf8.RuneSelf]byte) {
	for c := range utf8.RuneSelf {
		if isWord(rune(c)) {
			k[0][c] = byte(c)
			k[1][c] = byte(unicode.ToLower(rune(c)))
		}
	}
	return
}()

// hashText appends the bucket of every word n-gram and char n-gram of s.
// Words are runs of letters, digits and '_' of at least two characters (the
// token rule of scikit-learn's CountVectorizer). ASCII bytes take a table
// lookup; other runes the unicode package, with the same results.
func (sc *scratch) hashText(t *Text, col uint64, s string, dim int) {
	if t.Words > 0 {
		sc.toks = sc.toks[:0]
		h, n := uint64(0), 0
		seed := fnvSeed(col)
		key := &asciiKey[0]
		if t.Lower {
			key = &asciiKey[1]
		}
		for i := 0; i < len(s); {
			var r rune
			if c := s[i]; c < utf8.RuneSelf {
				i++
				if r = rune(key[c]); r == 0 {
					if n >= 2 {
						sc.toks = append(sc.toks, h)
					}
					n = 0
					continue
				}
			} else {
				var size int
				r, size = utf8.DecodeRuneInString(s[i:])
				i += size
				if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
					if n >= 2 {
						sc.toks = append(sc.toks, h)
					}
					n = 0
					continue
				}
				if t.Lower {
					r = unicode.ToLower(r)
				}
			}
			if n == 0 {
				h = seed
			}
			h = (h ^ uint64(r)) * fnvPrime
			n++
		}
		if n >= 2 {
			sc.toks = append(sc.toks, h)
		}
		for a := range sc.toks {
			g := uint64(0x9e3779b97f4a7c15) ^ col
			for k := 0; k < t.Words && a+k < len(sc.toks); k++ {
				g = (g ^ sc.toks[a+k]) * fnvPrime
				g = mix(g + uint64(k))
				sc.idx = append(sc.idx, bucket(g, dim))
			}
		}
	}
	if t.CharMax > 0 {
		sc.runes = sc.runes[:0]
		for _, r := range s {
			if t.Lower {
				if r < utf8.RuneSelf {
					if k := asciiKey[1][r]; k != 0 {
						r = rune(k) // letters; other ASCII is its own lower case
					}
				} else {
					r = unicode.ToLower(r)
				}
			}
			sc.runes = append(sc.runes, r)
		}
		for a := range sc.runes {
			g := fnvSeed(col ^ 0xc4a2)
			for k := 0; k < t.CharMax && a+k < len(sc.runes); k++ {
				g = (g ^ uint64(sc.runes[a+k])) * fnvPrime
				if k+1 >= t.CharMin {
					sc.idx = append(sc.idx, bucket(g+uint64(k)<<56, dim))
				}
			}
		}
	}
}
