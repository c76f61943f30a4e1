package train

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/dawn-ml/dawn/featurize"
	"github.com/dawn-ml/dawn/model"
)

func textBatch(texts []string, nums []float64) arrow.RecordBatch {
	sb := array.NewStringBuilder(memory.DefaultAllocator)
	sb.AppendValues(texts, nil)
	nb := array.NewFloat64Builder(memory.DefaultAllocator)
	nb.AppendValues(nums, nil)
	sch := arrow.NewSchema([]arrow.Field{{Name: "t", Type: arrow.BinaryTypes.String}, {Name: "x", Type: arrow.PrimitiveTypes.Float64}}, nil)
	return array.NewRecordBatch(sch, []arrow.Array{sb.NewArray(), nb.NewArray()}, int64(len(texts)))
}

// A saved model reloads and predicts bit-identically, for every kind.
func TestSaveLoadBitIdentical(t *testing.T) {
	rec := textBatch([]string{"buy cheap pills now", "nice song", "check my channel", "love it", "free money", "great video"}, []float64{1, 2, 3, 4, 5, 6})
	feat, err := featurize.Fit(featurize.Config{Text: []featurize.Text{{Column: "t", Words: 2, Lower: true}}, Numeric: []string{"x"}, Bits: 10}, []arrow.RecordBatch{rec})
	if err != nil {
		t.Fatal(err)
	}
	X := featurize.NewMatrix(feat.Dim())
	feat.Transform(rec, X)
	for _, c := range []struct {
		kind    Kind
		classes []string
	}{{LogReg, []string{"ham", "spam"}}, {Softmax, []string{"a", "b", "c"}}, {MLP, []string{"a", "b", "c"}}, {LinReg, nil}} {
		t.Run(string(c.kind), func(t *testing.T) {
			ds := &Dataset{X: X, C: max(len(c.classes), 1)}
			for i := 0; i < X.Rows(); i++ {
				if c.kind == LinReg {
					ds.Y = append(ds.Y, float64(i))
					continue
				}
				y := make([]float64, len(c.classes))
				y[i%len(c.classes)] = 1
				ds.Y = append(ds.Y, y...)
			}
			res, err := Fit(t.Context(), ds, Options{Model: c.kind, Epochs: 5, Threads: 1, Hidden: 4})
			if err != nil {
				t.Fatal(err)
			}
			m := &Model{Kind: c.kind, Classes: c.classes, Feat: feat, Params: res.Params}
			dir := filepath.Join(t.TempDir(), "m")
			if err := m.Save(dir, "run1", &model.Example{Columns: []string{"t", "x"}, Data: [][]any{{"hi", 1.0}}}); err != nil {
				t.Fatal(err)
			}
			back, err := model.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			p1, err := m.Predict(context.Background(), rec)
			if err != nil {
				t.Fatal(err)
			}
			p2, err := back.Predict(context.Background(), rec)
			if err != nil {
				t.Fatal(err)
			}
			same := func(a, b []float64) bool {
				if len(a) != len(b) {
					return false
				}
				for i := range a {
					if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
						return false
					}
				}
				return true
			}
			if !same(p1.Probs, p2.Probs) || !same(p1.Values, p2.Values) {
				t.Errorf("reloaded predictions differ:\n%v %v\n%v %v", p1.Probs, p1.Values, p2.Probs, p2.Values)
			}
			info := back.Info()
			if info.Type != string(c.kind) || len(info.Inputs) != 2 || info.Inputs[1].Type != "double" {
				t.Errorf("info %+v", info)
			}
		})
	}
}

func FuzzReadWeights(f *testing.F) {
	p := NewParams(Softmax, 3, 2, 0)
	for i := range p.W {
		p.W[i] = float64(i)
	}
	var buf bytes.Buffer
	writeWeights(&buf, p)
	f.Add(buf.Bytes())
	f.Add([]byte("DAWNPRM1\x02\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		q := NewParams(Softmax, 3, 2, 0)
		if err := readWeights(bytes.NewReader(b), q); err != nil {
			return
		}
		var out bytes.Buffer
		writeWeights(&out, q)
		r := NewParams(Softmax, 3, 2, 0)
		if err := readWeights(&out, r); err != nil {
			t.Fatalf("re-read of written weights: %v", err)
		}
	})
}

// BenchmarkPredict measures prediction throughput of a saved-size model.
func BenchmarkPredict(b *testing.B) {
	texts := make([]string, 1024)
	nums := make([]float64, 1024)
	for i := range texts {
		texts[i] = "Hey guys check out my new channel and subscribe for a free iPhone " + string(rune('a'+i%26))
		nums[i] = float64(i)
	}
	rec := textBatch(texts, nums)
	feat, _ := featurize.Fit(featurize.Config{Text: []featurize.Text{{Column: "t", Words: 2, Lower: true}}}, []arrow.RecordBatch{rec})
	for _, kind := range []Kind{LogReg, MLP} {
		b.Run(string(kind), func(b *testing.B) {
			p := NewParams(kind, feat.Dim(), 2, 32)
			m := &Model{Kind: kind, Classes: []string{"ham", "spam"}, Feat: feat, Params: p}
			for b.Loop() {
				if _, err := m.Predict(context.Background(), rec); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)*1024/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
