package featurize

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/dawn-ml/dawn/internal/shareddata"
	"github.com/dawn-ml/dawn/internal/youtube"
)

// batch builds a record from named columns of []string, []float64 or []int64.
func batch(t testing.TB, cols ...any) arrow.RecordBatch {
	t.Helper()
	var fields []arrow.Field
	var arrs []arrow.Array
	for i := 0; i < len(cols); i += 2 {
		name := cols[i].(string)
		switch v := cols[i+1].(type) {
		case []string:
			b := array.NewStringBuilder(memory.DefaultAllocator)
			b.AppendValues(v, nil)
			arrs = append(arrs, b.NewArray())
			fields = append(fields, arrow.Field{Name: name, Type: arrow.BinaryTypes.String, Nullable: true})
		case []float64:
			b := array.NewFloat64Builder(memory.DefaultAllocator)
			b.AppendValues(v, nil)
			arrs = append(arrs, b.NewArray())
			fields = append(fields, arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Float64, Nullable: true})
		case []int64:
			b := array.NewInt64Builder(memory.DefaultAllocator)
			b.AppendValues(v, nil)
			arrs = append(arrs, b.NewArray())
			fields = append(fields, arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Int64, Nullable: true})
		default:
			t.Fatalf("batch: column %s: unsupported %T", name, v)
		}
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, int64(arrs[0].Len()))
}

func transform(t *testing.T, f *Featurizer, rec arrow.RecordBatch) *Matrix {
	t.Helper()
	m := NewMatrix(f.Dim())
	if err := f.Transform(rec, m); err != nil {
		t.Fatal(err)
	}
	return m
}

func vals(m *Matrix, r int) []float32 {
	_, v := m.Row(r)
	return append([]float32(nil), v...)
}

func sum(v []float32) (s float64) {
	for _, x := range v {
		s += float64(x)
	}
	return
}

func TestWordNgrams(t *testing.T) {
	cases := []struct {
		name  string
		text  Text
		in    string
		nnz   int
		total float64
	}{
		// check,out,check,out: unigrams check×2 out×2; bigrams "check out"×2, "out check"×1.
		{"bigrams lower", Text{Column: "t", Words: 2, Lower: true}, "Check out check OUT", 4, 7},
		// Without lower-casing Check/check and out/OUT differ: 4 unigrams, 3 bigrams.
		{"bigrams case", Text{Column: "t", Words: 2}, "Check out check OUT", 7, 7},
		// One-character tokens are not words (scikit-learn's token rule).
		{"short tokens", Text{Column: "t", Words: 1}, "a b cd e!", 1, 1},
		// Trigrams of 3 tokens: 3 + 2 + 1.
		{"trigrams", Text{Column: "t", Words: 3}, "xx yy zz", 6, 6},
		// Chars 1..2 of "abc": a b c ab bc.
		{"chars", Text{Column: "t", CharMin: 1, CharMax: 2}, "abc", 5, 5},
		{"chars repeat", Text{Column: "t", CharMin: 2, CharMax: 2}, "aaaa", 1, 3},
		{"empty", Text{Column: "t", Words: 2}, "", 0, 0},
		{"unicode", Text{Column: "t", Words: 1, Lower: true}, "Ünïcode ÜNÏCODE 日本", 2, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := batch(t, "t", []string{c.in})
			f, err := Fit(Config{Text: []Text{c.text}}, []arrow.RecordBatch{rec})
			if err != nil {
				t.Fatal(err)
			}
			m := transform(t, f, rec)
			idx, v := m.Row(0)
			if len(idx) != c.nnz || sum(v) != c.total {
				t.Errorf("nnz %d sum %v, want %d and %v (idx %v val %v)", len(idx), sum(v), c.nnz, c.total, idx, v)
			}
			for k := 1; k < len(idx); k++ {
				if idx[k] <= idx[k-1] {
					t.Errorf("indices not sorted and unique: %v", idx)
				}
			}
		})
	}
}

func TestTFIDF(t *testing.T) {
	rec := batch(t, "t", []string{"aa bb", "aa cc", "aa"})
	f, err := Fit(Config{Text: []Text{{Column: "t", Words: 1, TFIDF: true}}}, []arrow.RecordBatch{rec})
	if err != nil {
		t.Fatal(err)
	}
	m := transform(t, f, rec)
	// scikit-learn's smoothed idf: ln((1+n)/(1+df)) + 1, n = 3.
	idfAA := math.Log(4.0/4) + 1
	idfBB := math.Log(4.0/2) + 1
	norm := math.Hypot(idfAA, idfBB)
	got := vals(m, 0)
	want := []float64{idfAA / norm, idfBB / norm}
	if len(got) != 2 {
		t.Fatalf("row 0 = %v", got)
	}
	// The order of aa and bb depends on their buckets; compare as a set.
	if !(approx(got[0], want[0]) && approx(got[1], want[1]) || approx(got[0], want[1]) && approx(got[1], want[0])) {
		t.Errorf("row 0 = %v, want %v in some order", got, want)
	}
	if g := vals(m, 2); len(g) != 1 || !approx(g[0], 1) {
		t.Errorf("row 2 = %v, want [1]", g)
	}
	// An unseen word gets the default idf ln(4/1)+1; normalized alone it is 1.
	m2 := transform(t, f, batch(t, "t", []string{"zz"}))
	if g := vals(m2, 0); len(g) != 1 || !approx(g[0], 1) {
		t.Errorf("unseen = %v", g)
	}
}

func approx(a float32, b float64) bool { return math.Abs(float64(a)-b) < 1e-6 }

func TestNumericAndCategorical(t *testing.T) {
	rec := batch(t, "x", []float64{1, 2, 3}, "c", []string{"red", "blue", "red"}, "h", []int64{7, 8, 7})
	cfg := Config{Numeric: []string{"x"}, Categorical: []Categorical{{Column: "c"}, {Column: "h", Hashed: true}}, Bits: 8}
	f, err := Fit(cfg, []arrow.RecordBatch{rec})
	if err != nil {
		t.Fatal(err)
	}
	if f.Mean[0] != 2 || math.Abs(f.Std[0]-math.Sqrt(2.0/3)) > 1e-12 {
		t.Errorf("mean %v std %v", f.Mean, f.Std)
	}
	if strings.Join(f.Vocab[0], ",") != "blue,red" || f.Dim() != 256+1+2 {
		t.Errorf("vocab %v dim %d", f.Vocab, f.Dim())
	}
	m := transform(t, f, batch(t, "x", []float64{3, 2}, "c", []string{"blue", "green"}, "h", []int64{7, 7}))
	idx0, v0 := m.Row(0)
	// row 0: hashed h=7 (bucket < 256), x z-score, blue one-hot at 257.
	if len(idx0) != 3 || idx0[0] >= 256 || idx0[1] != 256 || !approx(v0[1], 1/math.Sqrt(2.0/3)) || idx0[2] != 257 || v0[2] != 1 {
		t.Errorf("row 0 = %v %v", idx0, v0)
	}
	idx1, _ := m.Row(1)
	// row 1: x at the mean is 0 (not stored), green unseen: only the hash.
	if len(idx1) != 1 || idx1[0] != idx0[0] {
		t.Errorf("row 1 = %v", idx1)
	}
}

func TestErrors(t *testing.T) {
	rec := batch(t, "x", []float64{1, math.NaN()}, "t", []string{"a", "b"})
	_, err := Fit(Config{Numeric: []string{"x"}}, []arrow.RecordBatch{rec})
	var fe *Error
	if !errors.As(err, &fe) || !errors.Is(err, ErrNaN) || fe.Row != 2 || fe.Column != "x" {
		t.Errorf("NaN in fit: %v", err)
	}
	good := batch(t, "x", []float64{1, 2})
	f, err := Fit(Config{Numeric: []string{"x"}}, []arrow.RecordBatch{good})
	if err != nil {
		t.Fatal(err)
	}
	m := NewMatrix(f.Dim())
	if err := f.Transform(rec, m); !errors.Is(err, ErrNaN) || !strings.Contains(err.Error(), `row 2, column "x"`) {
		t.Errorf("NaN in transform: %v", err)
	}
	if err := f.Transform(batch(t, "y", []float64{1}), m); err == nil || !strings.Contains(err.Error(), `column "x": no such column`) {
		t.Errorf("missing column: %v", err)
	}
	if _, err := Fit(Config{Text: []Text{{Column: "x", Words: 1}}}, []arrow.RecordBatch{good}); err == nil || !strings.Contains(err.Error(), "need a string column") {
		t.Errorf("text on numbers: %v", err)
	}
	for _, bad := range []Config{{}, {Text: []Text{{Column: "t"}}}, {Numeric: []string{"x", "x"}}, {Numeric: []string{"x"}, Bits: 40}} {
		if _, err := Fit(bad, []arrow.RecordBatch{rec}); err == nil {
			t.Errorf("Fit(%+v) succeeded", bad)
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	rec := batch(t, "t", []string{"Buy CHEAP stuff now", "nice song", "check my channel"}, "x", []float64{3, 1, 2}, "c", []string{"a", "b", "a"})
	cfg := Config{Text: []Text{{Column: "t", Words: 2, CharMin: 2, CharMax: 3, Lower: true, TFIDF: true}}, Numeric: []string{"x"}, Categorical: []Categorical{{Column: "c"}}, Bits: 12}
	f, err := Fit(cfg, []arrow.RecordBatch{rec})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var g Featurizer
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if err := g.Ready(); err != nil {
		t.Fatal(err)
	}
	m1, m2 := transform(t, f, rec), transform(t, &g, rec)
	if fmt.Sprint(m1.Idx, m1.Val, m1.RowPtr) != fmt.Sprint(m2.Idx, m2.Val, m2.RowPtr) {
		t.Error("decoded featurizer transforms differently")
	}
}

func TestTransformAllocs(t *testing.T) {
	texts := make([]string, 1000)
	for i := range texts {
		texts[i] = fmt.Sprintf("Check out my channel number %d for FREE stuff http://x.y/%d", i, i)
	}
	rec := batch(t, "t", texts)
	f, err := Fit(Config{Text: []Text{{Column: "t", Words: 2, Lower: true, TFIDF: true}}}, []arrow.RecordBatch{rec})
	if err != nil {
		t.Fatal(err)
	}
	m := NewMatrix(f.Dim())
	f.Transform(rec, m)
	allocs := testing.AllocsPerRun(5, func() {
		m.Reset()
		if err := f.Transform(rec, m); err != nil {
			t.Fatal(err)
		}
	})
	// The matrix's scratch holds the column binding and the index buffers:
	// once warm, a batch allocates nothing.
	if allocs > 0 {
		t.Errorf("%v allocations per 1000-row batch", allocs)
	}
}

func FuzzHashText(f *testing.F) {
	f.Add("Check out my channel!! http://x.y", 3, 2, 4, true)
	f.Add("", 1, 0, 0, false)
	f.Add("\xff\xfe broken utf8 Ü", 2, 1, 1, true)
	f.Fuzz(func(t *testing.T, s string, words, cmin, cmax int, lower bool) {
		tx := Text{Column: "t", Words: words, CharMin: cmin, CharMax: cmax, Lower: lower}
		cfg := Config{Text: []Text{tx}, Bits: 10}
		rec := batch(t, "t", []string{s})
		fz, err := Fit(cfg, []arrow.RecordBatch{rec})
		if err != nil {
			return // invalid config
		}
		m := NewMatrix(fz.Dim())
		if err := fz.Transform(rec, m); err != nil {
			t.Fatal(err)
		}
		idx, _ := m.Row(0)
		for _, j := range idx {
			if j < 0 || int(j) >= fz.Dim() {
				t.Fatalf("index %d outside 0..%d", j, fz.Dim())
			}
		}
	})
}

func BenchmarkTransform(b *testing.B) {
	texts := make([]string, 1024)
	for i := range texts {
		texts[i] = fmt.Sprintf("Hey guys check out my new channel %d, subscribe and win an iPhone http://bit.ly/%d", i, i*7)
	}
	benchTransform(b, batch(b, "t", texts), []benchText{
		{"words1-5", Text{Column: "t", Words: 5, Lower: true}},
		{"words1-2+tfidf", Text{Column: "t", Words: 2, Lower: true, TFIDF: true}},
		{"chars2-4", Text{Column: "t", CharMin: 2, CharMax: 4, Lower: true}},
	})
}

// FuzzFeaturizerJSON: a saved featurizer, however damaged, is refused or
// works; it never panics.
func FuzzFeaturizerJSON(f *testing.F) {
	f.Add([]byte(`{"config":{"text":[{"column":"t","words":2,"tfidf":true}],"bits":8},"rows":3,"idf":[{"default":1.5,"bucket":[3],"value":[1.2]}]}`))
	f.Add([]byte(`{"config":{"numeric":["x"],"categorical":[{"column":"c"}],"bits":6},"mean":[1],"std":[2],"vocab":[["a","b"]],"idf":[]}`))
	f.Add([]byte(`{"config":{"text":[{"column":"t","words":1}],"bits":8},"idf":[null]}`))
	rec := batch(f, "t", []string{"hello world hello"}, "x", []float64{3}, "c", []string{"b"})
	f.Fuzz(func(t *testing.T, b []byte) {
		var fz Featurizer
		if json.Unmarshal(b, &fz) != nil || fz.Ready() != nil {
			return
		}
		m := NewMatrix(fz.Dim())
		if fz.Transform(rec, m) != nil {
			return
		}
		idx, _ := m.Row(0)
		for _, j := range idx {
			if int(j) >= fz.Dim() || j < 0 {
				t.Fatalf("index %d outside %d", j, fz.Dim())
			}
		}
	})
}

// youtubeComments returns the tutorial training split's 1,586 comments (the
// text the serving benchmark's model sees), skipping without the data.
func youtubeComments(b *testing.B) []string {
	s, err := youtube.Load(shareddata.Require(b, "youtube_spam_uci"))
	if err != nil {
		b.Fatal(err)
	}
	col := slices.Index(youtube.Header, "CONTENT")
	texts := make([]string, len(s.Train))
	for i, r := range s.Train {
		texts[i] = r[col]
	}
	return texts
}

// BenchmarkTransformYouTube featurizes real YouTube comments (mean 91
// bytes, almost all ASCII with a trailing U+FEFF) with the configuration of
// `dawn train --text`'s default model: word 1-2-grams, lower-cased, 2^18
// buckets.
func BenchmarkTransformYouTube(b *testing.B) {
	texts := youtubeComments(b)
	benchTransform(b, batch(b, "t", texts), []benchText{
		{"words1-2", Text{Column: "t", Words: 2, Lower: true}},
		{"words1-2+tfidf", Text{Column: "t", Words: 2, Lower: true, TFIDF: true}},
		{"chars2-5", Text{Column: "t", CharMin: 2, CharMax: 5, Lower: true}},
	})
}

type benchText struct {
	name string
	t    Text
}

// benchTransform fits each text configuration on rec and times Transform
// over it, reporting rows per second.
func benchTransform(b *testing.B, rec arrow.RecordBatch, cfgs []benchText) {
	for _, cfg := range cfgs {
		b.Run(cfg.name, func(b *testing.B) {
			f, err := Fit(Config{Text: []Text{cfg.t}}, []arrow.RecordBatch{rec})
			if err != nil {
				b.Fatal(err)
			}
			m := NewMatrix(f.Dim())
			b.ReportAllocs()
			for b.Loop() {
				m.Reset()
				if err := f.Transform(rec, m); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)*float64(rec.NumRows())/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkSortIdx sorts index lists of several lengths (random buckets of
// 2^18) with sortIdx and with slices.Sort.
func BenchmarkSortIdx(b *testing.B) {
	const dim = 1 << 18
	for _, n := range []int{16, 32, 64, 128, 512, 4096} {
		rng := uint64(n)
		src := make([]int32, n)
		for i := range src {
			rng = mix(rng + 1)
			src[i] = int32(rng % dim)
		}
		idx := make([]int32, n)
		var sc scratch
		b.Run(fmt.Sprintf("sortIdx/%d", n), func(b *testing.B) {
			for b.Loop() {
				copy(idx, src)
				sc.sortIdx(idx, dim)
			}
		})
		b.Run(fmt.Sprintf("slices.Sort/%d", n), func(b *testing.B) {
			for b.Loop() {
				copy(idx, src)
				slices.Sort(idx)
			}
		})
	}
}

// TestSortIdx checks sortIdx against slices.Sort on lists of every regime
// (insertion, buckets, fallback), with repeats and tiny index spaces.
func TestSortIdx(t *testing.T) {
	var sc scratch
	rng := uint64(1)
	for _, dim := range []int{16, 1 << 10, 1 << 18, 1 << 24} {
		for _, n := range []int{1, 2, 40, 41, 100, 1000, bucketMax, bucketMax + 1} {
			idx := make([]int32, n)
			for i := range idx {
				rng = mix(rng + 1)
				idx[i] = int32(rng % uint64(dim))
				if i%5 == 4 {
					idx[i] = idx[i/2]
				}
			}
			want := slices.Sorted(slices.Values(idx))
			if got := sc.sortIdx(idx, dim); !slices.Equal(got, want) {
				t.Fatalf("dim %d, n %d: not sorted like slices.Sort", dim, n)
			}
		}
	}
}
