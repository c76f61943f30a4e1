package explain

import (
	"fmt"
	"math"
	"strings"
)

// ClassifierSpec names one classifier over a Frame's columns; exactly one
// of Predicate, Percentile, MAD and MCD is set.
type ClassifierSpec struct {
	Predicate  string   // a Condition: "usage > 1000", "label != Label AND country == 'CAN'"
	Percentile string   // metric column for the percentile classifier
	Cutoff     float64  // percent in each tail (MacroBase's default 0.5)
	High, Low  bool     // which tails are outliers
	MAD        string   // metric column for the classic MAD pipeline
	MCD        []string // metric columns for the classic MCD pipeline
	// ScorePercentile is the classic pipelines' cut on the scores (0.99).
	ScorePercentile float64
	// MADZ, when positive, replaces the percentile cut of the MAD pipeline
	// by a robust z-score cut: |x - median| / (1.4826·MAD) >= MADZ.
	MADZ float64
	// LowMetric replaces the metrics by 1/max(x, 0.1), so small values
	// become the outliers (MacroBase's "low metric transform").
	LowMetric bool
	MCDAlpha  float64
	Seed      int64
}

// Columns lists the columns the classifier reads.
func (s ClassifierSpec) Columns() ([]string, error) {
	n := 0
	var cols []string
	if s.Predicate != "" {
		c, err := ParseCondition(s.Predicate)
		if err != nil {
			return nil, err
		}
		cols = append(cols, c.Columns()...)
		n++
	}
	if s.Percentile != "" {
		cols = append(cols, s.Percentile)
		n++
	}
	if s.MAD != "" {
		cols = append(cols, s.MAD)
		n++
	}
	if len(s.MCD) > 0 {
		cols = append(cols, s.MCD...)
		n++
	}
	if n != 1 {
		return nil, fmt.Errorf("explain: give exactly one classifier (predicate, percentile, MAD or MCD), got %d", n)
	}
	return cols, nil
}

// Classify returns the outlier flag of every row of f.
func (s ClassifierSpec) Classify(f *Frame) ([]bool, error) {
	if _, err := s.Columns(); err != nil {
		return nil, err
	}
	metric := func(name string) ([]float64, error) {
		v, err := f.Numbers(name)
		if err != nil {
			return nil, err
		}
		if s.LowMetric {
			v = LowMetric(v)
		}
		return v, nil
	}
	switch {
	case s.Predicate != "":
		c, err := ParseCondition(s.Predicate)
		if err != nil {
			return nil, err
		}
		return c.Eval(f, metric)
	case s.Percentile != "":
		v, err := metric(s.Percentile)
		if err != nil {
			return nil, err
		}
		cut := s.Cutoff
		if cut == 0 {
			cut = 0.5
		}
		high, low := s.High, s.Low
		if !high && !low {
			high, low = true, true
		}
		flags, _, _, err := Percentile{Cutoff: cut, High: high, Low: low}.Classify(v)
		return flags, err
	case s.MAD != "" && s.MADZ > 0:
		v, err := metric(s.MAD)
		if err != nil {
			return nil, err
		}
		scores, err := MADScores(v)
		if err != nil {
			return nil, err
		}
		flags := make([]bool, len(scores))
		for i, sc := range scores {
			flags[i] = sc/MADToZ >= s.MADZ
		}
		return flags, nil
	default:
		var ms [][]float64
		for _, name := range append([]string{s.MAD}, s.MCD...) {
			if name == "" {
				continue
			}
			v, err := metric(name)
			if err != nil {
				return nil, err
			}
			ms = append(ms, v)
		}
		flags, _, err := Classic{Percentile: s.ScorePercentile, MCD: MCD{Alpha: s.MCDAlpha, Seed: s.Seed}}.Classify(ms)
		return flags, err
	}
}

// Extras are the columns beyond MacroBase's that Annotate fills in.
type Extras struct {
	// RiskLow and RiskHigh bound the risk ratio (95% Wald interval on its
	// log, with 0.5 added to every cell when one is empty).
	RiskLow, RiskHigh float64
	// Contribution is the share of all outliers that would disappear if
	// the combination had the outlier rate of the other rows:
	// (o - n·(O-o)/(N-n)) / O, the population attributable fraction.
	Contribution float64
}

// Annotate computes the extras of every explanation of r.
func Annotate(r *Result) []Extras {
	out := make([]Extras, len(r.Explanations))
	O, N := r.Outliers, r.Total
	for i, e := range r.Explanations {
		a, n := e.OutlierCount, e.TotalCount
		b, c := n-a, O-a
		d := (N - n) - c
		if a == 0 || b == 0 || c == 0 || d == 0 {
			a, b, c, d = a+0.5, b+0.5, c+0.5, d+0.5
		}
		rr := (a / (a + b)) / (c / (c + d))
		se := math.Sqrt(1/a - 1/(a+b) + 1/c - 1/(c+d))
		out[i].RiskLow = math.Exp(math.Log(rr) - 1.959963984540054*se)
		out[i].RiskHigh = math.Exp(math.Log(rr) + 1.959963984540054*se)
		if N-e.TotalCount > 0 && O > 0 {
			rest := (O - e.OutlierCount) / (N - e.TotalCount)
			out[i].Contribution = (e.OutlierCount - e.TotalCount*rest) / O
		}
	}
	return out
}

// RemoveRedundant drops an explanation when a simpler reported one (a
// proper subset of its attribute values) has at least (1-tol) of its
// support and of its ratio: the longer one adds detail, not information.
func RemoveRedundant(r *Result, tol float64) {
	keepers := r.Explanations[:0:0]
	for _, e := range r.Explanations {
		redundant := false
		for _, s := range r.Explanations {
			if s.Order >= e.Order || !within(s, e) {
				continue
			}
			if s.Support >= (1-tol)*e.Support && s.Ratio >= (1-tol)*e.Ratio {
				redundant = true
				break
			}
		}
		if !redundant {
			keepers = append(keepers, e)
		}
	}
	r.Explanations = keepers
}

// within reports whether s's values are a subset of e's.
func within(s, e Explanation) bool {
	for i, v := range s.Values {
		if v != "" && e.Values[i] != v {
			return false
		}
	}
	return true
}

// Describe renders an explanation as "col=value, col=value".
func Describe(r *Result, e Explanation) string {
	var parts []string
	for i, v := range e.Values {
		if v != "" {
			parts = append(parts, r.Attributes[i]+"="+v)
		}
	}
	return strings.Join(parts, ", ")
}
