package fuse

import (
	"cmp"
	"math"
	"slices"
)

// SourceReport is what Sources says about one source.
type SourceReport struct {
	Source   string
	Claims   int
	Accuracy float64 // estimated accuracy (categorical) or normalised weight (numeric)
	// Low and High bound Accuracy: a 95 % Wilson interval over the
	// source's claim count (categorical only; NaN for numbers).
	Low, High float64
	// Disagreements counts the source's claims that differ from the fused
	// value; Error is its mean absolute deviation from the fused numbers.
	Disagreements int
	Error         float64
	// Changes is how many fused values would change if the source were
	// removed (categorical): the ranking key of "which sources to clean
	// first". Rank is 1 for the source to look at first.
	Changes int
	Rank    int
}

// wilson is the 95 % Wilson score interval for a proportion p over n trials.
func wilson(p float64, n int) (float64, float64) {
	if n == 0 {
		return 0, 1
	}
	const z = 1.959963984540054
	nf := float64(n)
	den := 1 + z*z/nf
	center := (p + z*z/(2*nf)) / den
	half := z * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf)) / den
	return max(0, center-half), min(1, center+half)
}

// Sources reports every source, ranked: first the sources whose removal
// changes the most fused values, then (on ties) those expected to be
// wrong most often (claims × (1 − accuracy)), then by name.
func (r *Result) Sources() []SourceReport {
	c := r.Claims
	m := len(c.Sources)
	out := make([]SourceReport, m)
	for s := range out {
		out[s] = SourceReport{Source: c.Sources[s], Claims: r.NClaims[s], Accuracy: r.Accuracy[s], Low: math.NaN(), High: math.NaN()}
		if !c.Numeric {
			out[s].Low, out[s].High = wilson(r.Accuracy[s], r.NClaims[s])
		}
	}
	if c.Numeric {
		sum := make([]float64, m)
		for o := range c.Objects {
			for j := c.Ptr[o]; j < c.Ptr[o+1]; j++ {
				sum[c.Src[j]] += math.Abs(c.Num[j] - r.Truth[o])
			}
		}
		for s := range out {
			out[s].Error = sum[s] / float64(max(out[s].Claims, 1))
		}
		slices.SortStableFunc(out, func(a, b SourceReport) int {
			return cmp.Or(cmp.Compare(b.Error*float64(b.Claims), a.Error*float64(a.Claims)), cmp.Compare(a.Source, b.Source))
		})
	} else {
		changes := r.Impact()
		for o := range c.Objects {
			for j := c.Ptr[o]; j < c.Ptr[o+1]; j++ {
				if c.Val[j] != r.Value[o] {
					out[c.Src[j]].Disagreements++
				}
			}
		}
		for s := range out {
			out[s].Changes = changes[s]
		}
		slices.SortStableFunc(out, func(a, b SourceReport) int {
			ea := float64(a.Claims) * (1 - a.Accuracy)
			eb := float64(b.Claims) * (1 - b.Accuracy)
			return cmp.Or(cmp.Compare(b.Changes, a.Changes), cmp.Compare(eb, ea), cmp.Compare(a.Source, b.Source))
		})
	}
	for i := range out {
		out[i].Rank = i + 1
	}
	return out
}

// Impact counts, per source, the objects whose fused value would change
// if that source's claim on them were removed, the other sources'
// parameters kept as fitted.
func (r *Result) Impact() []int {
	c := r.Claims
	k := c.K()
	n := len(c.Objects)
	changes := make([]int, len(c.Sources))
	if r.delta == nil {
		return changes
	}
	d := make([]float64, k)
	row := make([]float64, k)
	for o := 0; o < n; o++ {
		sc := r.score[o*k : (o+1)*k]
		for j := c.Ptr[o]; j < c.Ptr[o+1]; j++ {
			r.delta(o, j, d)
			for y := range row {
				row[y] = sc[y] - d[y]
			}
			if int32(argmax(row)) != r.Value[o] {
				changes[c.Src[j]]++
			}
		}
	}
	return changes
}

// Score compares fused values with known truths on the objects where
// eval[o] is true. Categorical: accuracy over truth ids (known[o] ≥ 0);
// numeric: MAE and RMSE over truths (not NaN).
type Score struct {
	Objects  int
	Accuracy float64
	MAE      float64
	RMSE     float64
}

// ScoreCategorical is the accuracy of r's fused values against truth ids
// (−1: unknown) on the objects where use is nil or true.
func (r *Result) ScoreCategorical(truth []int32, use []bool) Score {
	var s Score
	var right int
	for o, y := range truth {
		if y < 0 || (use != nil && !use[o]) {
			continue
		}
		s.Objects++
		if r.Value[o] == y {
			right++
		}
	}
	if s.Objects > 0 {
		s.Accuracy = float64(right) / float64(s.Objects)
	}
	return s
}

// ScoreNumeric is the MAE and RMSE of r's fused numbers against truths
// (NaN: unknown) on the objects where use is nil or true.
func (r *Result) ScoreNumeric(truth []float64, use []bool) Score {
	var s Score
	var sa, ss float64
	for o, t := range truth {
		if math.IsNaN(t) || (use != nil && !use[o]) {
			continue
		}
		s.Objects++
		d := r.Truth[o] - t
		sa += math.Abs(d)
		ss += d * d
	}
	if s.Objects > 0 {
		s.MAE = sa / float64(s.Objects)
		s.RMSE = math.Sqrt(ss / float64(s.Objects))
	}
	return s
}
