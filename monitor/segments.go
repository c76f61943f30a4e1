package monitor

import (
	"cmp"
	"errors"
	"math"
	"slices"
	"strings"

	"github.com/dawn-ml/dawn/explain"
)

// Segment is an attribute-value combination that explains a drift or a
// rise in errors.
type Segment struct {
	Attributes map[string]string `json:"attributes"`
	// Reason says what was compared: "errors" (wrong against right
	// predictions), "confidence" (low against high confidence), "drift"
	// (rows off the reference distribution of a drifted column against
	// the others) or "population" (current window against reference).
	Reason    string  `json:"reason"`
	Support   float64 `json:"support"`    // share of the flagged rows in the segment
	RiskRatio float64 `json:"risk_ratio"` // flagged rate inside over outside
	RiskLow   float64 `json:"risk_ratio_low"`
	RiskHigh  float64 `json:"risk_ratio_high"`
	Rows      float64 `json:"rows"`    // rows in the segment
	Flagged   float64 `json:"flagged"` // flagged rows in the segment
}

// Segment search settings: explain's DIFF with the risk ratio, support
// ≥ 0.1 and ratio ≥ 2, combinations of up to three attributes; at most
// maxSegments reported. A combination replaces its parts when its risk
// ratio is at least specificFactor times theirs.
const (
	segMinSupport  = 0.1
	segMinRatio    = 2
	maxSegments    = 10
	specificFactor = 1.5
	// An attribute with more distinct values than this in the window is
	// an identifier, not a segment.
	maxSegmentValues = 1000
)

// explainWindow runs the segment searches the report calls for.
func explainWindow(p *Profile, f *explain.Frame, opt Options, r *Report, sc *scores, gold []int) ([]Segment, error) {
	attrs := segmentAttrs(p, f, opt)
	if len(attrs) == 0 {
		return []Segment{}, nil
	}
	var out []Segment
	run := func(reason string, cols []*explain.Column, flags []bool) error {
		segs, err := diff(cols, flags, reason)
		if err != nil {
			return err
		}
		out = append(out, segs...)
		return nil
	}
	// Errors: wrong against right where labels are in, else low against
	// high confidence when the estimate fell.
	if sc != nil && gold != nil && r.Performance.Actual != nil {
		ref := r.Performance.Reference
		if ref == nil || r.Performance.Actual.Accuracy < *ref-0.02 {
			var rows []int
			var flags []bool
			for i, g := range gold {
				if g >= 0 {
					rows = append(rows, i)
					flags = append(flags, sc.labels[i] != g)
				}
			}
			if err := run("errors", subset(attrs, rows), flags); err != nil {
				return nil, err
			}
		}
	} else if sc != nil && p.Output != nil && r.Performance.Estimated != nil && p.Output.Accuracy != nil &&
		r.Performance.Estimated.Accuracy < *p.Output.Accuracy-0.02 && len(p.Output.Confidence) > 0 {
		cut := percentileLinear(p.Output.Confidence, 10)
		flags := make([]bool, len(sc.confidence))
		for i, c := range sc.confidence {
			flags[i] = c < cut
		}
		if err := run("confidence", attrs, flags); err != nil {
			return nil, err
		}
	}
	if r.Drift.Drifted > 0 {
		if flags := offReference(p, f, r); flags != nil {
			if err := run("drift", attrs, flags); err != nil {
				return nil, err
			}
		}
		if cols, flags := againstReference(p, attrs); cols != nil {
			if err := run("population", cols, flags); err != nil {
				return nil, err
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Segment) int {
		return cmp.Or(cmp.Compare(b.RiskRatio, a.RiskRatio), cmp.Compare(b.Support, a.Support))
	})
	if len(out) > maxSegments {
		out = out[:maxSegments]
	}
	if out == nil {
		out = []Segment{}
	}
	return out, nil
}

func segmentAttrs(p *Profile, f *explain.Frame, opt Options) []*explain.Column {
	var out []*explain.Column
	if opt.Segments != nil {
		for _, name := range opt.Segments {
			if c, err := f.Col(name); err == nil && c.Str != nil {
				out = append(out, c.Str)
			}
		}
		return out
	}
	for _, c := range f.Cols {
		if c.Str == nil || strings.EqualFold(c.Name, opt.Labels) || contains(opt.Ignore, c.Name) {
			continue
		}
		if cp := p.Column(c.Name); cp != nil && cp.Kind == Text {
			continue
		}
		if len(c.Str.Dict) > maxSegmentValues {
			continue
		}
		out = append(out, c.Str)
	}
	return out
}

func subset(cols []*explain.Column, rows []int) []*explain.Column {
	out := make([]*explain.Column, len(cols))
	for j, c := range cols {
		s := &explain.Column{Name: c.Name, Dict: c.Dict, Codes: make([]int32, len(rows))}
		for i, r := range rows {
			s.Codes[i] = c.Codes[r]
		}
		out[j] = s
	}
	return out
}

// offReference flags the window's rows whose value in a drifted numeric or
// categorical column lies where the reference has almost no mass: outside
// its 0.5th–99.5th percentiles, or a category with under 1% of the
// reference rows (new ones included).
func offReference(p *Profile, f *explain.Frame, r *Report) []bool {
	flags := make([]bool, f.Rows)
	any := false
	for _, res := range r.Drift.Columns {
		cp := p.Column(res.Column)
		c, err := f.Col(res.Column)
		if !res.Drift || cp == nil || err != nil {
			continue
		}
		switch {
		case cp.Kind == Numeric && c.Num != nil && len(cp.Sample) > 0:
			lo, hi := percentileLinear(cp.Sample, 0.5), percentileLinear(cp.Sample, 99.5)
			for i, x := range c.Num {
				if !math.IsNaN(x) && (x < lo || x > hi) {
					flags[i] = true
					any = true
				}
			}
		case cp.Kind == Categorical && c.Str != nil && cp.Count > 0:
			rare := make([]bool, len(c.Str.Dict))
			for k, v := range c.Str.Dict {
				rare[k] = float64(cp.Categories[v]) < 0.01*float64(cp.Count)
			}
			for i, k := range c.Str.Codes {
				if k >= 0 && rare[k] {
					flags[i] = true
					any = true
				}
			}
		}
	}
	if !any {
		return nil
	}
	return flags
}

// againstReference stacks the window's attribute values over the
// profile's reference row sample, flagging the window's rows.
func againstReference(p *Profile, attrs []*explain.Column) ([]*explain.Column, []bool) {
	if len(p.RowValues) == 0 {
		return nil, nil
	}
	var cols []*explain.Column
	for _, a := range attrs {
		j := slices.Index(p.RowColumns, a.Name)
		if j < 0 {
			continue
		}
		enc := explain.NewEncoder(a.Name)
		enc.EmptyIsNull = true
		for i := range a.Codes {
			if v, ok := a.Value(i); ok {
				enc.Append(v)
			} else {
				enc.AppendNull()
			}
		}
		for _, row := range p.RowValues {
			enc.Append(row[j])
		}
		cols = append(cols, enc.Column())
	}
	if cols == nil {
		return nil, nil
	}
	n := len(attrs[0].Codes)
	flags := make([]bool, n+len(p.RowValues))
	for i := 0; i < n; i++ {
		flags[i] = true
	}
	return cols, flags
}

// diff runs explain's DIFF search and keeps the most specific segments.
func diff(cols []*explain.Column, flags []bool, reason string) ([]Segment, error) {
	o := 0
	for _, f := range flags {
		if f {
			o++
		}
	}
	if o == 0 || o == len(flags) {
		return nil, nil
	}
	opt := explain.Options{MinSupport: segMinSupport, MinRatio: segMinRatio, Metric: explain.RiskRatio, MaxOrder: min(3, len(cols)), Workers: 1}
	res, err := explain.APriori(cols, explain.Labels{Outlier: flags}, opt)
	if errors.Is(err, explain.ErrNoOutliers) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	refine(res, cols, flags)
	mostSpecific(res)
	ext := explain.Annotate(res)
	var out []Segment
	for i, e := range res.Explanations {
		s := Segment{Attributes: map[string]string{}, Reason: reason, Support: e.Support, RiskRatio: e.Ratio,
			RiskLow: ext[i].RiskLow, RiskHigh: ext[i].RiskHigh, Rows: e.TotalCount, Flagged: e.OutlierCount}
		for j, v := range e.Values {
			if v != "" {
				s.Attributes[res.Attributes[j]] = v
			}
		}
		if math.IsInf(s.RiskRatio, 0) {
			s.RiskRatio = math.MaxFloat64
		}
		out = append(out, s)
	}
	return out, nil
}

// refine replaces each explanation by the most specific combination that
// is far stronger than it: explain's APriori, like MacroBase, does not
// extend a combination that already qualifies, so a planted pair shows up
// as its two halves. For each reported combination, every one-attribute
// extension is counted directly; the one with the highest risk ratio
// (support ≥ segMinSupport) replaces it when its ratio is at least
// specificFactor times larger, repeatedly up to three attributes.
// Duplicates are merged.
func refine(r *explain.Result, cols []*explain.Column, flags []bool) {
	O, N := r.Outliers, r.Total
	seen := map[string]bool{}
	var out []explain.Explanation
	for _, e := range r.Explanations {
		codes := make([]int32, len(cols))
		for j, v := range e.Values {
			codes[j] = -1
			if v != "" {
				codes[j] = int32(slices.Index(cols[j].Dict, v))
			}
		}
		for e.Order < 3 {
			best, bj, bk := e, -1, int32(-1)
			for j, c := range cols {
				if codes[j] >= 0 {
					continue
				}
				o := make([]float64, len(c.Dict))
				n := make([]float64, len(c.Dict))
			rows:
				for i := range flags {
					for jj, k := range codes {
						if k >= 0 && cols[jj].Codes[i] != k {
							continue rows
						}
					}
					if k := c.Codes[i]; k >= 0 {
						n[k]++
						if flags[i] {
							o[k]++
						}
					}
				}
				for k := range o {
					if o[k] < segMinSupport*O || n[k] == 0 {
						continue
					}
					ratio := r.Metric.Ratio(o[k], n[k], O, N)
					if ratio > best.Ratio {
						best = explain.Explanation{Order: e.Order + 1, Support: o[k] / O, Ratio: ratio, OutlierCount: o[k], TotalCount: n[k]}
						bj, bk = j, int32(k)
					}
				}
			}
			if bj < 0 || best.Ratio < specificFactor*e.Ratio {
				break
			}
			codes[bj] = bk
			best.Values = slices.Clone(e.Values)
			best.Values[bj] = cols[bj].Dict[bk]
			e = best
		}
		key := strings.Join(e.Values, "\x00")
		if !seen[key] {
			seen[key] = true
			out = append(out, e)
		}
	}
	r.Explanations = out
}

// mostSpecific drops each combination that a larger reported combination
// containing it beats by specificFactor in risk ratio: the smaller one is
// then only a diluted view of the larger (a planted {country=CA,
// version=v3} makes country=CA and version=v3 look risky on their own).
// A combination no stronger than its parts is dropped in turn, as
// explain.RemoveRedundant does.
func mostSpecific(r *explain.Result) {
	explain.RemoveRedundant(r, 0.05)
	keep := r.Explanations[:0:0]
	for _, e := range r.Explanations {
		diluted := false
		for _, s := range r.Explanations {
			if s.Order > e.Order && contained(e, s) && s.Ratio >= specificFactor*e.Ratio {
				diluted = true
				break
			}
		}
		if !diluted {
			keep = append(keep, e)
		}
	}
	r.Explanations = keep
}

// contained reports whether e's values are a subset of s's.
func contained(e, s explain.Explanation) bool {
	for i, v := range e.Values {
		if v != "" && s.Values[i] != v {
			return false
		}
	}
	return true
}
