package runner

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/dawn-ml/dawn/model"
)

// signModel predicts "pos" when x > 0.
type signModel struct{}

func (signModel) Info() *model.Info {
	return &model.Info{Type: "sign", Classes: []string{"neg", "pos"}, Inputs: []model.Column{{Name: "x", Type: "double"}}}
}

func (signModel) Predict(_ context.Context, rec arrow.RecordBatch) (*model.Prediction, error) {
	var x *array.Float64
	for i, f := range rec.Schema().Fields() {
		if f.Name == "x" {
			x, _ = rec.Column(i).(*array.Float64)
		}
	}
	if x == nil {
		return nil, fmt.Errorf("sign: no float x column")
	}
	n := x.Len()
	p := &model.Prediction{Classes: []string{"neg", "pos"}, Probs: make([]float64, 2*n), Labels: make([]int, n)}
	for i := range n {
		if x.Value(i) > 0 {
			p.Labels[i], p.Probs[2*i+1] = 1, 1
		} else {
			p.Probs[2*i] = 1
		}
	}
	return p, nil
}

// labelled is a log file of n rows (request ids prefix-0 …) and the true
// class of each, wrong (against the sign model) for every tenth row.
type labelled struct {
	ids   []string
	truth []string
	right []bool
}

func writeLabelledLog(t *testing.T, rng *rand.Rand, path, prefix string, n int) labelled {
	t.Helper()
	var b strings.Builder
	b.WriteString("request_id,request_row,x,country\n")
	var l labelled
	for i := range n {
		x := rng.NormFloat64()
		id := fmt.Sprintf("%s-%d", prefix, i/2) // two rows a request
		fmt.Fprintf(&b, "%s,%d,%.4f,%s\n", id, i%2, x, []string{"US", "CA"}[rng.IntN(2)])
		truth, right := "neg", true
		if x > 0 {
			truth = "pos"
		}
		if i%10 == 0 {
			truth = map[string]string{"pos": "neg", "neg": "pos"}[truth]
			right = !right
		}
		l.ids = append(l.ids, fmt.Sprintf("%s,%d", id, i%2))
		l.truth = append(l.truth, truth)
		l.right = append(l.right, right)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return l
}

// writeLabels writes the labels of rows [lo, hi) of l; it returns the
// accuracy over them.
func writeLabels(t *testing.T, path string, l labelled, lo, hi int) float64 {
	t.Helper()
	var b strings.Builder
	b.WriteString("request_id,request_row,label\n")
	right := 0
	for i := lo; i < hi; i++ {
		fmt.Fprintf(&b, "%s,%s\n", l.ids[i], l.truth[i])
		if l.right[i] {
			right++
		}
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path))
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Rename(tmp, path)
	return float64(right) / float64(hi-lo)
}

// Labels that arrive after a window was evaluated join on (request_id,
// request_row) and the window's realised accuracy is recomputed; a window
// evaluated after its labels came has them at once; past labels.wait a
// window is final.
func TestLateLabels(t *testing.T) {
	fx := newFixture(t)
	rng := rand.New(rand.NewPCG(5, 5))
	labelsDir := filepath.Join(fx.dir, "labels")
	os.MkdirAll(labelsDir, 0o755)
	c := fx.config(t, fmt.Sprintf("labels: {source: %q, wait: 1h}\n", labelsDir))
	c.Segments = []string{"country"}
	c.Alerts.Rules = nil
	r, err := New(t.Context(), c, fx.profile, signModel{}, fx.store)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	r.Now = func() time.Time { return now }
	l0 := writeLabelledLog(t, rng, filepath.Join(fx.log, "p-0001.csv"), "a", 2000)
	if err := r.Step(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	h := history(t, fx.store)
	if len(h) != 1 || h[0].Report.Performance.Actual != nil {
		t.Fatalf("window 0 before any label: %+v", h)
	}
	// Labels for half of window 0 arrive.
	want := writeLabels(t, filepath.Join(labelsDir, "l-1.csv"), l0, 0, 1000)
	if err := r.Step(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	a := history(t, fx.store)[0].Report.Performance.Actual
	if a == nil || a.Rows != 1000 || a.Accuracy != want {
		t.Fatalf("window 0 after 1,000 late labels: %+v, want accuracy %g over 1000", a, want)
	}
	// The next window's labels are there before it is evaluated.
	l1 := writeLabelledLog(t, rng, filepath.Join(fx.log, "p-0002.csv"), "b", 2000)
	want1 := writeLabels(t, filepath.Join(labelsDir, "l-2.csv"), l1, 0, 2000)
	if err := r.Step(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	h = history(t, fx.store)
	if a := h[1].Report.Performance.Actual; len(h) != 2 || a == nil || a.Rows != 2000 || a.Accuracy != want1 {
		t.Fatalf("window 1: %+v, want accuracy %g over 2000", a, want1)
	}
	// Past the wait, the rest of window 0's labels change nothing.
	now = now.Add(2 * time.Hour)
	writeLabels(t, filepath.Join(labelsDir, "l-3.csv"), l0, 1000, 2000)
	if err := r.Step(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	if a := history(t, fx.store)[0].Report.Performance.Actual; a == nil || a.Rows != 1000 {
		t.Errorf("window 0 recomputed after its wait: %+v", a)
	}
	// A restarted runner (same store) reads the labels afresh and leaves
	// the windows as they are.
	r2, err := New(t.Context(), c, fx.profile, signModel{}, fx.store)
	if err != nil {
		t.Fatal(err)
	}
	r2.Now = r.Now
	if err := r2.Step(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	if h := history(t, fx.store); len(h) != 2 || h[0].Report.Performance.Actual.Rows != 1000 {
		t.Errorf("after a restart: %d windows, window 0 %+v", len(h), h[0].Report.Performance.Actual)
	}
}
