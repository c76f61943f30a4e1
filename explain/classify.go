package explain

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// PercentileOf estimates the p-th percentile (0 < p <= 100) of values the
// way commons-math's "legacy" estimator does, which MacroBase uses: position
// p(n+1)/100, linear interpolation between neighbours, clamped to the ends.
// NaNs are ignored; with no values it returns NaN.
func PercentileOf(values []float64, p float64) float64 {
	s := sortedFinite(values)
	return percentileSorted(s, p)
}

func sortedFinite(values []float64) []float64 {
	s := make([]float64, 0, len(values))
	for _, v := range values {
		if !math.IsNaN(v) {
			s = append(s, v)
		}
	}
	sort.Float64s(s)
	return s
}

func percentileSorted(s []float64, p float64) float64 {
	n := len(s)
	switch n {
	case 0:
		return math.NaN()
	case 1:
		return s[0]
	}
	pos := p * float64(n+1) / 100
	fpos := math.Floor(pos)
	if pos < 1 {
		return s[0]
	}
	if pos >= float64(n) {
		return s[n-1]
	}
	lower, upper := s[int(fpos)-1], s[int(fpos)]
	return lower + (pos-fpos)*(upper-lower)
}

// Percentile is MacroBase's PercentileClassifier: a row is an outlier when
// its metric is above the (100-Cutoff)th percentile (High) or below the
// Cutoff-th percentile (Low). Cutoff is in percent (MacroBase's default 0.5).
type Percentile struct {
	Cutoff    float64
	High, Low bool
}

// Classify returns the outlier flags and the two cutoffs. NaN metrics are
// never outliers.
func (p Percentile) Classify(metric []float64) (flags []bool, low, high float64, err error) {
	if !(p.Cutoff > 0 && p.Cutoff < 100) {
		return nil, 0, 0, fmt.Errorf("explain: percentile cutoff %v: want a percentage in (0, 100)", p.Cutoff)
	}
	if !p.High && !p.Low {
		return nil, 0, 0, fmt.Errorf("explain: percentile classifier with neither tail")
	}
	s := sortedFinite(metric)
	if len(s) == 0 {
		return nil, 0, 0, fmt.Errorf("explain: percentile classifier: no numeric values")
	}
	low, high = percentileSorted(s, p.Cutoff), percentileSorted(s, 100-p.Cutoff)
	flags = make([]bool, len(metric))
	for i, v := range metric {
		flags[i] = (p.High && v > high) || (p.Low && v < low)
	}
	return flags, low, high, nil
}

// Op is a comparison operator of a predicate.
type Op string

const (
	OpEq Op = "=="
	OpNe Op = "!="
	OpLt Op = "<"
	OpLe Op = "<="
	OpGt Op = ">"
	OpGe Op = ">="
)

// Predicate is MacroBase's PredicateClassifier: a row is an outlier when
// `Column Op Value` holds. Numeric comparisons use Number; string equality
// uses Value when the column is a string column.
type Predicate struct {
	Column string
	Op     Op
	Value  string
}

// ParsePredicate parses "col op value", such as "usage > 1000" or
// "location == 'CAN'"; "=" and "<>" are accepted for "==" and "!=".
func ParsePredicate(s string) (Predicate, error) {
	for _, op := range []string{"==", "!=", "<>", "<=", ">=", "=", "<", ">"} {
		i := strings.Index(s, op)
		if i <= 0 {
			continue
		}
		col := strings.TrimSpace(s[:i])
		val := strings.TrimSpace(s[i+len(op):])
		if col == "" || val == "" {
			break
		}
		if len(val) >= 2 && (val[0] == '\'' || val[0] == '"') && val[len(val)-1] == val[0] {
			val = val[1 : len(val)-1]
		}
		o := Op(op)
		switch op {
		case "=":
			o = OpEq
		case "<>":
			o = OpNe
		}
		return Predicate{Column: col, Op: o, Value: val}, nil
	}
	return Predicate{}, fmt.Errorf("explain: predicate %q: want 'column op value' with op one of == != < <= > >=", s)
}

// Number returns the predicate's value as a number.
func (p Predicate) Number() (float64, error) {
	v, err := strconv.ParseFloat(p.Value, 64)
	if err != nil {
		return 0, fmt.Errorf("explain: predicate %s %s %q: value is not a number", p.Column, p.Op, p.Value)
	}
	return v, nil
}

// ClassifyNumbers applies the predicate to a numeric column; NaN never matches.
func (p Predicate) ClassifyNumbers(metric []float64) ([]bool, error) {
	v, err := p.Number()
	if err != nil {
		return nil, err
	}
	cmp, err := compareFunc(p.Op)
	if err != nil {
		return nil, err
	}
	flags := make([]bool, len(metric))
	for i, x := range metric {
		flags[i] = cmp(x, v)
	}
	return flags, nil
}

// ClassifyStrings applies the predicate to a string column (lexical order).
func (p Predicate) ClassifyStrings(col *Column) ([]bool, error) {
	match, err := textCompare(p.Op)
	if err != nil {
		return nil, err
	}
	byCode := make([]bool, len(col.Dict))
	for k, s := range col.Dict {
		byCode[k] = match(s, p.Value)
	}
	flags := make([]bool, col.Len())
	for i, k := range col.Codes {
		flags[i] = k >= 0 && byCode[k]
	}
	return flags, nil
}

func compareFunc(op Op) (func(x, v float64) bool, error) {
	switch op {
	case OpEq:
		return func(x, v float64) bool { return x == v }, nil
	case OpNe:
		return func(x, v float64) bool { return !math.IsNaN(x) && x != v }, nil
	case OpLt:
		return func(x, v float64) bool { return x < v }, nil
	case OpLe:
		return func(x, v float64) bool { return x <= v }, nil
	case OpGt:
		return func(x, v float64) bool { return x > v }, nil
	case OpGe:
		return func(x, v float64) bool { return x >= v }, nil
	}
	return nil, fmt.Errorf("explain: predicate operator %q", op)
}

// MADToZ converts a MAD score to the equivalent standard-normal z-score.
const MADToZ = 1.4826

// MADScores returns |x - median| / MAD for each value, MacroBase's robust
// score. When the MAD is 0 it falls back to the mean absolute residual
// between the 5th and 95th percentiles of the residuals. NaN stays NaN.
func MADScores(metric []float64) ([]float64, error) {
	s := sortedFinite(metric)
	n := len(s)
	if n == 0 {
		return nil, fmt.Errorf("explain: MAD: no numeric values")
	}
	median, mad := FitMAD(s)
	if mad == 0 {
		return nil, fmt.Errorf("explain: MAD: the metric is constant, no deviation to score")
	}
	out := make([]float64, len(metric))
	for i, v := range metric {
		out[i] = math.Abs(v-median) / mad
	}
	return out, nil
}

// FitMAD returns the median of the values and their MAD (median absolute
// deviation), falling back, as MacroBase does, to the mean of the residuals
// between their 5th and 95th percentiles when the MAD is 0. The values must
// be finite; they are sorted in place. The MAD is 0 only for constant data.
func FitMAD(values []float64) (median, mad float64) {
	n := len(values)
	if n == 0 {
		return math.NaN(), 0
	}
	sort.Float64s(values)
	median = medianSorted(values)
	res := make([]float64, n)
	for i, v := range values {
		res[i] = math.Abs(v - median)
	}
	sort.Float64s(res)
	mad = medianSorted(res)
	if mad == 0 {
		lo, hi := int(float64(n)*0.05), int(float64(n)*0.95)
		var sum float64
		for i := lo; i < hi; i++ {
			sum += res[i]
		}
		if hi > lo {
			mad = sum / float64(hi-lo)
		}
	}
	return median, mad
}

func medianSorted(s []float64) float64 {
	n := len(s)
	if n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[n/2]
}

// ScoreCutoff is the classic pipeline's last step (MacroBase's
// BatchingPercentileClassifier): rows whose score is at least the
// pct-quantile (0 < pct < 1, default 0.99) of the scores, or infinite, are
// outliers. NaN scores count as the largest when estimating the cutoff.
func ScoreCutoff(scores []float64, pct float64) ([]bool, float64, error) {
	if !(pct > 0 && pct < 1) {
		return nil, 0, fmt.Errorf("explain: score percentile %v: want a fraction in (0, 1)", pct)
	}
	s := make([]float64, len(scores))
	for i, v := range scores {
		if math.IsNaN(v) {
			v = math.Inf(1)
		}
		s[i] = v
	}
	sort.Float64s(s)
	cut := percentileSorted(s, pct*100)
	flags := make([]bool, len(scores))
	for i, v := range scores {
		flags[i] = !math.IsNaN(v) && (v >= cut || math.IsInf(v, 1))
	}
	return flags, cut, nil
}

// LowMetric is MacroBase's "low metric" transform, 1/max(x, 0.1), which
// makes small values the large ones.
func LowMetric(metric []float64) []float64 {
	out := make([]float64, len(metric))
	for i, v := range metric {
		out[i] = 1 / math.Max(v, 0.1)
	}
	return out
}

// Classic is MacroBase's default pipeline classifier: MAD scores for one
// metric, MCD Mahalanobis distances for several, outliers above the
// Percentile (default 0.99) of the scores.
type Classic struct {
	Percentile float64 // 0 means 0.99
	MCD        MCD     // used with several metrics
}

// Classify scores the metrics (one slice per metric, equal lengths) and cuts.
func (c Classic) Classify(metrics [][]float64) ([]bool, []float64, error) {
	pct := c.Percentile
	if pct == 0 {
		pct = 0.99
	}
	var scores []float64
	var err error
	switch len(metrics) {
	case 0:
		return nil, nil, fmt.Errorf("explain: classic classifier: no metric")
	case 1:
		scores, err = MADScores(metrics[0])
	default:
		scores, err = c.MCD.Scores(metrics)
	}
	if err != nil {
		return nil, nil, err
	}
	flags, _, err := ScoreCutoff(scores, pct)
	return flags, scores, err
}

// Matcher returns the predicate as a function of one number, for streams.
func (p Predicate) Matcher() (func(float64) bool, error) {
	v, err := p.Number()
	if err != nil {
		return nil, err
	}
	cmp, err := compareFunc(p.Op)
	if err != nil {
		return nil, err
	}
	return func(x float64) bool { return cmp(x, v) }, nil
}
