package cascade

import (
	"math"
	"math/rand/v2"
	"testing"
)

// exhaustive tries every pair of thresholds drawn from the scores (and the
// sentinels) and every difference threshold given, and returns the cheapest
// plan reaching the target.
func exhaustive(h *Heldout, c Costs, target float64, diffs []float64) *Plan {
	seen := map[float64]bool{}
	vals := []float64{NoLow, NoHigh}
	for _, v := range h.Score {
		if !seen[v] {
			seen[v] = true
			vals = append(vals, v)
		}
	}
	var best *Plan
	for _, d := range append([]float64{0}, diffs...) {
		for _, lo := range vals {
			if !h.Binary && lo != NoLow {
				continue
			}
			for _, hi := range vals {
				if lo >= hi {
					continue
				}
				p := &Plan{Low: lo, High: hi, DiffThreshold: d}
				Evaluate(h, c, p)
				if p.Agreement+1e-12 >= target && (best == nil || p.Cost < best.Cost) {
					best = p
				}
			}
		}
	}
	return best
}

// synth makes a held-out sample where the cheap score is informative but
// noisy: the reference label is 1 with probability score^sharp-ish.
func synth(r *rand.Rand, n int, binary bool) *Heldout {
	h := &Heldout{Binary: binary}
	for i := 0; i < n; i++ {
		s := math.Round(r.Float64()*60) / 60 // ties on purpose
		ref := 0
		if r.Float64() < s*s*(3-2*s) {
			ref = 1
		}
		if !binary {
			ref = r.IntN(3)
			if r.Float64() < s {
				h.Cheap = append(h.Cheap, ref)
			} else {
				h.Cheap = append(h.Cheap, (ref+1)%3)
			}
		}
		h.Score = append(h.Score, s)
		h.Ref = append(h.Ref, ref)
	}
	return h
}

func TestOptimizeMatchesExhaustiveSearch(t *testing.T) {
	c := Costs{Cheap: 1e-5, Reference: 1e-2}
	for seed := range 6 {
		for _, binary := range []bool{true, false} {
			for _, target := range []float64{0.9, 0.95, 0.99} {
				r := rand.New(rand.NewPCG(uint64(seed), 7))
				h := synth(r, 300, binary)
				got, err := Optimize(h, c, target)
				if err != nil {
					t.Fatal(err)
				}
				want := exhaustive(h, c, target, nil)
				if got.Agreement+1e-12 < target {
					t.Errorf("seed %d binary %v target %v: agreement %v below target", seed, binary, target, got.Agreement)
				}
				// The brief allows 10 %; the sweep is exact, so demand equality.
				if got.Cost > want.Cost*(1+1e-9) {
					t.Errorf("seed %d binary %v target %v: cost %g (ref %.3f), exhaustive %g (ref %.3f)",
						seed, binary, target, got.Cost, got.ReferenceFraction, want.Cost, want.ReferenceFraction)
				}
			}
		}
	}
}

func TestOptimizeHandComputed(t *testing.T) {
	// Scores and reference labels, sorted for reading:
	// 0.1:0 0.2:0 0.3:1 0.4:0 0.6:1 0.7:0 0.8:1 0.9:1 0.95:1 0.99:1
	h := &Heldout{Binary: true,
		Score: []float64{0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99},
		Ref:   []int{0, 0, 1, 0, 1, 0, 1, 1, 1, 1}}
	c := Costs{Cheap: 1, Reference: 100}
	// Target 1.0: no errors allowed: low=0.2 (2 rows), high=0.8 (4 rows).
	p, err := Optimize(h, c, 1.0)
	if err != nil {
		t.Fatal(err)
	}
	if p.Low != 0.2 || p.High != 0.8 || p.ReferenceFraction != 0.4 || p.Agreement != 1 {
		t.Errorf("target 1: %+v", p)
	}
	if want := 1 + 0.4*100; math.Abs(p.Cost-want) > 1e-9 || math.Abs(p.Speedup-100/want) > 1e-9 {
		t.Errorf("cost %v speedup %v, want %v", p.Cost, p.Speedup, want)
	}
	// Target 0.9: one error allowed: low=0.4 (4 rows, 1 wrong), high=0.8: 8 rows.
	p, _ = Optimize(h, c, 0.9)
	if p.ReferenceFraction != 0.2 || p.Agreement != 0.9 {
		t.Errorf("target 0.9: %+v", p)
	}
	// Target 0: everything answered by the cheap model.
	p, _ = Optimize(h, c, 0)
	if p.ReferenceFraction != 0 {
		t.Errorf("target 0: %+v", p)
	}
}

func TestOptimizeDifferenceDetector(t *testing.T) {
	// Ordered inputs in runs of identical items: the detector should reuse
	// the repeats and the optimizer should pick it since it is cheaper.
	r := rand.New(rand.NewPCG(3, 3))
	h := &Heldout{Binary: true}
	for len(h.Ref) < 600 {
		s := r.Float64()
		ref := 0
		if r.Float64() < s {
			ref = 1
		}
		run := 1 + r.IntN(6)
		for k := 0; k < run; k++ {
			d := 1.0
			if k > 0 {
				d = 0.01 * r.Float64()
			}
			h.Score = append(h.Score, math.Round(s*40)/40)
			h.Ref = append(h.Ref, ref)
			h.Dist = append(h.Dist, d)
		}
	}
	c := Costs{Cheap: 1e-4, Reference: 1e-2, Diff: 1e-6}
	p, err := Optimize(h, c, 0.99)
	if err != nil {
		t.Fatal(err)
	}
	if p.DiffThreshold <= 0 || p.ReuseFraction < 0.5 {
		t.Errorf("detector not used: %+v", p)
	}
	if p.Agreement < 0.99 {
		t.Errorf("agreement %v", p.Agreement)
	}
	want := exhaustive(h, c, 0.99, diffCandidates(h.Dist[1:], 32))
	if p.Cost > want.Cost*1.10 {
		t.Errorf("cost %g more than 10%% above exhaustive %g", p.Cost, want.Cost)
	}
	noDiff := exhaustive(h, c, 0.99, nil)
	if p.Cost >= noDiff.Cost {
		t.Errorf("detector plan %g not cheaper than none %g", p.Cost, noDiff.Cost)
	}
}

func TestOptimizeErrors(t *testing.T) {
	if _, err := Optimize(&Heldout{Binary: true}, Costs{}, 0.9); err == nil {
		t.Error("empty sample accepted")
	}
	if _, err := Optimize(&Heldout{Binary: true, Score: []float64{1}, Ref: []int{1, 0}}, Costs{}, 0.9); err == nil {
		t.Error("unequal lengths accepted")
	}
	if _, err := Optimize(&Heldout{Binary: true, Score: []float64{1}, Ref: []int{1}}, Costs{}, 1.5); err == nil {
		t.Error("target 1.5 accepted")
	}
}

func BenchmarkOptimize(b *testing.B) {
	h := synth(rand.New(rand.NewPCG(1, 1)), 10000, true)
	c := Costs{Cheap: 1e-5, Reference: 1e-2}
	for b.Loop() {
		Optimize(h, c, 0.99)
	}
}

func TestErrorBudget(t *testing.T) {
	// Hand-computed Wilson bounds: 9 errors in 1564 give an upper 95 %
	// bound of 0.00986, 10 give 0.01068.
	if got := errorBudget(1564, 0.99, 0.95); got != 9 {
		t.Errorf("budget %d, want 9", got)
	}
	if got := errorBudget(1564, 0.99, 0); got != 15 {
		t.Errorf("plain budget %d, want 15", got)
	}
	if got := errorBudget(100, 0.99, 0.95); got != -1 {
		t.Errorf("100 rows cannot show 99 %% at 95 %% confidence, got budget %d", got)
	}
	for _, c := range []struct{ p, z float64 }{{0.95, 1.6448536}, {0.5, 0}, {0.975, 1.9599640}, {0.01, -2.3263479}} {
		if got := normalQuantile(c.p); math.Abs(got-c.z) > 1e-6 {
			t.Errorf("quantile(%v) = %v, want %v", c.p, got, c.z)
		}
	}
}

func TestOptimizeConfidentIsStricter(t *testing.T) {
	h := synth(rand.New(rand.NewPCG(4, 4)), 2000, true)
	c := Costs{Cheap: 1e-5, Reference: 1e-2}
	plain, _ := Optimize(h, c, 0.98)
	conf, err := OptimizeConfident(h, c, 0.98, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	if conf.Agreement <= plain.Agreement || conf.ReferenceFraction <= plain.ReferenceFraction {
		t.Errorf("confident %+v not stricter than plain %+v", conf, plain)
	}
	if errs := int(math.Round((1 - conf.Agreement) * 2000)); errs > errorBudget(2000, 0.98, 0.95) {
		t.Errorf("%d errors over the budget", errs)
	}
}

// With a confidence margin the optimizer is still exact: it matches
// exhaustive search at the agreement the Wilson budget allows.
func TestOptimizeConfidentMatchesExhaustiveSearch(t *testing.T) {
	c := Costs{Cheap: 1e-5, Reference: 1e-2}
	for seed := range 4 {
		for _, binary := range []bool{true, false} {
			for _, target := range []float64{0.95, 0.99} {
				h := synth(rand.New(rand.NewPCG(uint64(seed), 11)), 1000, binary)
				got, err := OptimizeConfident(h, c, target, 0.95)
				if err != nil {
					t.Fatal(err)
				}
				budget := errorBudget(1000, target, 0.95)
				want := exhaustive(h, c, 1-float64(budget)/1000, nil)
				if got.Cost > want.Cost*(1+1e-9) || got.Cost < want.Cost*(1-1e-9) {
					t.Errorf("seed %d binary %v target %v: cost %g (ref %.3f), exhaustive at budget %d %g (ref %.3f)",
						seed, binary, target, got.Cost, got.ReferenceFraction, budget, want.Cost, want.ReferenceFraction)
				}
			}
		}
	}
}

func TestWindowBudget(t *testing.T) {
	// P(X <= 3) for X ~ BetaBinomial(392, e+1/2, 1564-e+1/2), computed
	// independently (Python, lgamma sums): e=3 0.976, e=4 0.956, e=5 0.930.
	for _, c := range []struct {
		e    int
		want float64
	}{{3, 0.976}, {4, 0.956}, {5, 0.930}} {
		if got := betaBinomialCDF(3, 392, float64(c.e)+0.5, float64(1564-c.e)+0.5); math.Abs(got-c.want) > 0.0015 {
			t.Errorf("e=%d: P = %.4f, want %.3f", c.e, got, c.want)
		}
	}
	// A beta-binomial with a = b = 1 is uniform on 0..m.
	if got := betaBinomialCDF(4, 9, 1, 1); math.Abs(got-0.5) > 1e-12 {
		t.Errorf("uniform CDF(4 of 9) = %v, want 0.5", got)
	}
	cases := []struct {
		n, m       int
		target, cf float64
		want       int
	}{
		{1564, 392, 0.99, 0.95, 4},
		{1564, 250, 0.99, 0.95, 4},
		{1564, 392, 0.99, 0.97, 3},
		// P = 0.9995 for e = 0 and 0.9964 for e = 1.
		{1564, 392, 0.99, 0.999, 0},
		// 100 rows: P(0 of 5 disagree) = 0.976 for e = 0.
		{100, 5, 0.99, 0.99, -1},
	}
	for _, c := range cases {
		if got := windowBudget(c.n, c.m, c.target, c.cf); got != c.want {
			t.Errorf("windowBudget(%d, %d, %v, %v) = %d, want %d", c.n, c.m, c.target, c.cf, got, c.want)
		}
	}
	// A small window demands a lower rate than the long-run bound.
	if w, r := windowBudget(1564, 392, 0.99, 0.95), errorBudget(1564, 0.99, 0.95); w >= r {
		t.Errorf("window budget %d not below the rate budget %d", w, r)
	}
}

// With a window margin the optimizer is still exact at the budget the
// margin allows.
func TestOptimizeWindowMatchesExhaustiveSearch(t *testing.T) {
	c := Costs{Cheap: 1e-5, Reference: 1e-2}
	for seed := range 3 {
		for _, binary := range []bool{true, false} {
			h := synth(rand.New(rand.NewPCG(uint64(seed), 12)), 1000, binary)
			m := Margin{Confidence: 0.95, Window: 300}
			got, err := OptimizeMargin(h, c, 0.97, m)
			if err != nil {
				t.Fatal(err)
			}
			budget := windowBudget(1000, 300, 0.97, 0.95)
			if budget < 0 || budget >= errorBudget(1000, 0.97, 0.95) {
				t.Fatalf("window budget %d", budget)
			}
			want := exhaustive(h, c, 1-float64(budget)/1000, nil)
			if got.Cost > want.Cost*(1+1e-9) || got.Cost < want.Cost*(1-1e-9) {
				t.Errorf("seed %d binary %v: cost %g (ref %.3f), exhaustive at budget %d %g (ref %.3f)",
					seed, binary, got.Cost, got.ReferenceFraction, budget, want.Cost, want.ReferenceFraction)
			}
		}
	}
	if _, err := OptimizeMargin(synth(rand.New(rand.NewPCG(1, 1)), 10, true), c, 0.9, Margin{Confidence: 0.9, Window: -1}); err == nil {
		t.Error("negative window accepted")
	}
}
