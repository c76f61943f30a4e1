package labelmodel

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/label"
)

// small is the hand-worked matrix used below: 5 rows, 3 LFs, 2 classes.
//
//	row  lf0 lf1 lf2   one-hot codes (lf·2+vote)
//	0     0   0   -    0 2
//	1     1   -   1    1 5
//	2     0   1   1    0 3 5
//	3     -   -   -    (none)
//	4     0   0   -    0 2
func small(t testing.TB) *label.Matrix {
	t.Helper()
	x, err := label.FromDense([][]int{{0, 0, -1}, {1, -1, 1}, {0, 1, 1}, {-1, -1, -1}, {0, 0, -1}}, 3, nil, []string{"neg", "pos"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func checkNear(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values %v, want %d %v", what, len(got), got, len(want), want)
	}
	for i := range got {
		if !near(got[i], want[i], tol) {
			t.Errorf("%s[%d] = %.9g, want %.9g (all: %v)", what, i, got[i], want[i], got)
		}
	}
}

func TestStatsSmall(t *testing.T) {
	x := small(t)
	for _, workers := range []int{1, 2, 4} {
		s, err := ComputeStats(t.Context(), x, StatsOptions{Workers: workers, Patterns: true})
		if err != nil {
			t.Fatal(err)
		}
		// Counts by hand from the codes in small's doc comment.
		want := make([]int64, 36)
		set := func(a, b int, v int64) { want[a*6+b], want[b*6+a] = v, v }
		set(0, 0, 3)
		set(1, 1, 1)
		set(2, 2, 2)
		set(3, 3, 1)
		set(5, 5, 2)
		set(0, 2, 2)
		set(1, 5, 1)
		set(0, 3, 1)
		set(0, 5, 1)
		set(3, 5, 1)
		if !slices.Equal(s.Counts, want) {
			t.Errorf("workers %d: counts\n%v, want\n%v", workers, s.Counts, want)
		}
		if !slices.Equal(s.Votes, []int64{4, 3, 2}) {
			t.Errorf("votes %v, want [4 3 2]", s.Votes)
		}
		checkNear(t, "coverage", s.Coverage(), []float64{0.8, 0.6, 0.4}, 1e-15)
		if o := s.Overlap(); o[0] != 0.6 || o[2] != 0.4 {
			t.Errorf("O[0,0], O[0,2] = %v, %v; want 0.6, 0.4", o[0], o[2])
		}
		p := s.Patterns
		var got []string
		for q := 0; q < p.Len(); q++ {
			var b strings.Builder
			for _, c := range p.Row(q) {
				b.WriteByte(byte('0' + c))
			}
			got = append(got, b.String()+"x"+string(rune('0'+p.Count[q])))
		}
		if !slices.Equal(got, []string{"02x2", "15x1", "035x1", "x1"}) {
			t.Errorf("workers %d: patterns %q", workers, got)
		}
	}
}

func TestStatsParallelMatchesSerial(t *testing.T) {
	x, _ := synth(20_000, []float64{0.6, 0.7, 0.8, 0.9, 0.65}, []float64{0.5, 0.2, 0.9, 0.4, 0.6}, []float64{0.3, 0.3, 0.4}, 3)
	one, err := ComputeStats(t.Context(), x, StatsOptions{Workers: 1, Patterns: true})
	if err != nil {
		t.Fatal(err)
	}
	four, err := ComputeStats(t.Context(), x, StatsOptions{Workers: 4, Patterns: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(one.Counts, four.Counts) || !slices.Equal(one.Votes, four.Votes) {
		t.Error("counts differ between 1 and 4 workers")
	}
	if !slices.Equal(one.Patterns.Code, four.Patterns.Code) || !slices.Equal(one.Patterns.Count, four.Patterns.Count) {
		t.Error("pattern tables differ between 1 and 4 workers")
	}
	var total int64
	for _, c := range four.Patterns.Count {
		total += c
	}
	if total != int64(x.N) {
		t.Errorf("pattern counts sum to %d, want %d rows", total, x.N)
	}
}

func TestStatsBadMatrix(t *testing.T) {
	good := small(t)
	for _, tc := range []struct {
		name string
		edit func(x *label.Matrix)
		want string
	}{
		{"one class", func(x *label.Matrix) { x.Classes = x.Classes[:1] }, "at least 2"},
		{"no LFs", func(x *label.Matrix) { x.LFs = nil }, "no LFs"},
		{"short rowptr", func(x *label.Matrix) { x.RowPtr = x.RowPtr[:3] }, "row pointers"},
		{"vote out of range", func(x *label.Matrix) { x.Vote = slices.Clone(x.Vote); x.Vote[1] = 2 }, "vote 2"},
		{"lf out of range", func(x *label.Matrix) { x.LF = slices.Clone(x.LF); x.LF[1] = 7 }, "LF index 7"},
		{"lfs out of order", func(x *label.Matrix) { x.LF = slices.Clone(x.LF); x.LF[0], x.LF[1] = x.LF[1], x.LF[0] }, "out of order"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := *good
			tc.edit(&x)
			_, err := ComputeStats(t.Context(), &x, StatsOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestMajoritySmall(t *testing.T) {
	x := small(t)
	m, err := New(Majority, Options{UniformPrior: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Fit(t.Context(), x); err != nil {
		t.Fatal(err)
	}
	p, err := m.PredictProba(x)
	if err != nil {
		t.Fatal(err)
	}
	// Row 2 has one vote for 0 and two for 1; row 3 has none.
	checkNear(t, "proba", p, []float64{1, 0, 0, 1, 0, 1, 0.5, 0.5, 1, 0}, 0)
	for _, tc := range []struct {
		policy TieBreak
		want   []int
	}{
		{TieAbstain, []int{0, 1, 1, -1, 0}},
		// int(sha1("3").hexdigest(), 16) % 2 == 1
		{TieRandom, []int{0, 1, 1, 1, 0}},
	} {
		got, err := m.Predict(x, tc.policy, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%v: predictions %v, want %v", tc.policy, got, tc.want)
		}
	}
	// Agreement with the MV label: lf0 agrees on rows 0, 1, 4 of its 4.
	checkNear(t, "lf accuracies", m.LFAccuracies(), []float64{0.75, 1, 1}, 1e-15)
	checkNear(t, "class balance", m.ClassBalance(), []float64{0.5, 0.5}, 1e-15)

	// FitStats over the pattern table gives the same diagnostics.
	s, err := ComputeStats(t.Context(), x, StatsOptions{Patterns: true})
	if err != nil {
		t.Fatal(err)
	}
	m2, _ := New(Majority, Options{UniformPrior: true})
	if err := m2.FitStats(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	checkNear(t, "lf accuracies from patterns", m2.LFAccuracies(), []float64{0.75, 1, 1}, 1e-15)
	checkNear(t, "class balance from patterns", m2.ClassBalance(), []float64{0.5, 0.5}, 1e-15)
}

func TestProbsToPreds(t *testing.T) {
	probs := []float64{
		0.5, 0.499995, // within 1e-5: tie
		0.5, 0.49998, // not a tie
		0.2, 0.8,
		1.0 / 3, 1.0 / 3, // (padding for k=2 rows)
	}
	got, err := ProbsToPreds(probs, 2, TieAbstain, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []int{-1, 0, 1, -1}) {
		t.Errorf("abstain: %v", got)
	}
	// Three-way ties: row i takes tied class sha1(str(i)) % 3; values from
	// python3 -c 'import hashlib; print([int(hashlib.sha1(str(i).encode()).hexdigest(),16)%3 for i in range(12)])'
	// = [0 0 0 1 0 0 1 2 1 1 0 2].
	tie3 := slices.Repeat([]float64{0.25, 0.25, 0.25}, 12)
	got, err = ProbsToPreds(tie3, 3, TieRandom, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{0, 0, 0, 1, 0, 0, 1, 2, 1, 1, 0, 2}; !slices.Equal(got, want) {
		t.Errorf("random: %v, want %v", got, want)
	}
	// Ties among a subset: classes 1 and 3 of 4 tie; sha1 % 2 picks.
	// % 2 for i = 0..3 is [0 1 0 1].
	sub := slices.Repeat([]float64{0.1, 0.4, 0.1, 0.4}, 4)
	got, _ = ProbsToPreds(sub, 4, TieRandom, 0)
	if want := []int{1, 3, 1, 3}; !slices.Equal(got, want) {
		t.Errorf("random over a subset: %v, want %v", got, want)
	}
	a, _ := ProbsToPreds(tie3, 3, TieTrueRandom, 9)
	b, _ := ProbsToPreds(tie3, 3, TieTrueRandom, 9)
	if !slices.Equal(a, b) {
		t.Errorf("true-random is not deterministic for a seed: %v vs %v", a, b)
	}
	if got, _ := ProbsToPreds([]float64{math.NaN(), 0.5}, 2, TieRandom, 0); got[0] != Abstain {
		t.Errorf("NaN row: %v, want abstain", got)
	}
	if _, err := ProbsToPreds(probs[:3], 2, TieAbstain, 0); err == nil {
		t.Error("no error for a ragged probability array")
	}
	for _, name := range []string{"abstain", "random", "true-random"} {
		p, err := ParseTieBreak(name)
		if err != nil || p.String() != name {
			t.Errorf("ParseTieBreak(%q) = %v, %v", name, p, err)
		}
	}
	if _, err := ParseTieBreak("coin"); err == nil {
		t.Error("no error for an unknown policy")
	}
}

func TestSnorkelHashMod(t *testing.T) {
	// python3: int(hashlib.sha1(str(i).encode()).hexdigest(), 16) % 4
	want := []int{0, 3, 0, 3, 2, 0, 0, 2, 3, 3, 1, 3}
	for i, w := range want {
		if got := snorkelHashMod(i, 4); got != w {
			t.Errorf("hash(%d) %% 4 = %d, want %d", i, got, w)
		}
	}
}

func TestMT19937MatchesNumpy(t *testing.T) {
	// numpy.random.seed(s); numpy.random.random()
	for _, tc := range []struct {
		seed uint32
		want []float64
	}{
		{0, []float64{0.5488135039273248, 0.7151893663724195, 0.6027633760716439}},
		{42, []float64{0.3745401188473625, 0.9507143064099162}},
		{123, []float64{0.6964691855978616, 0.28613933495037946}},
	} {
		r := newMT19937(tc.seed)
		for i, w := range tc.want {
			if got := r.float64(); got != w {
				t.Errorf("seed %d draw %d = %v, want %v", tc.seed, i, got, w)
			}
		}
	}
}

func TestSnorkelInitClampPredict(t *testing.T) {
	x := small(t)
	s, err := ComputeStats(t.Context(), x, StatsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	opt := Options{UniformPrior: true, Epochs: -1}.withDefaults()
	opt.Epochs = 0
	f := &snorkelFit{m: 3, k: 2, d: 6, o: s.Overlap(), p: []float64{0.5, 0.5}, opt: opt}
	if err := f.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// diag(O) = 0.6 0.2 0.4 0.2 0 0.4; mu0[a, a%2] = diag·0.7/0.5, scaled by
	// numpy's first draw for seed 0.
	u := 0.5488135039273248
	want := []float64{
		0.84 * u, 0, 0, 0.28 * u,
		0.56 * u, 0, 0, 0.28 * u,
		0, 0, 0, 0.56 * u,
	}
	checkNear(t, "mu init", f.mu, want, 1e-15)

	// Through the model: Epochs 0 is not reachable by Options (0 means
	// 100), so drive FitStats' post-processing on this fit by hand.
	m := &snorkelModel{opt: opt}
	m.opt.Epochs = 0
	// ε = min(0.01, 10^−ceil(log10 5)) = 0.01.
	if err := m.FitStats(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		want[i] = max(want[i], 0.01)
	}
	checkNear(t, "mu clamped", m.mu, want, 1e-15)
	// Row 0 votes lf0=0, lf1=0: P(0) ∝ .5·mu[0,0]·mu[2,0], P(1) ∝ .5·.01·.01.
	a, b := 0.84*u*0.56*u, 0.01*0.01
	p, err := m.PredictProba(x)
	if err != nil {
		t.Fatal(err)
	}
	checkNear(t, "row 0", p[0:2], []float64{a / (a + b), b / (a + b)}, 1e-12)
	checkNear(t, "row 3 (no votes) gets p", p[6:8], []float64{0.5, 0.5}, 1e-15)
	// Weights: (mu[0,0]·.5 + mu[1,1]·.5)/coverage.
	checkNear(t, "weights", m.LFAccuracies(), []float64{
		(0.84*u + 0.28*u) * 0.5 / 0.8,
		(0.56*u + 0.28*u) * 0.5 / 0.6,
		(0.01 + 0.56*u) * 0.5 / 0.4,
	}, 1e-12)
}

// TestSnorkelGradient checks the analytic gradient (l2 term included) against
// central differences of the loss.
func TestSnorkelGradient(t *testing.T) {
	x, _ := synth(2000, []float64{0.7, 0.8, 0.9, 0.6}, []float64{0.5, 0.6, 0.7, 0.8}, []float64{0.3, 0.3, 0.4}, 5)
	s, err := ComputeStats(t.Context(), x, StatsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	opt := Options{UniformPrior: true, Seed: 3, L2: 0.3}.withDefaults()
	f := &snorkelFit{m: 4, k: 3, d: 12, o: s.Overlap(), p: []float64{0.3, 0.3, 0.4}, opt: opt}
	f.init()
	n := len(f.mu)
	g, mp, r := make([]float64, n), make([]float64, n), make([]float64, f.d*f.d)
	f.lossGrad(g, mp, r)
	scratch := make([]float64, n)
	for i := range f.mu {
		const h = 1e-6
		orig := f.mu[i]
		f.mu[i] = orig + h
		lp := f.lossGrad(scratch, mp, r)
		f.mu[i] = orig - h
		lm := f.lossGrad(scratch, mp, r)
		f.mu[i] = orig
		// The weight decay l2·mu is not part of the loss.
		num := (lp-lm)/(2*h) + opt.L2*orig
		if !near(num, g[i], 1e-6) {
			t.Errorf("∂loss/∂mu[%d] = %.9g, central difference %.9g", i, g[i], num)
		}
	}
}

// TestSnorkelOptimizerSteps checks the first two SGD-with-momentum steps
// against torch's update rule written out.
func TestSnorkelOptimizerSteps(t *testing.T) {
	x, _ := synth(1000, []float64{0.7, 0.8, 0.9}, []float64{0.5, 0.6, 0.7}, []float64{0.5, 0.5}, 6)
	s, _ := ComputeStats(t.Context(), x, StatsOptions{})
	mk := func(epochs int) *snorkelFit {
		opt := Options{UniformPrior: true, Seed: 1, Epochs: epochs}.withDefaults()
		return &snorkelFit{m: 3, k: 2, d: 6, o: s.Overlap(), p: []float64{0.5, 0.5}, opt: opt}
	}
	ref := mk(1)
	ref.init()
	n := len(ref.mu)
	g0, mp, r := make([]float64, n), make([]float64, n), make([]float64, 36)
	ref.lossGrad(g0, mp, r)
	step1 := make([]float64, n)
	for i := range step1 {
		step1[i] = ref.mu[i] - 0.01*g0[i]
	}
	one := mk(1)
	one.run(context.Background())
	checkNear(t, "after 1 step", one.mu, step1, 1e-15)
	copy(ref.mu, step1)
	g1 := make([]float64, n)
	ref.lossGrad(g1, mp, r)
	two := mk(2)
	two.run(context.Background())
	for i := range step1 {
		step1[i] -= 0.01 * (0.9*g0[i] + g1[i])
	}
	checkNear(t, "after 2 steps", two.mu, step1, 1e-15)
}

func TestBreakSymmetry(t *testing.T) {
	// Three LFs whose columns are swapped: the fix swaps them back when the
	// priors are equal, and leaves them when they differ.
	swapped := []float64{
		0.1, 0.8, 0.05, 0.1, // lf0: rows a=0, a=1
		0.2, 0.7, 0.1, 0.2,
		0.1, 0.9, 0.05, 0.05,
	}
	mu := slices.Clone(swapped)
	breakSymmetry(mu, []float64{0.5, 0.5}, 3, 2)
	want := []float64{0.8, 0.1, 0.1, 0.05, 0.7, 0.2, 0.2, 0.1, 0.9, 0.1, 0.05, 0.05}
	checkNear(t, "equal priors", mu, want, 0)
	mu = slices.Clone(swapped)
	breakSymmetry(mu, []float64{0.3, 0.7}, 3, 2)
	checkNear(t, "unequal priors", mu, swapped, 0)
}

func TestAssignMin(t *testing.T) {
	cost := [][]float64{
		{4, 1, 3},
		{2, 0, 5},
		{3, 2, 2},
	}
	// Optimum 1 + 2 + 2 = 5: row 0 → 1, row 1 → 0, row 2 → 2.
	if got := assignMin(cost); !slices.Equal(got, []int{1, 0, 2}) {
		t.Errorf("assignment %v, want [1 0 2]", got)
	}
}

func TestSnorkelClassBalance(t *testing.T) {
	x := small(t)
	for _, tc := range []struct {
		name string
		opt  Options
		want []float64
		err  string
	}{
		{"uniform", Options{UniformPrior: true}, []float64{0.5, 0.5}, ""},
		{"given", Options{ClassBalance: []float64{0.3, 0.7}}, []float64{0.3, 0.7}, ""},
		{"dev", Options{DevLabels: []int{1, 1, 0, 1}}, []float64{0.25, 0.75}, ""},
		{"dev missing a class", Options{DevLabels: []int{1, 1}}, nil, "no row of class 0"},
		{"given wrong length", Options{ClassBalance: []float64{1}}, nil, "1 entries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(Snorkel, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			err = m.Fit(t.Context(), x)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkNear(t, "class balance", m.ClassBalance(), tc.want, 1e-15)
		})
	}
}

func TestDawidSkeneOneIteration(t *testing.T) {
	x := small(t)
	m, err := New(DawidSkene, Options{UniformPrior: true, MaxIter: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Fit(t.Context(), x); err != nil {
		t.Fatal(err)
	}
	ds := m.(*dsModel)
	// M-step from the MV posteriors [1 0] [0 1] [0 1] [.5 .5] [1 0]: each
	// class weighs 2.5 rows. lf0 given Y=0 votes 0 on rows 0, 4 (2), abstains
	// on row 3 (.5): [.8 0 .2]; given Y=1 votes 0 on row 2, 1 on row 1,
	// abstains .5: [.4 .4 .2]. Likewise lf1 [.8 0 .2] [0 .4 .6], lf2 [0 0 1]
	// [0 .8 .2].
	checkNear(t, "prior", ds.prior, []float64{0.5, 0.5}, 1e-15)
	checkNear(t, "theta", ds.theta, []float64{
		0.8, 0, 0.2, 0.4, 0.4, 0.2,
		0.8, 0, 0.2, 0, 0.4, 0.6,
		0, 0, 1, 0, 0.8, 0.2,
	}, 1e-15)
	p, err := m.PredictProba(x)
	if err != nil {
		t.Fatal(err)
	}
	// Row 3 (all abstain): .5·.2·.2·1 = .02 vs .5·.2·.6·.2 = .012.
	checkNear(t, "proba", p, []float64{1, 0, 0, 1, 0, 1, 0.625, 0.375, 1, 0}, 1e-12)
	// lf0: (.5·.8 + .5·.4) / (.5·.8 + .5·.8) = .75.
	checkNear(t, "lf accuracies", m.LFAccuracies(), []float64{0.75, 1, 1}, 1e-12)
}

func TestDawidSkeneConverges(t *testing.T) {
	x, _ := synth(5000, []float64{0.6, 0.7, 0.8, 0.9, 0.75}, []float64{0.5, 0.6, 0.7, 0.8, 0.9}, []float64{0.5, 0.5}, 8)
	m, _ := New(DawidSkene, Options{UniformPrior: true})
	if err := m.Fit(t.Context(), x); err != nil {
		t.Fatal(err)
	}
	if it := m.(*dsModel).iters; it >= 100 {
		t.Errorf("EM ran all %d iterations without meeting tol 1e-5", it)
	}
}

// triplets is the hand-worked triplet case: every LF votes on every row
// (λ = +1 for class 1, −1 for class 0).
//
//	row  λ0 λ1 λ2
//	0    +  +  +
//	1    +  +  +
//	2    −  −  −
//	3    −  −  +
//	4    +  −  +
//	5    −  +  +
//
// M01 = M02 = M12 = 2/6, so |E[λ_i·Y]| = sqrt(1/3) for each LF.
func TestTripletHand(t *testing.T) {
	x, err := label.FromDense([][]int{{1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {0, 0, 1}, {1, 0, 1}, {0, 1, 1}}, 3, nil, nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := New(Triplet, Options{UniformPrior: true})
	if err := m.Fit(t.Context(), x); err != nil {
		t.Fatal(err)
	}
	a := math.Sqrt(1.0 / 3)
	agree := (1 + a) / 2 // P(λ·Y = 1), nobody abstains
	// lf0 (and lf1): P(λ=+1) = 1/2, so P(λ=+1, Y=+1) = (agree − .5 + .5)/2.
	x0 := agree / 2
	// lf2: P(λ=+1) = 5/6; P(λ=−1, Y=+1) = .5 − x2 < 0 and is flipped.
	x2 := (agree - 0.5 + 5.0/6) / 2
	row2neg := []float64{agree - x2, 0, 5.0/6 - x2}
	row2pos := []float64{math.Abs(0.5 - x2), 0, x2}
	norm := func(v []float64) []float64 {
		s := v[0] + v[1] + v[2]
		return []float64{v[0] / s, v[1] / s, v[2] / s}
	}
	tm := m.(*tripletModel)
	checkNear(t, "lf0 | Y=-1", tm.tables[0][0][0][:], []float64{(agree - x0) / 0.5, 0, (0.5 - x0) / 0.5}, 1e-12)
	checkNear(t, "lf0 | Y=+1", tm.tables[0][0][1][:], []float64{(0.5 - x0) / 0.5, 0, x0 / 0.5}, 1e-12)
	checkNear(t, "lf2 | Y=-1", tm.tables[0][2][0][:], norm(row2neg), 1e-12)
	checkNear(t, "lf2 | Y=+1", tm.tables[0][2][1][:], norm(row2pos), 1e-12)
	checkNear(t, "lf accuracies", m.LFAccuracies()[:2], []float64{agree, agree}, 1e-12)

	p, err := m.PredictProba(x)
	if err != nil {
		t.Fatal(err)
	}
	// Row 0 (+ + +): P(+) ∝ .5·(x0/.5)²·P(λ2=+|+), P(−) ∝ .5·((.5−x0)/.5)²·P(λ2=+|−).
	pos := (x0 / 0.5) * (x0 / 0.5) * norm(row2pos)[2]
	neg := ((0.5 - x0) / 0.5) * ((0.5 - x0) / 0.5) * norm(row2neg)[2]
	checkNear(t, "row 0", p[0:2], []float64{neg / (pos + neg), pos / (pos + neg)}, 1e-12)
}

func TestNeedsThreeLFs(t *testing.T) {
	x, _ := label.FromDense([][]int{{0, 1}, {1, 1}}, 2, nil, nil, 2)
	for _, method := range []string{Snorkel, Triplet} {
		m, _ := New(method, Options{UniformPrior: true})
		if err := m.Fit(t.Context(), x); err == nil || !strings.Contains(err.Error(), "at least 3") {
			t.Errorf("%s: error %v, want one about 3 LFs", method, err)
		}
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		method string
		opt    Options
		want   string
	}{
		{"metal", Options{UniformPrior: true}, "unknown method"},
		{Snorkel, Options{UniformPrior: true, Seed: 1 << 32}, "below 2^32"},
		{Snorkel, Options{UniformPrior: true, Optimizer: "rmsprop"}, "optimizer"},
		{Snorkel, Options{ClassBalance: []float64{0.5, 0}}, "positive prior"},
		{Snorkel, Options{UniformPrior: true, MuEps: 0.7}, "mu eps"},
	} {
		if _, err := New(tc.method, tc.opt); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%q, %+v): error %v, want %q", tc.method, tc.opt, err, tc.want)
		}
	}
}

func TestDeterministic(t *testing.T) {
	x, _ := synth(3000, []float64{0.6, 0.7, 0.8, 0.9}, []float64{0.5, 0.6, 0.7, 0.8}, []float64{0.4, 0.6}, 4)
	for _, method := range Methods {
		var outs [][]float64
		for _, workers := range []int{1, 3} {
			m, _ := New(method, Options{UniformPrior: true, Seed: 11, Workers: workers})
			if err := m.Fit(t.Context(), x); err != nil {
				t.Fatal(err)
			}
			p, err := m.PredictProba(x)
			if err != nil {
				t.Fatal(err)
			}
			outs = append(outs, p)
		}
		if method != DawidSkene && !slices.Equal(outs[0], outs[1]) {
			t.Errorf("%s: probabilities differ between runs", method)
		}
		if method == DawidSkene {
			checkNear(t, "dawid-skene across worker counts", outs[0], outs[1], 1e-9)
		}
	}
}

func TestAdam(t *testing.T) {
	x, gold := synth(20_000, []float64{0.6, 0.7, 0.8, 0.9, 0.75}, []float64{0.5, 0.6, 0.7, 0.8, 0.9}, []float64{0.5, 0.5}, 10)
	m, _ := New(Snorkel, Options{UniformPrior: true, Optimizer: Adam, Epochs: 300, Seed: 1})
	if err := m.Fit(t.Context(), x); err != nil {
		t.Fatal(err)
	}
	pred, _ := m.Predict(x, TieRandom, 0)
	mv, _ := New(Majority, Options{UniformPrior: true})
	mv.Fit(t.Context(), x)
	mvPred, _ := mv.Predict(x, TieRandom, 0)
	if a, b := accuracy(pred, gold), accuracy(mvPred, gold); a <= b {
		t.Errorf("adam-fitted snorkel accuracy %.4f does not beat majority vote %.4f", a, b)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	x, _ := synth(3000, []float64{0.6, 0.7, 0.8, 0.9}, []float64{0.5, 0.6, 0.7, 0.8}, []float64{0.3, 0.3, 0.4}, 12)
	for _, method := range Methods {
		t.Run(method, func(t *testing.T) {
			m, _ := New(method, Options{UniformPrior: true, Seed: 2})
			if err := m.Fit(t.Context(), x); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := m.Save(&buf); err != nil {
				t.Fatal(err)
			}
			saved := buf.String()
			back, err := Load(&buf)
			if err != nil {
				t.Fatalf("load: %v\n%s", err, saved)
			}
			if back.Method() != method || !slices.Equal(back.LFs(), x.LFs) || !slices.Equal(back.Classes(), x.Classes) {
				t.Errorf("loaded %s %v %v", back.Method(), back.LFs(), back.Classes())
			}
			p1, _ := m.PredictProba(x)
			p2, err := back.PredictProba(x)
			if err != nil {
				t.Fatal(err)
			}
			checkNear(t, "reloaded probabilities", p2, p1, 1e-12)
			checkNear(t, "reloaded accuracies", back.LFAccuracies(), m.LFAccuracies(), 1e-12)

			// Another matrix with a renamed LF is refused, naming it.
			y := *x
			y.LFs = slices.Clone(x.LFs)
			y.LFs[2] = "renamed"
			if _, err := back.PredictProba(&y); err == nil || !strings.Contains(err.Error(), `"renamed"`) {
				t.Errorf("renamed LF: error %v", err)
			}
			y.LFs = x.LFs[:3]
			if _, err := back.Predict(&y, TieAbstain, 0); err == nil || !strings.Contains(err.Error(), "LFs") {
				t.Errorf("missing LF: error %v", err)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name, json, want string
	}{
		{"empty", ``, "EOF"},
		{"not json", `{"format": `, "unexpected EOF"},
		{"wrong format", `{"format":"pickle","version":1}`, "format"},
		{"unknown field", `{"format":"dawn-labelmodel","version":1,"weights":[]}`, "unknown field"},
		{"one class", `{"format":"dawn-labelmodel","version":1,"method":"majority","classes":["a"],"lfs":["x"]}`, "at least 2"},
		{"duplicate lf", `{"format":"dawn-labelmodel","version":1,"method":"majority","classes":["a","b"],"lfs":["x","x"],"class_balance":[0.5,0.5],"lf_accuracies":[1,1]}`, "appears twice"},
		{"bad balance", `{"format":"dawn-labelmodel","version":1,"method":"majority","classes":["a","b"],"lfs":["x"],"class_balance":[0.5,-1],"lf_accuracies":[1]}`, "class_balance[1]"},
		{"mu shape", `{"format":"dawn-labelmodel","version":1,"method":"snorkel","classes":["a","b"],"lfs":["x"],"class_balance":[0.5,0.5],"coverage":[1],"mu":[[0.5,0.5]]}`, "mu: 1 rows, want 2"},
		{"confusion not a distribution", `{"format":"dawn-labelmodel","version":1,"method":"dawid-skene","classes":["a","b"],"lfs":["x"],"class_balance":[0.5,0.5],"confusion":[[[0.5,0.5,0.5],[0.2,0.3,0.5]]]}`, "sums to"},
		{"unknown method", `{"format":"dawn-labelmodel","version":1,"method":"metal","classes":["a","b"],"lfs":["x"],"class_balance":[0.5,0.5]}`, "unknown method"},
		{"trailing data", `{"format":"dawn-labelmodel","version":1,"method":"majority","classes":["a","b"],"lfs":["x"],"class_balance":[0.5,0.5],"lf_accuracies":[1]} {}`, "after the model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(strings.NewReader(tc.json))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestUnfitted(t *testing.T) {
	x := small(t)
	for _, method := range Methods {
		m, _ := New(method, Options{UniformPrior: true})
		if _, err := m.PredictProba(x); err == nil || !strings.Contains(err.Error(), "not fitted") {
			t.Errorf("%s: predict before fit: %v", method, err)
		}
		if err := m.Save(&bytes.Buffer{}); err == nil {
			t.Errorf("%s: save before fit succeeded", method)
		}
	}
}

func TestFitCancelled(t *testing.T) {
	x, _ := synth(200_000, []float64{0.6, 0.7, 0.8}, []float64{0.5, 0.6, 0.7}, []float64{0.5, 0.5}, 1)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	m, _ := New(Snorkel, Options{UniformPrior: true})
	if err := m.Fit(ctx, x); err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Errorf("fit with a cancelled context: %v", err)
	}
}

func FuzzLoad(f *testing.F) {
	x, _ := synth(500, []float64{0.6, 0.7, 0.8}, []float64{0.5, 0.6, 0.7}, []float64{0.3, 0.3, 0.4}, 1)
	for _, method := range Methods {
		m, _ := New(method, Options{UniformPrior: true})
		if err := m.Fit(context.Background(), x); err != nil {
			f.Fatal(err)
		}
		var buf bytes.Buffer
		m.Save(&buf)
		f.Add(buf.Bytes())
	}
	f.Add([]byte(`{"format":"dawn-labelmodel","version":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Load(bytes.NewReader(b))
		if err != nil {
			return
		}
		// A model that loads must predict on a matrix of its own shape
		// without panicking, and give distributions.
		rows := [][]int{make([]int, len(m.LFs())), make([]int, len(m.LFs()))}
		for j := range rows[0] {
			rows[0][j] = -1
			rows[1][j] = j % len(m.Classes())
		}
		y, err := label.FromDense(rows, len(m.LFs()), m.LFs(), m.Classes(), len(m.Classes()))
		if err != nil {
			t.Fatal(err)
		}
		p, err := m.PredictProba(y)
		if err != nil {
			t.Fatal(err)
		}
		k := len(m.Classes())
		for i := 0; i < 2; i++ {
			var s float64
			for _, v := range p[i*k : (i+1)*k] {
				if math.IsNaN(v) || v < 0 {
					t.Fatalf("row %d: probabilities %v", i, p[i*k:(i+1)*k])
				}
				s += v
			}
			if !near(s, 1, 1e-9) {
				t.Fatalf("row %d: probabilities sum to %v", i, s)
			}
		}
		m.LFAccuracies()
		if err := m.Save(&bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestEvaluate(t *testing.T) {
	x := small(t) // row 3 has no votes
	pred := []int{0, 1, 0, -1, 1}
	gold := []int{0, 1, 1, 1, 1}
	e, err := Evaluate(x, pred, gold)
	if err != nil {
		t.Fatal(err)
	}
	// Right on rows 0, 1, 4 of 5; covered rows 0, 1, 2, 4, right on 3 of 4.
	// Class 1: tp rows 1, 4; fn rows 2, 3; no fp: F1 = 4/6.
	want := Eval{Rows: 5, Accuracy: 0.6, Coverage: 0.8, CoveredAccuracy: 0.75, Abstained: 1, F1: 4.0 / 6}
	if e != want {
		t.Errorf("got %+v, want %+v", e, want)
	}
	if _, err := Evaluate(x, pred, []int{0, 1, 2, 1, 1}); err == nil || !strings.Contains(err.Error(), "row 2") {
		t.Errorf("bad gold: %v", err)
	}
	if _, err := Evaluate(x, pred[:2], gold); err == nil {
		t.Error("no error for too few predictions")
	}
}

func ExampleNew() {
	votes, _ := label.FromDense([][]int{
		{0, 0, -1}, {1, 1, 1}, {1, -1, 1}, {0, 0, 1}, {-1, 1, 1}, {0, 0, 0},
	}, 3, []string{"kw_free", "re_link", "short"}, []string{"ham", "spam"}, 2)
	m, _ := New(Snorkel, Options{UniformPrior: true, Seed: 123, Epochs: 500})
	if err := m.Fit(context.Background(), votes); err != nil {
		fmt.Println(err)
		return
	}
	pred, _ := m.Predict(votes, TieRandom, 0)
	fmt.Println(pred)
	// Output: [0 1 1 0 1 0]
}

// TestSnorkelDocExamples runs the examples in Snorkel v0.10's LabelModel
// docstrings (predict, score: checked by its doctests) with their answers.
func TestSnorkelDocExamples(t *testing.T) {
	fit := func(rows [][]int, opt Options) Model {
		t.Helper()
		x, err := label.FromDense(rows, 3, nil, nil, 2)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := New(Snorkel, opt)
		if err := m.Fit(t.Context(), x); err != nil {
			t.Fatal(err)
		}
		return m
	}
	predict := func(m Model, rows [][]int) []int {
		x, _ := label.FromDense(rows, 3, nil, nil, 2)
		p, err := m.Predict(x, TieAbstain, 0)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	// predict: L = [[0, 0, -1], [1, 1, -1], [0, 0, -1]] → [0, 1, 0].
	L := [][]int{{0, 0, -1}, {1, 1, -1}, {0, 0, -1}}
	for seed := uint64(0); seed < 5; seed++ {
		if got := predict(fit(L, Options{UniformPrior: true, Seed: seed}), L); !slices.Equal(got, []int{0, 1, 0}) {
			t.Errorf("seed %d: predict %v, want [0 1 0]", seed, got)
		}
	}
	// score: L = [[1, 1, -1], [0, 0, -1], [1, 1, -1]], Y = [1, 1, 1] →
	// accuracy 2/3, f1 0.8, i.e. predictions [1 0 1].
	L = [][]int{{1, 1, -1}, {0, 0, -1}, {1, 1, -1}}
	if got := predict(fit(L, Options{UniformPrior: true}), L); !slices.Equal(got, []int{1, 0, 1}) {
		t.Errorf("score example: predict %v, want [1 0 1]", got)
	}
	// predict_proba (doctest skipped in Snorkel): [[0,0,0],[1,1,1],[1,1,1]]
	// → rounded [[1 0] [0 1] [0 1]].
	L = [][]int{{0, 0, 0}, {1, 1, 1}, {1, 1, 1}}
	m := fit(L, Options{UniformPrior: true, Seed: 123})
	x, _ := label.FromDense(L, 3, nil, nil, 2)
	p, _ := m.PredictProba(x)
	for i, v := range p {
		if r := math.Round(v*10) / 10; r != []float64{1, 0, 0, 1, 0, 1}[i] {
			t.Errorf("predict_proba example: %v", p)
			break
		}
	}
	// get_weights (skipped doctest): [[1,1,1],[1,1,-1],[-1,0,0],[0,0,0]],
	// seed 123 → around(weights, 2) = [0.99 0.99 0.99].
	m = fit([][]int{{1, 1, 1}, {1, 1, -1}, {-1, 0, 0}, {0, 0, 0}}, Options{UniformPrior: true, Seed: 123})
	for _, w := range m.LFAccuracies() {
		if math.Round(w*100) != 99 {
			t.Errorf("get_weights example: %v, want all 0.99 rounded", m.LFAccuracies())
			break
		}
	}
}

// contradictions flags an LF whose fitted vote lowers the posterior of the
// label it emits, and only that one.
func TestSnorkelContradictionWarning(t *testing.T) {
	const k = 2
	lfs, classes := []string{"good", "bad", "silent"}, []string{"HAM", "SPAM"}
	d := len(lfs) * k
	mu := make([]float64, d*k)
	o := make([]float64, d*d)
	set := func(lf, vote int, pHam, pSpam float64) {
		idx := lf*k + vote
		mu[idx*k+0], mu[idx*k+1] = pHam, pSpam
		o[idx*d+idx] = 0.5*pHam + 0.5*pSpam
	}
	set(0, 1, 0.1, 0.6) // good: votes SPAM, P(vote|SPAM) > P(vote|HAM)
	set(1, 1, 0.4, 0.2) // bad: votes SPAM, more often on HAM
	// silent never votes; its mu rows are left at zero.
	w := contradictions(mu, o, lfs, classes, k)
	if len(w) != 1 || !strings.Contains(w[0], "LF bad's SPAM vote") || !strings.Contains(w[0], "likelihood ratio 0.50 vs HAM") {
		t.Errorf("warnings %q; want one for LF bad with ratio 0.50", w)
	}
}
