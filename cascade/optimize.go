package cascade

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"sort"
)

// Sentinel thresholds: a Low of NoLow answers nothing with the first class,
// a High of NoHigh answers nothing with the cheap model's top class.
const (
	NoLow  = -1.0
	NoHigh = 2.0
)

// Costs are the measured seconds per input of each stage.
type Costs struct {
	// Cheap is the cheap model's cost per input: Build times single-row
	// calls, as single-row serving pays.
	Cheap float64 `json:"cheap_seconds"`
	// CheapBatch is its cost per row in one batched call (for
	// information).
	CheapBatch float64 `json:"cheap_batch_seconds,omitempty"`
	// Reference is what one input sent to the reference costs the cascade:
	// Build times single-row calls 1 ms apart (one request per input, now
	// and then, as a cascade serving single rows pays).
	Reference float64 `json:"reference_seconds"`
	// ReferenceAlone is what the reference alone pays per input, serving
	// single rows back to back; when set, Speedup is measured against it
	// (0: against Reference).
	ReferenceAlone float64 `json:"reference_alone_seconds,omitempty"`
	// ReferenceBatch is the reference's cost per row when Build labeled the
	// sample in batches (for information; the optimizer uses Reference).
	ReferenceBatch float64 `json:"reference_batch_seconds,omitempty"`
	Diff           float64 `json:"diff_seconds,omitempty"`
}

// Heldout is a held-out sample scored by the cheap model and labeled by the
// reference, in input order.
type Heldout struct {
	// Binary selects the two-threshold rule on Score = p(second class);
	// otherwise the cheap model answers Cheap when Score (its top
	// probability) >= High.
	Binary bool
	Score  []float64
	Cheap  []int // the cheap model's answer (multi-class; ignored when Binary)
	Ref    []int // the reference's answer
	// Dist, when set, is each input's distance to the previous one (Dist[0]
	// is ignored) and lets the optimizer consider a difference detector.
	Dist []float64
}

// Plan is a choice of thresholds and what it does on the held-out sample.
type Plan struct {
	Low           float64 `json:"low"`
	High          float64 `json:"high"`
	DiffThreshold float64 `json:"diff_threshold"` // reuse when distance < this; 0 = off
	// Evaluated on the held-out sample:
	Agreement         float64 `json:"agreement"`
	ReferenceFraction float64 `json:"reference_fraction"`
	ReuseFraction     float64 `json:"reuse_fraction"`
	Cost              float64 `json:"expected_cost_seconds"` // per input
	Speedup           float64 `json:"expected_speedup"`      // the reference alone's cost / Cost
}

// ErrNoPlan means no thresholds reach the target (only possible when the
// difference detector alone already breaks it, or the sample is empty).
var ErrNoPlan = errors.New("cascade: no thresholds reach the target agreement")

func (h *Heldout) check() error {
	n := len(h.Ref)
	if n == 0 {
		return errors.New("cascade: optimize: empty held-out sample")
	}
	if len(h.Score) != n || (!h.Binary && len(h.Cheap) != n) || (h.Dist != nil && len(h.Dist) != n) {
		return fmt.Errorf("cascade: optimize: held-out columns of unequal length (%d labels, %d scores)", n, len(h.Score))
	}
	return nil
}

// answer is what the cascade answers for row i without the detector, and
// whether the cheap model answered.
func (h *Heldout) answer(i int, low, high float64) (int, bool) {
	s := h.Score[i]
	if h.Binary {
		switch {
		case s <= low:
			return 0, true
		case s >= high:
			return 1, true
		}
		return h.Ref[i], false
	}
	if s >= high {
		return h.Cheap[i], true
	}
	return h.Ref[i], false
}

// Evaluate runs the plan's rule over the held-out sample in order and fills
// in its agreement, fractions, cost and speedup.
func Evaluate(h *Heldout, c Costs, p *Plan) {
	n := len(h.Ref)
	agree, ref, reuse := 0, 0, 0
	last := -1
	for i := 0; i < n; i++ {
		var a int
		if p.DiffThreshold > 0 && h.Dist != nil && i > 0 && h.Dist[i] < p.DiffThreshold && last >= 0 {
			a = last
			reuse++
		} else {
			var cheap bool
			a, cheap = h.answer(i, p.Low, p.High)
			if !cheap {
				ref++
			}
		}
		last = a
		if a == h.Ref[i] {
			agree++
		}
	}
	fn := float64(n)
	p.Agreement = float64(agree) / fn
	p.ReferenceFraction = float64(ref) / fn
	p.ReuseFraction = float64(reuse) / fn
	p.Cost = float64(n-reuse)/fn*c.Cheap + p.ReferenceFraction*c.Reference
	if p.DiffThreshold > 0 {
		p.Cost += c.Diff
	}
	p.Speedup = 0
	if p.Cost > 0 {
		p.Speedup = cmp.Or(c.ReferenceAlone, c.Reference) / p.Cost
	}
}

// Optimize picks the plan of lowest expected cost per input whose agreement
// with the reference on the held-out sample is >= target. Sending fewer
// inputs to the reference always lowers the cost, so for each candidate
// difference-detector threshold it finds, exactly, the threshold pair that
// lets the cheap model answer the most inputs within the error budget
// (sorting the scores once and sweeping both thresholds with two pointers),
// then compares the candidates' costs.
func Optimize(h *Heldout, c Costs, target float64) (*Plan, error) {
	return OptimizeConfident(h, c, target, 0)
}

// OptimizeConfident is Optimize with a margin for sampling error: with
// confidence > 0 (e.g. 0.95) the plan's disagreement rate must be at most
// 1-target even at the one-sided Wilson upper confidence bound, not just on
// the held-out sample, so that the target holds on new inputs from the
// same distribution with that confidence.
func OptimizeConfident(h *Heldout, c Costs, target, confidence float64) (*Plan, error) {
	return OptimizeMargin(h, c, target, Margin{Confidence: confidence})
}

// Margin is the optimizer's allowance for sampling error.
type Margin struct {
	// Confidence > 0 demands the target with this probability rather
	// than on the held-out rows themselves.
	Confidence float64
	// Window 0 applies Confidence to the long-run disagreement rate: the
	// one-sided Wilson upper bound of the held-out rate must be at most
	// 1-target. Window m > 0 applies it to the next m inputs: the
	// probability that at most (1-target)·m of them disagree must be at
	// least Confidence, under the beta-binomial posterior predictive of
	// the held-out disagreements (Jeffreys prior). A window is what a
	// test set, or a day's traffic, measures: even a plan whose long-run
	// rate is exactly 1-target misses the target on about half of the
	// windows, so a window demands a lower rate the smaller it is.
	Window int
}

// OptimizeMargin is Optimize with a margin for sampling error (Margin).
func OptimizeMargin(h *Heldout, c Costs, target float64, m Margin) (*Plan, error) {
	if err := h.check(); err != nil {
		return nil, err
	}
	if target < 0 || target > 1 {
		return nil, fmt.Errorf("cascade: optimize: target agreement %v outside [0, 1]", target)
	}
	n := len(h.Ref)
	if m.Confidence < 0 || m.Confidence >= 1 {
		return nil, fmt.Errorf("cascade: optimize: confidence %v outside [0, 1)", m.Confidence)
	}
	if m.Window < 0 {
		return nil, fmt.Errorf("cascade: optimize: window %d < 0", m.Window)
	}
	return OptimizeBudget(h, c, m.budget(n, target))
}

// budget is the most disagreements out of n held-out rows that meet target
// with the margin.
func (m Margin) budget(n int, target float64) int {
	if m.Window > 0 && m.Confidence > 0 {
		return windowBudget(n, m.Window, target, m.Confidence)
	}
	return errorBudget(n, target, m.Confidence)
}

// OptimizeBudget picks the plan of lowest expected cost with at most budget
// disagreements with the reference on the held-out sample (exactly, as
// Optimize).
func OptimizeBudget(h *Heldout, c Costs, budget int) (*Plan, error) {
	if err := h.check(); err != nil {
		return nil, err
	}
	n := len(h.Ref)
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	var best *Plan
	consider := func(diff float64, rows []int, reuseErrs int) {
		// The reused answers are judged exactly by Evaluate; if reuse makes
		// the exact agreement miss the target, spend less budget on the
		// cheap model until it does not.
		for b := budget - reuseErrs; b >= 0; b-- {
			low, high := bestCover(h, rows, b)
			p := &Plan{Low: low, High: high, DiffThreshold: diff}
			Evaluate(h, c, p)
			if errs := int(math.Round((1 - p.Agreement) * float64(n))); errs <= budget {
				if best == nil || p.Cost < best.Cost-1e-15 || (p.Cost <= best.Cost+1e-15 && p.Agreement > best.Agreement) {
					best = p
				}
				return
			}
		}
	}
	consider(0, all, 0)
	if h.Dist != nil {
		for _, d := range diffCandidates(h.Dist[1:], 32) {
			rows := make([]int, 0, n)
			errs := 0
			anchor := -1
			for i := 0; i < n; i++ {
				if i > 0 && h.Dist[i] < d && anchor >= 0 {
					if h.Ref[i] != h.Ref[anchor] {
						errs++
					}
					continue
				}
				anchor = i
				rows = append(rows, i)
			}
			if errs <= budget {
				consider(d, rows, errs)
			}
		}
	}
	if best == nil {
		return nil, ErrNoPlan
	}
	return best, nil
}

// errorBudget is the most disagreements out of n that still meet target:
// on the sample itself (confidence 0), or at the Wilson upper bound.
func errorBudget(n int, target, confidence float64) int {
	plain := int(math.Floor((1-target)*float64(n) + 1e-9))
	if confidence <= 0 {
		return plain
	}
	z := normalQuantile(confidence)
	fn := float64(n)
	for e := plain; e >= 0; e-- {
		p := float64(e) / fn
		ub := (p + z*z/(2*fn) + z*math.Sqrt(p*(1-p)/fn+z*z/(4*fn*fn))) / (1 + z*z/fn)
		if ub <= 1-target+1e-12 {
			return e
		}
	}
	return -1
}

// windowBudget is the most disagreements e out of n held-out rows for
// which a window of m new inputs holds at most floor((1-target)·m)
// disagreements with probability >= confidence, the disagreement rate
// having the posterior Beta(e+1/2, n-e+1/2); -1 when even none is enough.
func windowBudget(n, m int, target, confidence float64) int {
	k := int(math.Floor((1-target)*float64(m) + 1e-9))
	best := -1
	for e := 0; e <= n; e++ {
		if betaBinomialCDF(k, m, float64(e)+0.5, float64(n-e)+0.5) < confidence-1e-12 {
			break // more disagreements only lower the probability
		}
		best = e
	}
	return best
}

// betaBinomialCDF is P(X <= k) for X ~ BetaBinomial(m, a, b).
func betaBinomialCDF(k, m int, a, b float64) float64 {
	lbeta := func(x, y float64) float64 {
		lx, _ := math.Lgamma(x)
		ly, _ := math.Lgamma(y)
		lxy, _ := math.Lgamma(x + y)
		return lx + ly - lxy
	}
	lchoose := func(m, x int) float64 {
		a, _ := math.Lgamma(float64(m + 1))
		b, _ := math.Lgamma(float64(x + 1))
		c, _ := math.Lgamma(float64(m - x + 1))
		return a - b - c
	}
	base := lbeta(a, b)
	var s float64
	for x := 0; x <= min(k, m); x++ {
		s += math.Exp(lchoose(m, x) + lbeta(float64(x)+a, float64(m-x)+b) - base)
	}
	return min(s, 1)
}

// normalQuantile is the standard normal quantile (Acklam's rational
// approximation, relative error below 1.2e-9).
func normalQuantile(p float64) float64 {
	a := [6]float64{-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00}
	b := [5]float64{-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01}
	c := [6]float64{-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00}
	d := [4]float64{7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00}
	switch {
	case p < 0.02425:
		q := math.Sqrt(-2 * math.Log(p))
		return (((((c[0]*q+c[1])*q+c[2])*q+c[3])*q+c[4])*q + c[5]) / ((((d[0]*q+d[1])*q+d[2])*q+d[3])*q + 1)
	case p > 1-0.02425:
		q := math.Sqrt(-2 * math.Log(1-p))
		return -(((((c[0]*q+c[1])*q+c[2])*q+c[3])*q+c[4])*q + c[5]) / ((((d[0]*q+d[1])*q+d[2])*q+d[3])*q + 1)
	}
	q := p - 0.5
	r := q * q
	return (((((a[0]*r+a[1])*r+a[2])*r+a[3])*r+a[4])*r + a[5]) * q / (((((b[0]*r+b[1])*r+b[2])*r+b[3])*r+b[4])*r + 1)
}

// diffCandidates returns up to k distinct thresholds just above quantiles
// of the distances (a threshold t reuses inputs with distance < t).
func diffCandidates(dist []float64, k int) []float64 {
	d := append([]float64(nil), dist...)
	sort.Float64s(d)
	var out []float64
	for q := 1; q <= k; q++ {
		i := q*len(d)/(k+1) - 1
		if i < 0 {
			continue
		}
		t := math.Nextafter(d[i], math.Inf(1))
		if t > 0 && (len(out) == 0 || t > out[len(out)-1]) {
			out = append(out, t)
		}
	}
	return out
}

// bestCover returns the thresholds under which the cheap model answers the
// most of rows while getting at most budget of them wrong.
func bestCover(h *Heldout, rows []int, budget int) (low, high float64) {
	if budget < 0 || len(rows) == 0 {
		return NoLow, NoHigh
	}
	idx := append([]int(nil), rows...)
	sort.Slice(idx, func(a, b int) bool { return h.Score[idx[a]] < h.Score[idx[b]] })
	// Group equal scores: a threshold cannot split them.
	type group struct {
		v                 float64
		n, wrong0, wrong1 int // wrong0: wrong if answered first class; wrong1: wrong if answered high
	}
	var gs []group
	for _, i := range idx {
		s := h.Score[i]
		if len(gs) == 0 || gs[len(gs)-1].v != s {
			gs = append(gs, group{v: s})
		}
		g := &gs[len(gs)-1]
		g.n++
		if h.Binary {
			if h.Ref[i] != 0 {
				g.wrong0++
			}
			if h.Ref[i] != 1 {
				g.wrong1++
			}
		} else if h.Cheap[i] != h.Ref[i] {
			g.wrong1++
		}
	}
	m := len(gs)
	// Suffix sums: groups b..m-1 answered high.
	sufN := make([]int, m+1)
	sufE := make([]int, m+1)
	for b := m - 1; b >= 0; b-- {
		sufN[b] = sufN[b+1] + gs[b].n
		sufE[b] = sufE[b+1] + gs[b].wrong1
	}
	bestA, bestB, bestCov, bestErr := 0, m, -1, 0
	preN, preE := 0, 0
	b := 0
	maxA := m
	if !h.Binary {
		maxA = 0 // no low threshold
	}
	for a := 0; a <= maxA; a++ {
		if a > 0 {
			preN += gs[a-1].n
			preE += gs[a-1].wrong0
		}
		if preE > budget {
			break
		}
		if b < a {
			b = a
		}
		for b < m && sufE[b] > budget-preE {
			b++
		}
		cov, errs := preN+sufN[b], preE+sufE[b]
		if cov > bestCov || (cov == bestCov && errs < bestErr) {
			bestA, bestB, bestCov, bestErr = a, b, cov, errs
		}
	}
	low, high = NoLow, NoHigh
	if bestA > 0 {
		low = gs[bestA-1].v
	}
	if bestB < m {
		high = gs[bestB].v
	}
	return low, high
}
