package labeling

import (
	"context"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/data"
	"github.com/dawn-ml/dawn/labelmodel"
)

// fakeTracker records what a pipeline logs.
type fakeTracker struct {
	calls     []string
	metrics   map[string]float64
	artifacts []string // base names of the logged files
	modelDir  []string // files of the logged model directory
}

func (f *fakeTracker) RunID() string { return "run1" }

func (f *fakeTracker) LogMetrics(_ context.Context, m map[string]float64) error {
	f.calls = append(f.calls, "metrics")
	f.metrics = m
	return nil
}

func (f *fakeTracker) LogModel(_ context.Context, local, path string, _ map[string]float64) error {
	f.calls = append(f.calls, "model "+path)
	ents, err := os.ReadDir(local)
	for _, e := range ents {
		f.modelDir = append(f.modelDir, e.Name())
	}
	return err
}

func (f *fakeTracker) LogArtifact(_ context.Context, local, _ string) error {
	f.calls = append(f.calls, "artifact "+filepath.Base(local))
	b, err := os.ReadFile(local)
	f.artifacts = append(f.artifacts, filepath.Base(local)+":"+string(b))
	return err
}

// runFixture writes two keyword LFs and a four-row data file, as in
// TestEvaluate.
func runFixture(t *testing.T) (dir, lfs, train, valid string) {
	dir = t.TempDir()
	lfs = write(t, filepath.Join(dir, "lfs.yaml"), "labels: [ham, spam]\ntext: text\nlfs:\n  - name: kw_money\n    keywords: [money]\n    label: spam\n  - name: kw_song\n    keywords: [song]\n    label: ham\n")
	train = write(t, filepath.Join(dir, "train.csv"), "text\nwin money now\nnice song\nhello\nmoney song\n")
	valid = write(t, filepath.Join(dir, "v.csv"), "text,label\nwin money now,spam\nnice song,ham\nhello,ham\n")
	return
}

// TestRun: majority vote over the fixture. Worked by hand: rows 1 and 2
// get spam and ham, row 3 has no vote and row 4 a tie (both empty labels
// under the abstain tie-break); on v.csv accuracy 2/3 (hello is uncovered).
// With a tracker the steps log, in order, the metrics, the model
// directory, the LF analysis and a two-row data sample.
func TestRun(t *testing.T) {
	dir, lfs, train, valid := runFixture(t)
	lm, _ := labelmodel.New(labelmodel.Majority, labelmodel.Options{})
	policy, _ := labelmodel.ParseTieBreak("abstain")
	tr := &fakeTracker{}
	out := filepath.Join(dir, "labels.csv")
	var steps []string
	res, err := Run(t.Context(), RunOptions{LFs: lfs, Data: train, Out: out, Valid: valid, Gold: "label",
		ModelOut: filepath.Join(dir, "m.json"), VotesOut: filepath.Join(dir, "votes.parquet"),
		Model: lm, TieBreak: policy, Tracker: tr, SampleRows: 2,
		Progress: func(what string) (func(read, size int64), func()) {
			steps = append(steps, what)
			return func(int64, int64) {}, func() {}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 4 || res.Labeled != 2 || res.Eval == nil || res.Eval.Rows != 3 || res.Eval.CoveredAccuracy != 1 {
		t.Errorf("result %+v, eval %+v", res, res.Eval)
	}
	wantSteps := []string{"applying LFs to " + train, "labeling " + train, "applying LFs to " + valid}
	if !slices.Equal(steps, wantSteps) {
		t.Errorf("progress steps %q, want %q", steps, wantSteps)
	}
	f, _ := os.Open(out)
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, r := range rows[1:] {
		labels = append(labels, r[3])
	}
	if !slices.Equal(rows[0], []string{"text", "prob_ham", "prob_spam", "label", "votes"}) || !slices.Equal(labels, []string{"spam", "ham", "", ""}) {
		t.Errorf("labels file %q", rows)
	}
	for _, p := range []string{"m.json", "votes.parquet"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("%s not saved: %v", p, err)
		}
	}
	wantCalls := []string{"metrics", "model model", "artifact lf_analysis.json", "artifact sample.csv"}
	if !slices.Equal(tr.calls, wantCalls) {
		t.Errorf("tracking calls %q, want %q", tr.calls, wantCalls)
	}
	if tr.metrics["rows"] != 4 || tr.metrics["labeled"] != 2 || tr.metrics["train_coverage"] != 0.75 || tr.metrics["lf.kw_money.coverage"] != 0.5 {
		t.Errorf("metrics %v", tr.metrics)
	}
	if !slices.Contains(tr.modelDir, "MLmodel") {
		t.Errorf("model directory %q has no MLmodel", tr.modelDir)
	}
	if len(tr.artifacts) != 2 || tr.artifacts[1] != "sample.csv:text\nwin money now\nnice song\n" {
		t.Errorf("artifacts %q", tr.artifacts)
	}
}

// TestRunCheck: mistakes are refused before any output or logging.
func TestRunCheck(t *testing.T) {
	dir, lfs, train, valid := runFixture(t)
	lm, _ := labelmodel.New(labelmodel.Majority, labelmodel.Options{})
	out := filepath.Join(dir, "labels.csv")
	for _, c := range []struct {
		name string
		o    RunOptions
		want string
	}{
		{"valid without gold", RunOptions{Valid: valid}, "Valid and Gold go together"},
		{"big sample", RunOptions{SampleRows: MaxSampleRows + 1}, "at most 100000 rows"},
		{"no model", RunOptions{}, "no label model"},
		{"gold column case", RunOptions{Valid: valid, Gold: "Label"}, `did you mean "label"?`},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := c.o
			o.LFs, o.Data, o.Out = lfs, train, out
			if o.Model == nil && c.name != "no model" {
				o.Model = lm
			}
			tr := &fakeTracker{}
			o.Tracker = tr
			_, err := Run(t.Context(), o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want %q", err, c.want)
			}
			if c.name == "gold column case" && !errors.Is(err, ErrNoGoldColumn) {
				t.Errorf("err %v is not ErrNoGoldColumn", err)
			}
			if _, err := os.Stat(out); err == nil || len(tr.calls) > 0 {
				t.Errorf("wrote %s or logged %q", out, tr.calls)
			}
		})
	}
}

// TestPredict labels data and a vote matrix with a saved model, as label
// predict does.
func TestPredict(t *testing.T) {
	dir, lfs, train, _ := runFixture(t)
	lm, _ := labelmodel.New(labelmodel.Majority, labelmodel.Options{})
	policy, _ := labelmodel.ParseTieBreak("abstain")
	mpath := filepath.Join(dir, "m.json")
	if _, err := Run(t.Context(), RunOptions{LFs: lfs, Data: train, Out: filepath.Join(dir, "l.csv"), ModelOut: mpath, Model: lm, TieBreak: policy}); err != nil {
		t.Fatal(err)
	}
	w, err := Predict(t.Context(), PredictOptions{Model: mpath, LFs: lfs, Data: train, Out: filepath.Join(dir, "p.csv"), TieBreak: policy, DataOptions: data.Options{}})
	if err != nil || w.Rows != 4 || w.Labeled != 2 || w.Columns.Label != "label" {
		t.Errorf("predict data: %+v, %v", w, err)
	}
	votes := write(t, filepath.Join(dir, "votes.csv"), "kw_money,kw_song\nspam,\n,\n")
	w, err = Predict(t.Context(), PredictOptions{Model: mpath, Votes: votes, Out: filepath.Join(dir, "pv.csv"), TieBreak: policy})
	if err != nil || w.Rows != 2 || w.Labeled != 1 {
		t.Errorf("predict votes: %+v, %v", w, err)
	}
	for _, o := range []PredictOptions{{Model: mpath, Votes: votes, Data: train}, {Model: mpath, LFs: lfs}} {
		if _, err := Predict(t.Context(), o); err == nil || !strings.Contains(err.Error(), "give Votes, or LFs with Data") {
			t.Errorf("%+v: err %v", o, err)
		}
	}
}
