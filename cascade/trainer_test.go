package cascade

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/dawn-ml/dawn/featurize"
	"github.com/dawn-ml/dawn/model"
	"github.com/dawn-ml/dawn/train"
)

func TestFragments(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"hi", nil},
		{"buy now", nil},
		{"check out my channel", []string{"check out", "my channel"}},
		{"Great song! Subscribe to me.", []string{"Great song", "Subscribe to me", "Great song!", "Subscribe to me."}},
		{"one two three four five six seven", []string{"one two three", "four five six seven", "one two three four", "three four five six"}},
		// Repeats and pieces equal to the whole are left out.
		{"la la. la la.", []string{"la la", "la la."}},
	}
	for _, c := range cases {
		if got := Fragments(c.in); !slices.Equal(got, c.want) {
			t.Errorf("Fragments(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// countingModel wraps a reference and counts the rows it was asked about.
type countingModel struct {
	model.Model
	rows int
}

func (m *countingModel) Predict(ctx context.Context, rec arrow.RecordBatch) (*model.Prediction, error) {
	m.rows += int(rec.NumRows())
	return m.Model.Predict(ctx, rec)
}

// Prepare has the reference label every fragment of the sample once, and
// Train adds the fragments of its rows (only those) to what it fits.
func TestLinearTrainerAugment(t *testing.T) {
	texts := []string{"buy cheap pills now please friend", "hello there my old friend", "what a lovely song this is"}
	sample := textBatch(texts...)
	defer sample.Release()
	ref := &countingModel{Model: &keywordModel{word: "buy"}}
	tr := textTrainer()
	tr.Augment = true
	pt, err := tr.Prepare(t.Context(), sample, ref, []string{"ham", "spam"})
	if err != nil {
		t.Fatal(err)
	}
	var frags int
	for _, s := range texts {
		frags += len(Fragments(s))
	}
	if ref.rows != frags {
		t.Errorf("reference labeled %d rows, want the %d fragments", ref.rows, frags)
	}
	lt := pt.(LinearTrainer)
	if got := lt.labels["buy cheap pills"]; !slices.Equal(got, []float64{0.125, 0.875}) {
		t.Errorf("fragment label %v", got)
	}
	if got := lt.labels["hello there"]; !slices.Equal(got, []float64{0.875, 0.125}) {
		t.Errorf("fragment label %v", got)
	}
	// The prepared trainer shares one featurizer between its models.
	rows := textBatch(texts[:2]...)
	defer rows.Release()
	m1, err := pt.Train(t.Context(), rows, []float64{0.125, 0.875, 0.875, 0.125}, []string{"ham", "spam"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := pt.Train(t.Context(), rows, []float64{0.125, 0.875, 0.875, 0.125}, []string{"ham", "spam"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if m1.(trainedModel).Feat != m2.(trainedModel).Feat || m1.(trainedModel).Feat.Rows != 3 {
		t.Errorf("fold models do not share the sample's featurizer")
	}
	if _, err := (LinearTrainer{Features: featurize.Config{Text: []featurize.Text{{Column: "text", Words: 1}}, Numeric: []string{"n"}}, Augment: true}).
		Prepare(t.Context(), sample, ref, []string{"ham", "spam"}); err == nil {
		t.Error("augmenting with a numeric column accepted")
	}
}

func logits(t *testing.T, m model.Model, rows arrow.RecordBatch) []float64 {
	t.Helper()
	p, err := m.Predict(t.Context(), rows)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float64, len(p.Labels))
	for i := range out {
		out[i] = math.Log(p.Probs[2*i+1] / p.Probs[2*i])
	}
	return out
}

// Merged fold models answer with the mean of their logits, and a blend with
// the mean of its members' logits.
func TestMergeAndBlend(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	texts := spamTexts(r, 300)
	sample := textBatch(texts...)
	defer sample.Release()
	ref := &keywordModel{word: "buy"}
	classes := []string{"ham", "spam"}
	rp, _ := ref.Predict(t.Context(), sample)
	words := textTrainer()
	words.Options = train.Options{Optimizer: "lbfgs", L2: 1e-3, Threads: 1}
	chars := LinearTrainer{Features: featurize.Config{Text: []featurize.Text{{Column: "text", CharMin: 2, CharMax: 3, Lower: true, TFIDF: true}}, Bits: 12},
		Options: train.Options{Optimizer: "lbfgs", L2: 1e-3, Threads: 1}}
	bt, err := BlendTrainer{Parts: []Trainer{words, chars}}.Prepare(t.Context(), sample, ref, classes)
	if err != nil {
		t.Fatal(err)
	}
	var folds []Cheap
	for f := range 3 {
		var idx []int
		for i := range texts {
			if i%3 != f {
				idx = append(idx, i)
			}
		}
		rows := takeRows(sample, idx)
		targets := make([]float64, 0, 2*len(idx))
		for _, i := range idx {
			targets = append(targets, rp.Probs[2*i:2*i+2]...)
		}
		m, err := bt.Train(t.Context(), rows, targets, classes, 1)
		rows.Release()
		if err != nil {
			t.Fatal(err)
		}
		folds = append(folds, m)
	}
	test := textBatch(spamTexts(rand.New(rand.NewPCG(4, 4)), 50)...)
	defer test.Release()
	b0 := folds[0].(*Blend)
	zb, z0, z1 := logits(t, b0, test), logits(t, b0.Members[0], test), logits(t, b0.Members[1], test)
	for i := range zb {
		if math.Abs(zb[i]-(z0[i]+z1[i])/2) > 1e-9 {
			t.Fatalf("row %d: blend logit %v, members %v %v", i, zb[i], z0[i], z1[i])
		}
	}
	merged, err := folds[0].(Merger).Merge(folds[1:])
	if err != nil {
		t.Fatal(err)
	}
	zm := logits(t, merged, test)
	za, zb1, zc := logits(t, folds[0], test), logits(t, folds[1], test), logits(t, folds[2], test)
	for i := range zm {
		if want := (za[i] + zb1[i] + zc[i]) / 3; math.Abs(zm[i]-want) > 1e-9 {
			t.Fatalf("row %d: merged logit %v, mean of folds %v", i, zm[i], want)
		}
	}
	// The merged blend saves and loads as a "blend" model directory.
	dir := filepath.Join(t.TempDir(), "blend")
	if err := merged.Save(dir); err != nil {
		t.Fatal(err)
	}
	loaded, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Info().Type != "blend" {
		t.Errorf("loaded type %q", loaded.Info().Type)
	}
	if zl := logits(t, loaded, test); !slices.EqualFunc(zl, zm, func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }) {
		t.Errorf("loaded blend differs")
	}
	// Models over different features do not merge.
	other := folds[1].(*Blend).Members[1]
	if _, err := b0.Members[0].(Merger).Merge([]Cheap{other}); err == nil {
		t.Error("merged a word model with a character model")
	}
}
