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

// planSelect, worked by hand: target 0.75 over 4 frames allows one
// expected disagreement; with no margin the frames of u = 0.05, 0.1 and
// 0.3 fit (sum 0.45), adding u = 0.4 would make 0.85 < 1, so all four are
// answered; with target 0.9 (budget 0.4) only 0.05 and 0.1 fit, then 0.3
// makes 0.45 > 0.4.
func TestPlanSelectByHand(t *testing.T) {
	p := []float64{0.05, 0.9, 0.3, 0.6}
	known := make([]bool, 4)
	send, _, _, exp, n := planSelect(p, known, 0.75, 0)
	if n != 0 || math.Abs(exp-(1-0.85/4)) > 1e-12 {
		t.Errorf("target 0.75: send %v (%d), expected agreement %v", send, n, exp)
	}
	send, low, high, _, n := planSelect(p, known, 0.9, 0)
	if n != 2 || !send[2] || !send[3] || low != 0.05 || high != 0.9 {
		t.Errorf("target 0.9: send %v (%d), low %v high %v", send, n, low, high)
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
