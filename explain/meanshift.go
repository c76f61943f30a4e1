package explain

import (
	"fmt"
	"math"
	"sort"
)

// MeanShift is the metric of the mean-shift explainer; it is computed from
// four aggregates, not from (o, n), so Metric.Ratio does not apply to it.
const MeanShift Metric = 3

// MeanShiftInput describes rows of a (possibly pre-aggregated) table for
// the mean-shift explainer: row i stands for Count[i] records (1 when Count
// is nil) whose metric averages Mean[i], and belongs to the outlier group
// when Outlier[i] (the test group, e.g. time == 1) or else to the inliers.
type MeanShiftInput struct {
	Outlier []bool
	Count   []float64
	Mean    []float64
}

// MeanShiftOptions are the thresholds of the mean-shift explainer.
type MeanShiftOptions struct {
	MinSupport   float64 // of the outlier count and of the inlier count
	MinMeanShift float64 // mean among outliers / mean among inliers
	MaxOrder     int
}

// ExplainMeanShift is MacroBase's APLCountMeanShiftSummarizer: combinations
// whose share of both the outlier and the inlier counts is at least
// MinSupport (monotone: below it they are pruned) and whose mean metric
// among outliers is at least MinMeanShift times that among inliers (KEEP;
// else NEXT, extendable), with the same pair and triple rules as APriori.
// Explanations carry Support (of the outliers), Ratio (the mean shift),
// OutlierCount and TotalCount (outliers plus inliers).
func ExplainMeanShift(attrs []*Column, in MeanShiftInput, opt MeanShiftOptions) (*Result, error) {
	if len(attrs) == 0 {
		return nil, fmt.Errorf("explain: no attribute columns")
	}
	rows := attrs[0].Len()
	if len(in.Outlier) != rows || len(in.Mean) != rows || (in.Count != nil && len(in.Count) != rows) {
		return nil, fmt.Errorf("explain: mean shift: %d rows, %d group flags, %d means, %d counts", rows, len(in.Outlier), len(in.Mean), len(in.Count))
	}
	for _, c := range attrs {
		if c.Len() != rows {
			return nil, fmt.Errorf("explain: column %q has %d rows, column %q has %d", c.Name, c.Len(), attrs[0].Name, rows)
		}
	}
	if opt.MaxOrder == 0 {
		opt.MaxOrder = 3
	}
	if opt.MaxOrder < 1 || opt.MaxOrder > 3 {
		return nil, fmt.Errorf("explain: max order %d: want 1, 2 or 3", opt.MaxOrder)
	}
	// Aggregates: outlier count, inlier count, outlier metric sum, inlier metric sum.
	type agg [4]float64
	row := func(i int) (agg, bool) {
		c := 1.0
		if in.Count != nil {
			c = in.Count[i]
		}
		m := in.Mean[i]
		if math.IsNaN(m) || math.IsNaN(c) {
			return agg{}, false
		}
		if in.Outlier[i] {
			return agg{c, 0, c * m, 0}, true
		}
		return agg{0, c, 0, c * m}, true
	}
	var total agg
	for i := 0; i < rows; i++ {
		if a, ok := row(i); ok {
			for k := range a {
				total[k] += a[k]
			}
		}
	}
	res := &Result{Metric: MeanShift, Outliers: total[0], Total: total[0] + total[1]}
	for _, c := range attrs {
		res.Attributes = append(res.Attributes, c.Name)
	}
	if total[0] == 0 || total[1] == 0 {
		return res, nil
	}
	judgeAgg := func(a agg) action {
		if !(a[0]/total[0] >= opt.MinSupport) || !(a[1]/total[1] >= opt.MinSupport) {
			return prune
		}
		if (a[2]/a[0])/(a[3]/a[1]) >= opt.MinMeanShift {
			return keep
		}
		return next
	}
	report := func(cols []int, codes []int32, a agg) {
		e := Explanation{Values: make([]string, len(attrs)), Order: len(cols), Support: a[0] / total[0],
			Ratio: (a[2] / a[0]) / (a[3] / a[1]), OutlierCount: a[0], TotalCount: a[0] + a[1]}
		for i, c := range cols {
			e.Values[c] = attrs[c].Dict[codes[i]]
		}
		res.Explanations = append(res.Explanations, e)
	}
	type key [3]int64 // (column<<32 | code) per member, -1 unused
	item := func(c int, code int32) int64 { return int64(c)<<32 | int64(code) }
	nextItems := map[int64]bool{}
	nextPairs := map[key]bool{}
	for order := 1; order <= opt.MaxOrder; order++ {
		counts := map[key]*agg{}
		for i := 0; i < rows; i++ {
			a, ok := row(i)
			if !ok {
				continue
			}
			var members []int64
			for c, col := range attrs {
				if k := col.Codes[i]; k >= 0 && (order == 1 || nextItems[item(c, k)]) {
					members = append(members, item(c, k))
				}
			}
			add := func(k key) {
				p := counts[k]
				if p == nil {
					p = new(agg)
					counts[k] = p
				}
				for j := range a {
					p[j] += a[j]
				}
			}
			n := len(members)
			for x := 0; x < n; x++ {
				if order == 1 {
					add(key{members[x], -1, -1})
					continue
				}
				for y := x + 1; y < n; y++ {
					if order == 2 {
						add(key{members[x], members[y], -1})
						continue
					}
					for z := y + 1; z < n; z++ {
						add(key{members[x], members[y], members[z]})
					}
				}
			}
		}
		keys := make([]key, 0, len(counts))
		for k := range counts {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			for m := 0; m < 3; m++ {
				if keys[i][m] != keys[j][m] {
					return keys[i][m] < keys[j][m]
				}
			}
			return false
		})
		for _, k := range keys {
			act := judgeAgg(*counts[k])
			if order == 3 && (!nextPairs[key{k[0], k[1], -1}] || !nextPairs[key{k[0], k[2], -1}] || !nextPairs[key{k[1], k[2], -1}]) {
				continue
			}
			switch act {
			case keep:
				var cols []int
				var codes []int32
				for _, m := range k[:order] {
					cols, codes = append(cols, int(m>>32)), append(codes, int32(m&0xffffffff))
				}
				report(cols, codes, *counts[k])
			case next:
				if order == 1 {
					nextItems[k[0]] = true
				} else if order == 2 {
					nextPairs[k] = true
				}
			}
		}
	}
	res.Sort()
	return res, nil
}
