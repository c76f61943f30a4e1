package explain

import (
	"fmt"
	"math"
	"strings"
)

// Metric is the ratio an explanation must reach besides its support.
type Metric int

const (
	GlobalRatio     Metric = iota // (o/n) / (O/N)
	RiskRatio                     // (o/n) / ((O-o)/(N-n))
	PrevalenceRatio               // (o/(n-o)) / (O/(N-O))
)

// String is MacroBase's name of the metric, used as the output column name.
func (m Metric) String() string {
	switch m {
	case GlobalRatio:
		return "global_ratio"
	case RiskRatio:
		return "risk_ratio"
	case PrevalenceRatio:
		return "prevalence_ratio"
	case MeanShift:
		return "mean_shift"
	}
	return fmt.Sprintf("Metric(%d)", int(m))
}

// ParseMetric accepts global_ratio, risk_ratio or prevalence_ratio (any case).
func ParseMetric(s string) (Metric, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "global_ratio", "global":
		return GlobalRatio, nil
	case "risk_ratio", "risk":
		return RiskRatio, nil
	case "prevalence_ratio", "prevalence":
		return PrevalenceRatio, nil
	}
	return 0, fmt.Errorf("explain: metric %q: want global_ratio, risk_ratio or prevalence_ratio", s)
}

// Ratio computes the metric for a combination with o outliers among n rows,
// out of O outliers among N rows, with MacroBase's conventions for the
// degenerate cases.
func (m Metric) Ratio(o, n, O, N float64) float64 {
	switch m {
	case RiskRatio:
		return riskRatio(n-o, o, N-O, O)
	case PrevalenceRatio:
		oo := O
		if oo == 0 {
			oo++
		}
		base := oo / (N - oo)
		if n == o {
			n++
		}
		return o / (n - o) / base
	default:
		return (o / n) / (O / N)
	}
}

// riskRatio is MacroBase's risk ratio from exposed inlier and outlier
// counts: 0 when nothing or everything is exposed, +Inf when every outlier is.
func riskRatio(exposedIn, exposedOut, totalIn, totalOut float64) float64 {
	exposed := exposedIn + exposedOut
	unexposedOut := totalOut - exposedOut
	unexposed := totalIn + totalOut - exposed
	switch {
	case exposed == 0, unexposed == 0:
		return 0
	case unexposedOut == 0:
		return math.Inf(1)
	}
	return (exposedOut / exposed) / (unexposedOut / unexposed)
}

// action is MacroBase's verdict on a candidate.
type action uint8

const (
	prune action = iota // support fails: neither report nor extend
	next                // support passes, ratio fails: may be extended
	keep                // both pass: report, do not extend
)

// judge applies the thresholds: support is monotone (a failing candidate
// is pruned), the ratios are not (a failing candidate may still be extended).
func judge(support, ratio, minSupport, minRatio float64) action {
	if !(support >= minSupport) {
		return prune
	}
	if ratio >= minRatio {
		return keep
	}
	return next
}
