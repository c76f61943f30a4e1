package monitor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/dawn-ml/dawn/explain"
	"github.com/dawn-ml/dawn/model"
	"github.com/dawn-ml/dawn/monitor/drift"
)

// Test names a drift test.
type Test string

const (
	TestKS            Test = "ks"
	TestChi2          Test = "chi2"
	TestZ             Test = "z"
	TestWasserstein   Test = "wasserstein"
	TestJensenShannon Test = "jensenshannon"
	TestPSI           Test = "psi"
	TestHellinger     Test = "hellinger"
	TestAnderson      Test = "anderson"
	TestDomain        Test = "domain_classifier"
)

// ParseTest checks a test name.
func ParseTest(s string) (Test, error) {
	t := Test(strings.ToLower(s))
	switch t {
	case TestKS, TestChi2, TestZ, TestWasserstein, TestJensenShannon, TestPSI, TestHellinger, TestAnderson, TestDomain:
		return t, nil
	}
	return "", fmt.Errorf("monitor: unknown test %q (ks, chi2, z, wasserstein, jensenshannon, psi, hellinger, anderson, domain_classifier)", s)
}

// pTest reports whether a test gives a p-value (drift when p < threshold)
// rather than a distance (drift when distance > threshold).
func pTest(t Test) bool {
	return t == TestKS || t == TestChi2 || t == TestZ || t == TestAnderson
}

// DefaultThreshold is Evidently's threshold for each test: p < 0.05 for
// the tests with a p-value, distance > 0.1 for the distances.
func DefaultThreshold(t Test) float64 {
	if pTest(t) {
		return 0.05
	}
	return 0.1
}

// smallReference is the reference size up to which Evidently tests with
// p-values (KS, χ², z) and beyond which it measures distances.
const smallReference = 1000

// Options configure Check.
type Options struct {
	// Model scores the window (prediction drift, performance); nil skips.
	Model model.Model
	// Labels names a column of true classes, for realised performance.
	Labels string
	// Segments names the attribute columns explanations may use; nil takes
	// every categorical column of the window.
	Segments []string
	// Tests and Thresholds override the default per column.
	Tests      map[string]Test
	Thresholds map[string]float64
	// Correction adjusts the p-values across columns: "", "bonferroni" or
	// "fdr" (Benjamini–Hochberg).
	Correction string
	// Ignore names window columns that are not checked (ids, timestamps).
	Ignore []string
	// DriftShare is the share of drifted columns that makes the dataset
	// drift (default 0.5).
	DriftShare float64
	Seed       uint64
}

// ColumnResult is one column's drift verdict.
type ColumnResult struct {
	Column    string   `json:"column"`
	Kind      Kind     `json:"kind"`
	Test      Test     `json:"test"`
	Statistic float64  `json:"statistic"`
	PValue    *float64 `json:"p_value"`
	Threshold float64  `json:"threshold"`
	Drift     bool     `json:"drift"`
	// Text drift: the words and rows most typical of each side.
	Text *TextDrift `json:"text,omitempty"`
	// Distribution lays the reference and current shares side by side
	// (numeric and categorical columns; bounded, see Distribution).
	Distribution *Distribution `json:"distribution,omitempty"`
}

// Bounds of a Distribution: numbers in at most distBins equal-width bins,
// categories as the distCategories largest (by the larger of the two
// shares) with the rest summed in "(other)".
const (
	distBins       = 20
	distCategories = 20
)

// Distribution is a column's reference and current distributions as
// shares of each side's non-missing values, for reports: numeric columns
// as histograms over Edges (len(Edges) = len(Reference)+1), categorical
// ones over Categories (len(Categories) = len(Reference)).
type Distribution struct {
	Edges      []float64 `json:"edges,omitempty"`
	Categories []string  `json:"categories,omitempty"`
	Reference  []float64 `json:"reference"`
	Current    []float64 `json:"current"`
}

// DriftReport is the drift part of a Report.
type DriftReport struct {
	DatasetDrift bool           `json:"dataset_drift"`
	Share        float64        `json:"share"`
	Drifted      int            `json:"drifted"`
	Columns      []ColumnResult `json:"columns"`
}

// QualityColumn is one column's data-quality figures.
type QualityColumn struct {
	Column         string   `json:"column"`
	MissingRate    float64  `json:"missing_rate"`
	RefMissingRate float64  `json:"reference_missing_rate"`
	NewCategories  []string `json:"new_categories,omitempty"`
	NewCategoryRow int      `json:"new_category_rows,omitempty"`
	OutOfRange     int      `json:"out_of_range,omitempty"`
	TypeChanged    string   `json:"type_changed,omitempty"`
}

// Quality is the data-quality part of a Report.
type Quality struct {
	Empty          bool            `json:"empty"`
	MissingColumns []string        `json:"missing_columns,omitempty"`
	NewColumns     []string        `json:"new_columns,omitempty"`
	Columns        []QualityColumn `json:"columns"`
}

// Metric is an accuracy figure, estimated ones with a 95% band.
type Metric struct {
	Accuracy float64  `json:"accuracy"`
	Low      *float64 `json:"low,omitempty"`
	High     *float64 `json:"high,omitempty"`
	Rows     int      `json:"rows"`
}

// Performance is the model's estimated and realised accuracy.
type Performance struct {
	Reference *float64 `json:"reference,omitempty"`
	Estimated *Metric  `json:"estimated,omitempty"`
	Actual    *Metric  `json:"actual,omitempty"`
}

// Report is one window's check.
type Report struct {
	Rows        int           `json:"rows"`
	Drift       DriftReport   `json:"drift"`
	Prediction  *ColumnResult `json:"prediction_drift,omitempty"`
	Quality     Quality       `json:"quality"`
	Performance Performance   `json:"performance"`
	Segments    []Segment     `json:"segments"`
}

// Check compares a window of rows with the profile.
func Check(ctx context.Context, p *Profile, f *explain.Frame, opt Options) (*Report, error) {
	if opt.DriftShare == 0 {
		opt.DriftShare = 0.5
	}
	for col, t := range opt.Tests {
		if _, err := ParseTest(string(t)); err != nil {
			return nil, fmt.Errorf("monitor: column %s: %w", col, err)
		}
		if p.Column(col) == nil {
			return nil, fmt.Errorf("monitor: test for column %q, which the profile does not have", col)
		}
	}
	switch opt.Correction {
	case "", "none", "bonferroni", "fdr":
	default:
		return nil, fmt.Errorf("monitor: correction %q: want bonferroni or fdr", opt.Correction)
	}
	r := &Report{Rows: f.Rows, Segments: []Segment{}}
	r.Quality = quality(p, f, opt)
	if f.Rows == 0 {
		r.Quality.Empty = true
		r.Drift.Columns = []ColumnResult{}
		return r, nil
	}
	// Columns are checked concurrently, one goroutine per column, at most
	// GOMAXPROCS at a time.
	type job struct {
		cp  *ColumnProfile
		col *explain.FrameColumn
	}
	var jobs []job
	for i := range p.Columns {
		cp := &p.Columns[i]
		c, err := f.Col(cp.Name)
		if err != nil || contains(opt.Ignore, cp.Name) {
			continue // reported as a missing column
		}
		jobs = append(jobs, job{cp, c})
	}
	results := make([]ColumnResult, len(jobs))
	errs := make([]error, len(jobs))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i], errs[i] = checkColumn(ctx, j.cp, j.col, opt)
			if errs[i] != nil {
				errs[i] = fmt.Errorf("monitor: column %s: %w", j.cp.Name, errs[i])
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	r.Drift.Columns = results
	adjust(r.Drift.Columns, opt.Correction)
	for _, c := range r.Drift.Columns {
		if c.Drift {
			r.Drift.Drifted++
		}
	}
	if n := len(r.Drift.Columns); n > 0 {
		r.Drift.Share = float64(r.Drift.Drifted) / float64(n)
		r.Drift.DatasetDrift = r.Drift.Share >= opt.DriftShare
	}
	var sc *scores
	var gold []int
	if opt.Model != nil {
		var err error
		if sc, err = score(ctx, opt.Model, f); err != nil {
			return nil, err
		}
		if p.Output != nil {
			pr := predictionDrift(p.Output, sc)
			r.Prediction = &pr
			r.Performance.Reference = p.Output.Accuracy
			if p.Output.Calibration != nil {
				r.Performance.Estimated = cbpe(p.Output.Calibration, sc.confidence)
			}
		}
		if opt.Labels != "" {
			if gold, err = labelIDs(f, opt.Labels, sc.classes); err != nil {
				return nil, err
			}
			right, n := 0, 0
			for i, g := range gold {
				if g < 0 {
					continue
				}
				n++
				if sc.labels[i] == g {
					right++
				}
			}
			if n > 0 {
				r.Performance.Actual = &Metric{Accuracy: float64(right) / float64(n), Rows: n}
			}
		}
	} else if opt.Labels != "" {
		return nil, fmt.Errorf("monitor: --labels needs the model, to compare its predictions with them")
	}
	segs, err := explainWindow(p, f, opt, r, sc, gold)
	if err != nil {
		return nil, err
	}
	r.Segments = segs
	return r, nil
}

func adjust(cols []ColumnResult, how string) {
	var idx []int
	var ps []float64
	for i, c := range cols {
		if c.PValue != nil && pTest(c.Test) {
			idx = append(idx, i)
			ps = append(ps, *c.PValue)
		}
	}
	switch how {
	case "bonferroni":
		ps = drift.Bonferroni(ps)
	case "fdr":
		ps = drift.BenjaminiHochberg(ps)
	default:
		return
	}
	for j, i := range idx {
		v := ps[j]
		cols[i].PValue = &v
		cols[i].Drift = v < cols[i].Threshold
	}
}

// chooseTest is Evidently's default test for a reference column.
func chooseTest(cp *ColumnProfile) Test {
	small := cp.Count <= smallReference
	switch cp.Kind {
	case Text:
		return TestDomain
	case Numeric:
		if cp.Distinct > 5 {
			if small {
				return TestKS
			}
			return TestWasserstein
		}
		// Few distinct values: a categorical column.
		if small {
			if cp.Distinct <= 2 {
				return TestZ
			}
			return TestChi2
		}
		return TestJensenShannon
	default:
		if small {
			if cp.Distinct <= 2 {
				return TestZ
			}
			return TestChi2
		}
		return TestJensenShannon
	}
}

func checkColumn(ctx context.Context, cp *ColumnProfile, c *explain.FrameColumn, opt Options) (ColumnResult, error) {
	t, ok := opt.Tests[cp.Name]
	if !ok {
		t = chooseTest(cp)
	}
	th, ok := opt.Thresholds[cp.Name]
	if !ok {
		th = DefaultThreshold(t)
	}
	res := ColumnResult{Column: cp.Name, Kind: cp.Kind, Test: t, Threshold: th}
	if cp.Kind == Text || t == TestDomain {
		if cp.Kind != Text || c.Str == nil {
			return res, fmt.Errorf("the domain classifier needs a text column")
		}
		td, err := textDrift(ctx, cp, c.Str, opt.Seed)
		if err != nil {
			return res, err
		}
		res.Statistic = td.AUC
		res.Threshold = td.Threshold
		res.Drift = td.AUC > td.Threshold
		res.Text = td
		return res, nil
	}
	var stat, pv float64
	var hasP bool
	if cp.Kind == Numeric && c.Num != nil && (t == TestKS || t == TestWasserstein || t == TestAnderson || histTest(t)) {
		cur := finite(c.Num)
		if len(cur) == 0 || len(cp.Sample) == 0 {
			res.Drift = len(cur) != len(cp.Sample)
			return res, nil
		}
		drift.Sort(cur)
		res.Distribution = numericDistribution(cp.Sample, cur)
		switch t {
		case TestKS:
			k, err := drift.KS2SampSorted(cp.Sample, cur, drift.KSAuto)
			if err != nil {
				return res, err
			}
			stat, pv, hasP = k.Statistic, k.PValue, true
		case TestWasserstein:
			stat = drift.WassersteinSorted(cp.Sample, cur) / math.Max(cp.Std, 0.001)
		case TestAnderson:
			a, err := drift.AndersonKSamp(cp.Sample, cur)
			if err != nil {
				return res, err
			}
			stat, pv, hasP = a.Statistic, a.PValue, true
		default:
			lo, hi := math.Min(cp.Sample[0], cur[0]), math.Max(cp.Sample[len(cp.Sample)-1], cur[len(cur)-1])
			edges := drift.HistogramEdges(lo, hi, drift.SturgesBins(len(cp.Sample)+len(cur)))
			s, err := histStat(t, drift.Histogram(cp.Sample, edges), drift.Histogram(cur, edges))
			if err != nil {
				return res, err
			}
			stat = s
		}
	} else {
		keys, ref, cur := categoryCounts(cp, c)
		res.Distribution = categoryDistribution(keys, ref, cur)
		switch t {
		case TestChi2:
			r, err := drift.Chi2Contingency([][]float64{ref, cur})
			if err != nil {
				return res, err
			}
			stat, pv, hasP = r.Statistic, r.PValue, true
		case TestZ:
			// The share of the reference's most frequent value on each side.
			best := 0
			for i := range ref {
				if ref[i] > ref[best] {
					best = i
				}
			}
			z, err := drift.ZProportions(ref[best], sum(ref), cur[best], sum(cur))
			if err != nil {
				return res, err
			}
			stat, pv, hasP = z.Statistic, z.PValue, true
		case TestJensenShannon, TestPSI, TestHellinger:
			s, err := histStat(t, ref, cur)
			if err != nil {
				return res, err
			}
			stat = s
		default:
			return res, fmt.Errorf("test %s does not apply to a %s column", t, cp.Kind)
		}
	}
	res.Statistic = stat
	if hasP {
		res.PValue = &pv
		res.Drift = pv < th
	} else {
		res.Drift = stat > th
	}
	return res, nil
}

func histTest(t Test) bool { return t == TestJensenShannon || t == TestPSI || t == TestHellinger }

func histStat(t Test, p, q []float64) (float64, error) {
	switch t {
	case TestPSI:
		return drift.PSI(p, q)
	case TestHellinger:
		return drift.Hellinger(p, q)
	}
	return drift.JensenShannon(p, q)
}

func sum(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s
}

func finite(xs []float64) []float64 {
	out := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) {
			out = append(out, x)
		}
	}
	return out
}

// categoryCounts lays the reference and current counts of a categorical
// (or few-valued numeric) column side by side over the union of values;
// values beyond the profile's MaxCategories share the reference's "other".
func categoryCounts(cp *ColumnProfile, c *explain.FrameColumn) (names []string, ref, cur []float64) {
	refCounts := map[string]float64{}
	if cp.Kind == Numeric {
		for _, x := range cp.Sample {
			refCounts[fmtNum(x)]++
		}
	} else {
		for k, n := range cp.Categories {
			refCounts[k] = float64(n)
		}
	}
	curCounts := map[string]float64{}
	other := 0.0
	add := func(v string, n float64) {
		if _, ok := refCounts[v]; !ok && cp.Other > 0 {
			other += n
			return
		}
		curCounts[v] += n
	}
	if c.Str != nil {
		counts := make([]float64, len(c.Str.Dict))
		for _, k := range c.Str.Codes {
			if k >= 0 {
				counts[k]++
			}
		}
		for k, n := range counts {
			if n > 0 {
				add(c.Str.Dict[k], n)
			}
		}
	} else {
		for _, x := range c.Num {
			if !math.IsNaN(x) {
				add(fmtNum(x), 1)
			}
		}
	}
	keys := make([]string, 0, len(refCounts)+len(curCounts))
	for k := range refCounts {
		keys = append(keys, k)
	}
	for k := range curCounts {
		if _, ok := refCounts[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		ref = append(ref, refCounts[k])
		cur = append(cur, curCounts[k])
	}
	if cp.Other > 0 {
		keys = append(keys, otherCategory)
		ref = append(ref, float64(cp.Other))
		cur = append(cur, other)
	}
	return keys, ref, cur
}

// otherCategory names the values a Distribution or profile lumps together.
const otherCategory = "(other)"

// numericDistribution bins both sorted samples over distBins equal-width
// bins spanning both ranges.
func numericDistribution(ref, cur []float64) *Distribution {
	if len(ref) == 0 || len(cur) == 0 {
		return nil
	}
	lo, hi := math.Min(ref[0], cur[0]), math.Max(ref[len(ref)-1], cur[len(cur)-1])
	if math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return nil
	}
	edges := drift.HistogramEdges(lo, hi, distBins)
	return &Distribution{Edges: edges, Reference: shares(drift.Histogram(ref, edges)), Current: shares(drift.Histogram(cur, edges))}
}

// categoryDistribution keeps the distCategories values with the largest
// share on either side, in that order, and sums the rest.
func categoryDistribution(keys []string, ref, cur []float64) *Distribution {
	rs, cs := shares(ref), shares(cur)
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Compare(math.Max(rs[b], cs[b]), math.Max(rs[a], cs[a]))
	})
	d := &Distribution{Categories: []string{}, Reference: []float64{}, Current: []float64{}}
	var restR, restC float64
	rest := false
	for n, i := range order {
		if n < distCategories && keys[i] != otherCategory {
			d.Categories = append(d.Categories, keys[i])
			d.Reference = append(d.Reference, rs[i])
			d.Current = append(d.Current, cs[i])
			continue
		}
		restR += rs[i]
		restC += cs[i]
		rest = true
	}
	if rest {
		d.Categories = append(d.Categories, otherCategory)
		d.Reference = append(d.Reference, restR)
		d.Current = append(d.Current, restC)
	}
	return d
}

// shares divides counts by their sum (all zero when the sum is zero).
func shares(counts []float64) []float64 {
	out := make([]float64, len(counts))
	t := sum(counts)
	if t == 0 {
		return out
	}
	for i, c := range counts {
		out[i] = c / t
	}
	return out
}

func fmtNum(x float64) string { return fmt.Sprint(x) }

func quality(p *Profile, f *explain.Frame, opt Options) Quality {
	q := Quality{Columns: []QualityColumn{}}
	for _, cp := range p.Columns {
		c, err := f.Col(cp.Name)
		if err != nil {
			q.MissingColumns = append(q.MissingColumns, cp.Name)
			continue
		}
		qc := QualityColumn{Column: cp.Name}
		if n := cp.Count + cp.Missing; n > 0 {
			qc.RefMissingRate = float64(cp.Missing) / float64(n)
		}
		missing := 0
		switch {
		case cp.Kind == Numeric && c.Num == nil:
			qc.TypeChanged = "numeric → string"
		case cp.Kind != Numeric && c.Str == nil:
			qc.TypeChanged = "string → numeric"
		}
		if c.Num != nil {
			for _, x := range c.Num {
				switch {
				case math.IsNaN(x):
					missing++
				case cp.Kind == Numeric && cp.Count > 0 && (x < cp.Min || x > cp.Max):
					qc.OutOfRange++
				}
			}
		} else {
			seen := map[string]bool{}
			for _, k := range c.Str.Codes {
				if k < 0 {
					missing++
					continue
				}
				if cp.Kind != Categorical || cp.Other > 0 {
					continue
				}
				v := c.Str.Dict[k]
				if _, ok := cp.Categories[v]; !ok {
					qc.NewCategoryRow++
					if !seen[v] && len(qc.NewCategories) < 20 {
						qc.NewCategories = append(qc.NewCategories, v)
					}
					seen[v] = true
				}
			}
		}
		if f.Rows > 0 {
			qc.MissingRate = float64(missing) / float64(f.Rows)
		}
		q.Columns = append(q.Columns, qc)
	}
	for _, c := range f.Cols {
		if p.Column(c.Name) == nil && !strings.EqualFold(c.Name, opt.Labels) {
			q.NewColumns = append(q.NewColumns, c.Name)
		}
	}
	slices.Sort(q.NewColumns)
	return q
}

// predictionDrift compares the predicted classes with the reference's by
// the default rule for a categorical column.
func predictionDrift(out *OutputProfile, sc *scores) ColumnResult {
	cp := ColumnProfile{Name: "prediction", Kind: Categorical, Categories: out.Predicted}
	for _, n := range out.Predicted {
		cp.Count += n
	}
	cp.Distinct = len(out.Classes)
	enc := explain.NewEncoder("prediction")
	for _, l := range sc.labels {
		enc.Append(className(sc.classes, l))
	}
	col := &explain.FrameColumn{Name: "prediction", Str: enc.Column()}
	res, err := checkColumn(context.Background(), &cp, col, Options{})
	if err != nil {
		// Degenerate tables (one class on both sides) cannot drift.
		return ColumnResult{Column: "prediction", Kind: Categorical, Test: chooseTest(&cp), Threshold: DefaultThreshold(chooseTest(&cp))}
	}
	return res
}

// cbpe is NannyML's confidence-based performance estimate of accuracy:
// the mean calibrated probability that each prediction is right, with a
// 95% band from the variance of that sum of Bernoulli outcomes.
func cbpe(cal *Calibration, conf []float64) *Metric {
	if len(conf) == 0 {
		return nil
	}
	s, v := 0.0, 0.0
	for _, c := range conf {
		p := cal.At(c)
		s += p
		v += p * (1 - p)
	}
	n := float64(len(conf))
	acc := s / n
	half := 1.959963984540054 * math.Sqrt(v) / n
	lo, hi := math.Max(0, acc-half), math.Min(1, acc+half)
	return &Metric{Accuracy: acc, Low: &lo, High: &hi, Rows: len(conf)}
}
