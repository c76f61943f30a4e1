package cascade

import (
	"context"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/dawn-ml/dawn/featurize"
	"github.com/dawn-ml/dawn/model"
	"github.com/dawn-ml/dawn/serve"
	"github.com/dawn-ml/dawn/train"
)

func textTrainer() LinearTrainer {
	return LinearTrainer{
		Features: featurize.Config{Text: []featurize.Text{{Column: "text", Words: 1, Lower: true}}, Bits: 12},
		Options:  train.Options{Epochs: 10, Threads: 1},
	}
}

// Build with the real linear trainer against a reference behind a dawn
// scoring server, save, load with model.Load, and check that the loaded
// cascade answers exactly as the built one, stages included, and that
// `dawn predict`'s PredictFile writes the stage column.
func TestSaveLoadRoundTrip(t *testing.T) {
	ref := &keywordModel{word: "buy"}
	s, err := serve.New(ref, "1", serve.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	defer s.Close()
	client := &Client{URL: hs.URL}
	r := rand.New(rand.NewPCG(5, 5))
	sample := textBatch(spamTexts(r, 800)...)
	defer sample.Release()
	c, cheap, rep, err := Build(t.Context(), BuildConfig{Reference: client, Sample: sample, Trainer: textTrainer(), Target: 0.99, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Agreement < 0.99 {
		t.Fatalf("report %+v", rep)
	}
	dir := filepath.Join(t.TempDir(), "cascade")
	if err := Save(dir, c, cheap, hs.URL, "", rep); err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Info().Type != "cascade" || !slices.Equal(m.Info().Classes, []string{"ham", "spam"}) {
		t.Fatalf("info %+v", m.Info())
	}
	test := textBatch(spamTexts(rand.New(rand.NewPCG(6, 6)), 300)...)
	defer test.Release()
	want, err := c.Predict(t.Context(), test)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Predict(t.Context(), test)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Labels, want.Labels) || !slices.Equal(got.Stage, want.Stage) || !slices.Equal(got.Probs, want.Probs) {
		t.Fatalf("loaded cascade differs")
	}
	if !slices.Contains(got.Stage, StageCheap) {
		t.Errorf("no cheap answers: %v", got.Stage[:20])
	}

	in := filepath.Join(t.TempDir(), "in.csv")
	os.WriteFile(in, []byte("text\nbuy this now\nhello there my friend\n"), 0o644)
	out := filepath.Join(t.TempDir(), "out.csv")
	if _, err := model.PredictFile(t.Context(), m, in, out); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if !strings.HasSuffix(lines[0], ",stage") || len(lines) != 3 {
		t.Errorf("predict output:\n%s", b)
	}
}

// A reference given as a model directory is copied into the cascade.
func TestSaveLocalReference(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	sample := textBatch(spamTexts(r, 600)...)
	defer sample.Release()
	kw := &keywordModel{word: "buy"}
	kp, _ := kw.Predict(t.Context(), sample)
	refModel, err := textTrainer().Train(t.Context(), sample, kp.Probs, []string{"ham", "spam"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	refDir := filepath.Join(t.TempDir(), "ref")
	if err := refModel.Save(refDir); err != nil {
		t.Fatal(err)
	}
	ref, err := model.Load(refDir)
	if err != nil {
		t.Fatal(err)
	}
	c, cheap, rep, err := Build(t.Context(), BuildConfig{Reference: ref, Sample: sample, Trainer: textTrainer(), Target: 0.95, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "cascade")
	if err := Save(dir, c, cheap, "", refDir, rep); err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Predict(t.Context(), sample)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := c.Predict(t.Context(), sample)
	if !slices.Equal(got.Labels, want.Labels) || !slices.Equal(got.Stage, want.Stage) {
		t.Errorf("loaded cascade differs")
	}
	if _, err := os.Stat(filepath.Join(dir, "reference", "MLmodel")); err != nil {
		t.Errorf("reference not copied: %v", err)
	}
}

// unmergeable trains models that cannot be merged (Merger).
type unmergeable struct{ Trainer }

type plainCheap struct{ Cheap }

func (u unmergeable) Train(ctx context.Context, rows arrow.RecordBatch, targets []float64, classes []string, seed uint64) (Cheap, error) {
	m, err := u.Trainer.Train(ctx, rows, targets, classes, seed)
	return plainCheap{m}, err
}

// A cross-fitted cascade merges its fold models into one when they are
// linear models over the same features.
func TestBuildMergesFoldModels(t *testing.T) {
	sample := textBatch(spamTexts(rand.New(rand.NewPCG(8, 8)), 500)...)
	defer sample.Release()
	ref := &keywordModel{word: "buy"}
	_, cheap, _, err := Build(t.Context(), BuildConfig{Reference: ref, Sample: sample, Trainer: textTrainer(), Target: 0.98, Folds: 4, Ensemble: true, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	m, ok := cheap.(trainedModel)
	if !ok || m.Hyper["merged_models"] != "4" {
		t.Fatalf("cheap model %T, want 4 merged fold models", cheap)
	}
}

// Fold models that cannot be merged are kept as an averaged ensemble,
// which saves and loads as a model directory of its own type.
func TestEnsembleCascadeRoundTrip(t *testing.T) {
	sample := textBatch(spamTexts(rand.New(rand.NewPCG(8, 8)), 500)...)
	defer sample.Release()
	ref := &keywordModel{word: "buy"}
	c, cheap, rep, err := Build(t.Context(), BuildConfig{Reference: ref, Sample: sample, Trainer: unmergeable{textTrainer()}, Target: 0.98, Folds: 4, Ensemble: true, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	e, ok := cheap.(*Ensemble)
	if !ok || len(e.Members) != 4 || rep.Folds != 4 {
		t.Fatalf("cheap model %T, report %+v", cheap, rep)
	}
	// The ensemble averages its members.
	p0, _ := e.Members[0].Predict(t.Context(), sample)
	p1, _ := e.Members[1].Predict(t.Context(), sample)
	p2, _ := e.Members[2].Predict(t.Context(), sample)
	p3, _ := e.Members[3].Predict(t.Context(), sample)
	pe, _ := e.Predict(t.Context(), sample)
	if want := (p0.Probs[1] + p1.Probs[1] + p2.Probs[1] + p3.Probs[1]) / 4; math.Abs(pe.Probs[1]-want) > 1e-12 {
		t.Errorf("ensemble p %v, mean of members %v", pe.Probs[1], want)
	}
	s, err := serve.New(ref, "1", serve.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	defer s.Close()
	dir := filepath.Join(t.TempDir(), "cascade")
	if err := Save(dir, c, cheap, hs.URL, "", rep); err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Predict(t.Context(), sample)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := c.Predict(t.Context(), sample)
	if !slices.Equal(got.Labels, want.Labels) || !slices.Equal(got.Stage, want.Stage) || !slices.Equal(got.Probs, want.Probs) {
		t.Errorf("loaded ensemble cascade differs")
	}
}

// Nested cross-fitting picks the largest error budget whose thresholds keep
// the left-out folds within the margin, and the plan respects it.
func TestBuildNested(t *testing.T) {
	sample := textBatch(spamTexts(rand.New(rand.NewPCG(9, 9)), 600)...)
	defer sample.Release()
	ref := &keywordModel{word: "buy"}
	_, _, rep, err := Build(t.Context(), BuildConfig{Reference: ref, Sample: sample, Trainer: prefixTrainer{}, Target: 0.97, Folds: 4,
		Ensemble: true, Confidence: 0.95, Window: 100, Nested: true, Seed: 2, ProbeCalls: -1})
	if err != nil {
		t.Fatal(err)
	}
	nr := rep.Nested
	if nr == nil || len(nr.Errors) != errorBudget(600, 0.97, 0)+1 {
		t.Fatalf("nested report %+v", nr)
	}
	if nr.AllowedErrors != windowBudget(600, 100, 0.97, 0.95) {
		t.Errorf("allowed %d, want the window budget %d", nr.AllowedErrors, windowBudget(600, 100, 0.97, 0.95))
	}
	if nr.Errors[nr.Budget] > nr.AllowedErrors {
		t.Errorf("chosen budget %d has %d nested disagreements, over %d", nr.Budget, nr.Errors[nr.Budget], nr.AllowedErrors)
	}
	for b := nr.Budget + 1; b < len(nr.Errors); b++ {
		if nr.Errors[b] <= nr.AllowedErrors {
			t.Errorf("budget %d (%d disagreements) allowed but %d chosen", b, nr.Errors[b], nr.Budget)
		}
	}
	if errs := int(math.Round((1 - rep.Agreement) * 600)); errs > nr.Budget {
		t.Errorf("plan has %d held-out disagreements, budget %d", errs, nr.Budget)
	}
	if math.Abs(nr.Agreement-(1-float64(nr.Errors[nr.Budget])/600)) > 1e-12 {
		t.Errorf("nested agreement %v vs %d errors", nr.Agreement, nr.Errors[nr.Budget])
	}
}
