package labelmodel

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/label"
)

// TestDetectDependencies works one matrix by hand. 100 rows; lf0 votes 1,
// lf1 votes 0, lf2 votes 1:
//
//	rows 0–4    lf0 lf1 lf2
//	rows 5–19   lf0 lf1
//	rows 20–29  lf0
//	rows 30–39      lf1
//	rows 40–99  (none)
//
// lf0~lf1 (opposite votes): P = 0.3, 0.3, joint 0.2; phi = (0.2 − 0.09) /
// sqrt(0.3·0.7·0.3·0.7) = 0.5238, z = 5.238: flagged. lf1~lf2 (opposite):
// joint 0.05, P 0.3 and 0.05; phi = 0.035 / sqrt(0.3·0.7·0.05·0.95) =
// 0.3504, z = 3.504 < DepMinZ: not flagged. lf0~lf2 (same vote) are
// positively correlated, as independence predicts: not flagged.
func TestDetectDependencies(t *testing.T) {
	rows := make([][]int, 100)
	for r := range rows {
		rows[r] = []int{label.Abstain, label.Abstain, label.Abstain}
		if r < 30 {
			rows[r][0] = 1
		}
		if r < 20 || r >= 30 && r < 40 {
			rows[r][1] = 0
		}
		if r < 5 {
			rows[r][2] = 1
		}
	}
	x, err := label.FromDense(rows, 3, nil, nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ComputeStats(t.Context(), x, StatsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := DetectDependencies(s)
	if len(got) != 1 {
		t.Fatalf("got %+v, want only lf0~lf1", got)
	}
	d := got[0]
	if d.A != 0 || d.B != 1 || d.VoteA != 1 || d.VoteB != 0 || math.Abs(d.Phi-0.5238) > 1e-4 || math.Abs(d.Z-5.238) > 1e-3 {
		t.Errorf("got %+v, want lf0 (1) ~ lf1 (0), phi 0.5238, z 5.238", d)
	}
	// Three classes: the sign argument does not hold, nothing is flagged.
	x3, _ := label.FromDense(rows, 3, nil, nil, 3)
	s3, _ := ComputeStats(t.Context(), x3, StatsOptions{})
	if got := DetectDependencies(s3); got != nil {
		t.Errorf("k = 3: got %+v, want nil", got)
	}
}

// TestNoDependenciesPlantedIndependent: on 100k rows of conditionally
// independent LFs (accuracies 0.55–0.95) nothing is flagged, for a
// balanced and an imbalanced prior.
func TestNoDependenciesPlantedIndependent(t *testing.T) {
	for _, prior := range [][]float64{{0.5, 0.5}, {0.87, 0.13}} {
		x, _ := synth(100_000, linspace(0.55, 0.95, 8), linspace(0.1, 0.6, 8), prior, 3)
		s, err := ComputeStats(t.Context(), x, StatsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := DetectDependencies(s); got != nil {
			t.Errorf("prior %v: flagged %+v on independent LFs", prior, got)
		}
	}
}

// plantedDependency draws 20k rows (balanced) of five independent LFs of
// accuracy 0.8 and coverage 0.3, plus the YouTube pattern: on a third of
// class-1 rows ("short link-only comments") lf5, voting 1, and lf6, voting
// 0, fire together; elsewhere each fires rarely and rightly.
func plantedDependency(seed uint64) (*label.Matrix, []int) {
	rng := rand.New(rand.NewPCG(seed, 11))
	n, m := 20_000, 7
	x := &label.Matrix{N: n, RowPtr: make([]int64, 1, n+1), Classes: []string{"c0", "c1"}}
	for i := 0; i < m; i++ {
		x.LFs = append(x.LFs, "lf"+string(rune('0'+i)))
	}
	gold := make([]int, n)
	for r := range gold {
		y := rng.IntN(2)
		gold[r] = y
		vote := func(i, v int) {
			x.LF = append(x.LF, int32(i))
			x.Vote = append(x.Vote, int32(v))
		}
		for i := 0; i < 5; i++ {
			if rng.Float64() < 0.3 {
				if rng.Float64() < 0.8 {
					vote(i, y)
				} else {
					vote(i, 1-y)
				}
			}
		}
		sub := y == 1 && rng.Float64() < 1.0/3
		if sub || y == 1 && rng.Float64() < 0.1 {
			vote(5, 1)
		}
		if sub || y == 0 && rng.Float64() < 0.3 {
			vote(6, 0)
		}
		x.RowPtr = append(x.RowPtr, int64(len(x.LF)))
	}
	return x, gold
}

// TestPlantedDependency: the conditionally independent fit learns one of
// the pair's votes (lf6's) as evidence against its label (the contradiction warning fires);
// with the detected dependency (the default) lf5~lf6 is found, the warning
// is gone, and the labels are more accurate.
func TestPlantedDependency(t *testing.T) {
	x, gold := plantedDependency(1)
	accuracy := func(opt Options) (float64, Model) {
		t.Helper()
		lm, err := New(Snorkel, opt)
		if err != nil {
			t.Fatal(err)
		}
		if err := lm.Fit(t.Context(), x); err != nil {
			t.Fatal(err)
		}
		pred, err := lm.Predict(x, TieRandom, 1)
		if err != nil {
			t.Fatal(err)
		}
		ok := 0
		for i, p := range pred {
			if p == gold[i] {
				ok++
			}
		}
		return float64(ok) / float64(len(gold)), lm
	}
	indep, lmI := accuracy(Options{Seed: 1, UniformPrior: true, IndependentLFs: true})
	dep, lmD := accuracy(Options{Seed: 1, UniformPrior: true})
	t.Logf("accuracy: independent %.4f, with dependencies %.4f; deps %q", indep, dep, Dependencies(lmD))
	warned := func(lm Model) bool {
		return slices.ContainsFunc(Warnings(lm), func(w string) bool {
			return strings.HasPrefix(w, "LF lf5's c1 vote is fitted as evidence against") || strings.HasPrefix(w, "LF lf6's c0 vote is fitted as evidence against")
		})
	}
	if !warned(lmI) {
		t.Errorf("independent fit: no contradiction warning for lf5 or lf6; warnings %q", Warnings(lmI))
	}
	if warned(lmD) {
		t.Errorf("fit with dependencies: still warns %q", Warnings(lmD))
	}
	if d := Dependencies(lmD); len(d) == 0 || !strings.HasPrefix(d[0], "LFs lf5 (c1) and lf6 (c0) co-fire more often") {
		t.Errorf("dependencies %q, want lf5~lf6 first", d)
	}
	if dep < indep+0.01 {
		t.Errorf("accuracy with dependencies %.4f, want at least 0.01 above independent %.4f", dep, indep)
	}
}

// TestDependencyMask: with a pair given as dependent, the fit ignores that
// pair's overlap block: changing those counts leaves mu unchanged, while
// it changes the independent fit.
func TestDependencyMask(t *testing.T) {
	x, _ := synth(5_000, linspace(0.6, 0.9, 5), linspace(0.3, 0.6, 5), []float64{0.5, 0.5}, 2)
	s, err := ComputeStats(t.Context(), x, StatsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	alt := *s
	alt.Counts = slices.Clone(s.Counts)
	k, d := s.K, s.D()
	for a := 0; a < k; a++ { // LFs 1 and 3
		for b := 0; b < k; b++ {
			i, j := 1*k+a, 3*k+b
			alt.Counts[i*d+j] += 40
			alt.Counts[j*d+i] += 40
		}
	}
	fit := func(st *Stats, opt Options) []float64 {
		t.Helper()
		lm, _ := New(Snorkel, opt)
		if err := lm.FitStats(t.Context(), st); err != nil {
			t.Fatal(err)
		}
		return lm.(*snorkelModel).mu
	}
	masked := Options{Seed: 1, UniformPrior: true, Dependencies: [][2]int{{3, 1}}}
	if a, b := fit(s, masked), fit(&alt, masked); !slices.Equal(a, b) {
		t.Errorf("masked pair's counts changed the fit")
	}
	indep := Options{Seed: 1, UniformPrior: true, IndependentLFs: true}
	if a, b := fit(s, indep), fit(&alt, indep); slices.Equal(a, b) {
		t.Errorf("independent fit ignored the overlap counts")
	}
	if _, err := New(Snorkel, Options{Dependencies: [][2]int{{1, 1}}}); err != nil {
		t.Fatal(err)
	}
	lm, _ := New(Snorkel, Options{UniformPrior: true, Dependencies: [][2]int{{1, 1}}})
	if err := lm.FitStats(t.Context(), s); err == nil || !strings.Contains(err.Error(), "dependency (1, 1)") {
		t.Errorf("self pair: err %v", err)
	}
}
