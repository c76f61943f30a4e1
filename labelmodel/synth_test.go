package labelmodel

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/label"
)

// synth draws n rows with a planted model: Y from prior; LF i votes with
// probability cov[i], independently of Y and of the other LFs; a vote is Y
// with probability acc[i], else a uniformly chosen other class.
func synth(n int, acc, cov, prior []float64, seed uint64) (*label.Matrix, []int) {
	rng := rand.New(rand.NewPCG(seed, 7))
	m, k := len(acc), len(prior)
	x := &label.Matrix{N: n, RowPtr: make([]int64, 1, n+1)}
	for i := 0; i < m; i++ {
		x.LFs = append(x.LFs, "lf"+string(rune('a'+i%26))+string(rune('0'+i/26)))
	}
	for c := 0; c < k; c++ {
		x.Classes = append(x.Classes, "c"+string(rune('0'+c)))
	}
	gold := make([]int, n)
	for r := 0; r < n; r++ {
		u, y := rng.Float64(), 0
		for y < k-1 && u >= prior[y] {
			u -= prior[y]
			y++
		}
		gold[r] = y
		for i := 0; i < m; i++ {
			if rng.Float64() >= cov[i] {
				continue
			}
			v := y
			if rng.Float64() >= acc[i] {
				v = (y + 1 + rng.IntN(k-1)) % k
			}
			x.LF = append(x.LF, int32(i))
			x.Vote = append(x.Vote, int32(v))
		}
		x.RowPtr = append(x.RowPtr, int64(len(x.LF)))
	}
	return x, gold
}

func linspace(a, b float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = a + (b-a)*float64(i)/float64(n-1)
	}
	return out
}

// TestPlanted fits every model on 100k rows drawn with planted LF
// accuracies (0.55–0.95) and coverages, and checks that each learned model
// recovers the accuracies within ±0.03 and labels the rows more accurately
// than majority vote. Majority vote learns nothing: its LFAccuracies are
// agreement with its own labels, biased upwards for weak LFs by
// construction (0.64 for the 0.55 LF here), so for it the test asks only
// that they rank the LFs in the planted order.
func TestPlanted(t *testing.T) {
	acc := linspace(0.55, 0.95, 10)
	cov := []float64{0.9, 0.3, 0.6, 0.8, 0.4, 0.7, 0.5, 0.35, 0.45, 0.25}
	for _, tc := range []struct {
		name  string
		prior []float64
	}{
		{"binary", []float64{0.5, 0.5}},
		{"binary-imbalanced", []float64{0.7, 0.3}},
		{"3-class", []float64{0.4, 0.35, 0.25}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, gold := synth(100_000, acc, cov, tc.prior, 1)
			mvAcc := -1.0
			for _, method := range []string{Majority, Snorkel, DawidSkene, Triplet} {
				opt := Options{UniformPrior: true, Seed: 1}
				if method == Snorkel || method == Triplet {
					// Snorkel's own recipe: class balance from a dev set.
					dev := gold[:500]
					opt.DevLabels = dev
				}
				m, err := New(method, opt)
				if err != nil {
					t.Fatal(err)
				}
				if err := m.Fit(t.Context(), x); err != nil {
					t.Fatal(err)
				}
				pred, err := m.Predict(x, TieRandom, 0)
				if err != nil {
					t.Fatal(err)
				}
				a := accuracy(pred, gold)
				got := m.LFAccuracies()
				var worst float64
				for i := range acc {
					worst = max(worst, math.Abs(got[i]-acc[i]))
				}
				t.Logf("%-12s label accuracy %.4f, worst LF accuracy error %.4f, learned %.3f", method, a, worst, got)
				if method == Majority {
					for i := 1; i < len(got); i++ {
						if got[i] <= got[i-1] {
							t.Errorf("majority: agreement %.3f does not rank the LFs as planted %.3f", got, acc)
							break
						}
					}
				} else if worst > 0.03 {
					t.Errorf("%s: learned LF accuracies %.3f, planted %.3f: off by %.3f > 0.03", method, got, acc, worst)
				}
				if method == Majority {
					mvAcc = a
				} else if a <= mvAcc {
					t.Errorf("%s: label accuracy %.4f does not beat majority vote's %.4f", method, a, mvAcc)
				}
			}
		})
	}
}

// TestEstimatedClassBalance: with no class balance given, Snorkel takes
// the prior from the votes (Triplet stays uniform and warns); on planted data (LFs that vote
// independently of Y) it recovers the planted prior within ±0.02, the
// model reports the source, and a uniform prior on the same votes draws a
// warning naming the estimate, while balanced votes draw none.
func TestEstimatedClassBalance(t *testing.T) {
	acc := linspace(0.6, 0.9, 6)
	cov := []float64{0.9, 0.3, 0.6, 0.8, 0.4, 0.7}
	for _, prior := range [][]float64{{0.87, 0.13}, {0.5, 0.5}, {0.6, 0.3, 0.1}} {
		x, _ := synth(50_000, acc, cov, prior, 3)
		tr, _ := New(Triplet, Options{})
		if err := tr.Fit(t.Context(), x); err != nil {
			t.Fatal(err)
		}
		if PriorSource(tr) != PriorUniform || far(prior) != (len(Warnings(tr)) == 1) {
			t.Errorf("triplet, prior %v: source %q, warnings %q", prior, PriorSource(tr), Warnings(tr))
		}
		for _, method := range []string{Snorkel} {
			m, _ := New(method, Options{Seed: 1})
			if err := m.Fit(t.Context(), x); err != nil {
				t.Fatal(err)
			}
			checkNear(t, method+" estimated prior", m.ClassBalance(), prior, 0.02)
			if got := PriorSource(m); got != PriorEstimated {
				t.Errorf("%s: prior source %q, want %q", method, got, PriorEstimated)
			}
			if w := Warnings(m); w != nil {
				t.Errorf("%s: estimated prior drew warnings %q", method, w)
			}
			u, _ := New(method, Options{Seed: 1, UniformPrior: true})
			if err := u.Fit(t.Context(), x); err != nil {
				t.Fatal(err)
			}
			w := Warnings(u)
			if far(prior) != (len(w) == 1) {
				t.Errorf("%s, prior %v: uniform prior warnings %q", method, prior, w)
			}
			if len(w) == 1 && !strings.Contains(w[0], "imbalanced") {
				t.Errorf("warning %q does not say why", w[0])
			}
		}
	}
}
