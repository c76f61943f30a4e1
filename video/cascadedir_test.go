package video

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// A saved cascade answers the same query with no training calls and the
// same specialized model.
func TestSavedCascadeRoundTrip(t *testing.T) {
	s, b := vtest(t)
	ref := &BoxesReference{Boxes: b, Seconds: 0.17}
	q, err := ParseQuery("SELECT frame FROM video WHERE count(person) >= 7")
	if err != nil {
		t.Fatal(err)
	}
	a, err := Run(t.Context(), s, ref, q, QueryOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "cascade")
	if err := a.Cascade.Save(dir); err != nil {
		t.Fatal(err)
	}
	c, err := LoadCascade(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Model.Weights, a.Cascade.Model.Weights) || c.Model.Smooth != a.Cascade.Model.Smooth || !slices.Equal(c.Background, a.Cascade.Background) {
		t.Fatal("the loaded cascade differs from the saved one")
	}
	if c.Predicate != "count(person) >= 7" || c.Selection == nil || c.Reference != "recorded detections" {
		t.Fatalf("loaded %+v", c)
	}
	b2, err := Run(t.Context(), s, ref, q, QueryOptions{Seed: 2, Cascade: c})
	if err != nil {
		t.Fatal(err)
	}
	if b2.TrainingCalls != 0 {
		t.Errorf("%d training calls with a saved cascade", b2.TrainingCalls)
	}
	acc := agreement(truthCounts(s, b), 7, b2.FramesSelected)
	t.Logf("saved cascade: agreement %.4f, %d reference calls (was %d with training), speedup %.1f×", acc, b2.ReferenceCalls, a.ReferenceCalls, b2.Speedup)
	if acc < 0.95 {
		t.Errorf("agreement %.4f < 0.95 with the saved cascade", acc)
	}
	// Another predicate's calibration does not apply.
	q6, _ := ParseQuery("SELECT frame FROM video WHERE count(person) >= 6")
	if _, err := Run(t.Context(), s, ref, q6, QueryOptions{Cascade: c}); err == nil {
		t.Error("a cascade built for >= 7 answered >= 6")
	}
	// Aggregates use the model with no training.
	qa, _ := ParseQuery("SELECT AVG(count(person)) FROM video ERROR WITHIN 0.2")
	ag, err := Run(t.Context(), s, ref, qa, QueryOptions{Cascade: c})
	if err != nil {
		t.Fatal(err)
	}
	if ag.TrainingCalls != 0 || ag.CILow > 4.005 || ag.CIHigh < 4.005 {
		t.Errorf("aggregate with a saved cascade: %+v", ag)
	}
	if _, err := LoadCascade(t.TempDir()); err == nil {
		t.Error("an empty directory loaded as a cascade")
	}
}

// planSelect, worked by hand: 20 unknown frames with p = 0.01…0.20 (u
// the same), target 0.9 (a budget of 2 disagreements), the identity
// calibration. With 10 sample frames of u = 0.005, all answered right,
// the Clopper–Pearson bound at 0.9 is 1 − 0.1^(1/10) = 0.20567, so 9
// frames fit (9 × 0.20567 = 1.85 ≤ 2, 10 × 0.20567 > 2) and 11 go to the
// reference; with one of them wrong the bound is 0.33685 (the p with
// P(Bin(10, p) ≤ 1) = 0.1) and 5 fit. With the sample at u = 0.15 no
// sample frame is as sure as the first 14 frames (bound 1: only 2 fit),
// and at the 15th 15 × 0.20567 > 2: 2 frames are answered cheaply.
func TestPlanSelectByHand(t *testing.T) {
	p := make([]float64, 20)
	for i := range p {
		p[i] = 0.01 * float64(i+1)
	}
	known := make([]bool, 20)
	id := Calibration{A: 1}
	sample := func(u float64, wrong int) calSample {
		s := calSample{}
		for j := 0; j < 10; j++ {
			s.zs = append(s.zs, logit(u))
			s.ys = append(s.ys, j < wrong)
		}
		return s
	}
	if got := upperShare(0, 10, 0.9); math.Abs(got-0.2056717652757185) > 1e-9 {
		t.Errorf("upperShare(0, 10) = %v", got)
	}
	if got := upperShare(1, 10, 0.9); math.Abs(got-0.33684772330672474) > 1e-9 {
		t.Errorf("upperShare(1, 10) = %v", got)
	}
	for _, c := range []struct {
		u            float64
		wrong, cheap int
		bound        float64
	}{{0.005, 0, 9, 9 * 0.2056717652757185}, {0.005, 1, 5, 5 * 0.33684772330672474}, {0.15, 0, 2, 2}} {
		send, low, _, _, bound, n := planSelect(p, known, sample(c.u, c.wrong), id, 0.9, 0.9)
		if n != 20-c.cheap || math.Abs(bound-c.bound) > 1e-9 || math.Abs(low-p[c.cheap-1]) > 1e-12 {
			t.Errorf("sample u %v, %d wrong: %d sent, bound %v, low %v; want %d sent, bound %v, low %v", c.u, c.wrong, n, bound, low, 20-c.cheap, c.bound, p[c.cheap-1])
		}
		for i := range send {
			if send[i] != (i >= c.cheap) {
				t.Errorf("sample u %v: frame %d sent %v", c.u, i, send[i])
			}
		}
	}
	// Known frames are never sent nor counted.
	known[0] = true
	if _, _, _, _, _, n := planSelect(p, known, sample(0.005, 0), id, 0.9, 0.9); n != 10 {
		t.Errorf("with frame 0 known: %d sent, want 10", n)
	}
}

// Platt's fit stays finite on separable labels (the smoothed targets and
// the prior) and recovers the direction of a clean score.
func TestPlattBounded(t *testing.T) {
	zs := []float64{-5, -4, -3, -2, 2, 3, 4, 5}
	ys := []bool{false, false, false, false, true, true, true, true}
	c := platt(zs, ys)
	if !(c.A > 0 && c.A < 10) || math.Abs(c.B) > 1 {
		t.Errorf("calibration %+v", c)
	}
	if p := sigmoid(c.A*5 + c.B); p > 0.99999 {
		t.Errorf("P at z=5 is %v: overconfident", p)
	}
}

// LoadCascade never panics on a damaged cascade.json: it loads or names
// the problem.
func FuzzLoadCascade(f *testing.F) {
	good := &SavedCascade{Model: &Specialized{Features: "background", Weights: []float64{1, 2, 3}}, SmallW: 8, SmallH: 8}
	dir := filepath.Join(f.TempDir(), "c")
	if err := good.Save(dir); err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{"specialized_model":{"features":"background","weights":[1,2,3]},"small_width":8,"small_height":8}`))
	f.Add([]byte(`{"specialized_model":{"features":"nope","weights":[1,2]},"small_width":8,"small_height":8}`))
	f.Add([]byte(`{"specialized_model":null}`))
	f.Add([]byte(`{"small_width":-1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, "cascade.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := LoadCascade(dir)
		if err == nil && (c.Model == nil || len(c.Model.Weights) < 2 || c.SmallW < 8) {
			t.Fatalf("loaded an invalid cascade %+v", c)
		}
	})
}
