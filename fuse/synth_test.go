package fuse

import (
	"math"
	"testing"
)

// accError is the mean and largest absolute error of estimated source
// accuracies against the planted ones, over sources with at least min claims.
func accError(r *Result, planted []float64, minClaims int) (mean, worst float64) {
	var n int
	for s, a := range planted {
		if r.NClaims[s] < minClaims {
			continue
		}
		d := math.Abs(r.Accuracy[s] - a)
		mean += d
		worst = max(worst, d)
		n++
	}
	return mean / float64(n), worst
}

func truthAccuracy(r *Result, truth []int32) float64 {
	return r.ScoreCategorical(truth, nil).Accuracy
}

// Every method recovers planted source accuracies on 100,000 claims from
// 50 sources (2,000 claims each, 10 per object).
func TestSyntheticRecoversSourceAccuracies(t *testing.T) {
	s := Synthesize(SynthConfig{Objects: 10000, Sources: 50, Claims: 100000, K: 2, Noise: 0.03, Seed: 1})
	for _, m := range CategoricalMethods {
		t.Run(m, func(t *testing.T) {
			opt := Options{Method: m, Seed: 1}
			if m == SLiMFast {
				opt.Features = s.Features
			}
			r, err := Fit(t.Context(), s.Claims, opt)
			if err != nil {
				t.Fatal(err)
			}
			mean, worst := accError(r, s.Accuracy, 1)
			acc := truthAccuracy(r, s.Truth)
			t.Logf("%-9s truth accuracy %.4f, source accuracy error mean %.4f max %.4f (%d iterations)", m, acc, mean, worst, r.Iters)
			const limit = 0.03
			if worst > limit {
				t.Errorf("%s: largest source accuracy error %.4f > %.2f", m, worst, limit)
			}
		})
	}
}

// With most sources making fewer than 5 claims, SLiMFast's features let
// sparse sources borrow strength, and it beats Dawid–Skene.
func TestSLiMFastBeatsDawidSkeneOnSparseSources(t *testing.T) {
	s := Synthesize(SynthConfig{Objects: 20000, Sources: 20000, Claims: 60000, K: 2, Noise: 0.02,
		GroupAcc: []float64{0.45, 0.6, 0.8, 0.95}, Seed: 2})
	counts := s.Claims.SourceCounts()
	few := 0
	for _, n := range counts {
		if n < 5 {
			few++
		}
	}
	if few*2 < len(counts) {
		t.Fatalf("only %d of %d sources make fewer than 5 claims", few, len(counts))
	}
	res := map[string]float64{}
	for _, m := range []string{Majority, DawidSkene, OneCoin, SLiMFast} {
		opt := Options{Method: m}
		if m == SLiMFast {
			opt.Features = s.Features
		}
		r, err := Fit(t.Context(), s.Claims, opt)
		if err != nil {
			t.Fatal(err)
		}
		res[m] = truthAccuracy(r, s.Truth)
		mean, _ := accError(r, s.Accuracy, 1)
		t.Logf("%-9s truth accuracy %.4f, source accuracy error mean %.4f (%s)", m, res[m], mean, r.Reason)
	}
	if res[SLiMFast] <= res[DawidSkene]+0.01 {
		t.Errorf("slimfast %.4f does not beat dawid-skene %.4f by 0.01", res[SLiMFast], res[DawidSkene])
	}
}

// On data shaped like crowd-kit's D_Product (8,315 objects, 3 answers per
// object, 176 workers with skewed activity, skewed classes,
// class-dependent worker accuracy) the methods rank as in crowd-kit's
// table: the EM methods well above the vote.
func TestCrowdShapedRanking(t *testing.T) {
	s := Synthesize(SynthConfig{Objects: 8315, Sources: 176, Claims: 24945, K: 2, Skew: 1,
		GroupAcc: []float64{0.95, 0.85, 0.7, 0.5}, Noise: 0.05, Prior: []float64{0.75, 0.25}, Gap: 0.3, Seed: 1})
	acc := map[string]float64{}
	for _, m := range CategoricalMethods {
		acc[m] = truthAccuracy(fit(t, s.Claims, Options{Method: m}), s.Truth)
	}
	t.Logf("%v", acc)
	for _, m := range []string{DawidSkene, OneCoin, GLAD, MACE, SLiMFast} {
		if acc[m] < acc[Majority]+0.03 {
			t.Errorf("%s %.4f is not 0.03 above majority %.4f", m, acc[m], acc[Majority])
		}
	}
}
