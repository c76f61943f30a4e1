package labelmodel

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/dawn-ml/dawn/label"
)

// Method names accepted by New and written in saved models.
const (
	Majority   = "majority"
	Snorkel    = "snorkel"
	DawidSkene = "dawid-skene"
	Triplet    = "triplet"
)

// Methods lists the method names New accepts.
var Methods = []string{Snorkel, Majority, DawidSkene, Triplet}

// Model is a label model: fitted on a label matrix without ground truth, it
// gives each row a probability for every class.
type Model interface {
	// Method is the model's method name (Majority, Snorkel, ...).
	Method() string
	// Fit learns the model's parameters from x. It computes x's
	// sufficient statistics in one parallel pass and fits from those.
	Fit(ctx context.Context, x *label.Matrix) error
	// FitStats fits from statistics already computed by ComputeStats
	// (with Patterns set for Majority and DawidSkene).
	FitStats(ctx context.Context, s *Stats) error
	// PredictProba returns P(Y = y | votes) for every row of x, row-major
	// n×k. x must have the LFs and classes the model was fitted on.
	PredictProba(x *label.Matrix) ([]float64, error)
	// Predict returns the most probable class of every row, ties (within
	// 1e-5) broken by policy; seed drives TieTrueRandom only.
	Predict(x *label.Matrix, policy TieBreak, seed uint64) ([]int, error)
	// LFAccuracies returns each LF's learned accuracy, P(vote = Y | it
	// votes), in LF order; see each method's doc for its estimate.
	LFAccuracies() []float64
	// ClassBalance returns the class prior P(Y = y) the model uses.
	ClassBalance() []float64
	// LFs and Classes name the LFs and classes the model was fitted on.
	LFs() []string
	Classes() []string
	// Save writes the fitted model as JSON; Load reads it back.
	Save(w io.Writer) error
}

// Optimizer names for Options.Optimizer.
const (
	SGD  = "sgd"
	Adam = "adam"
)

// Options configure the label models. Zero fields take the defaults noted,
// which are Snorkel v0.10's where Snorkel has the setting.
type Options struct {
	// Seed makes fitting deterministic. For Snorkel it seeds the same
	// Mersenne Twister numpy.random.seed does, so a seed gives the same
	// initial scale as Snorkel's fit(seed=...). Must be below 2^32.
	Seed uint64

	// Snorkel's LabelModel.
	Epochs    int     // full-batch steps; default 100
	LR        float64 // learning rate; default 0.01
	Momentum  float64 // SGD momentum; default 0.9, negative for none
	Optimizer string  // SGD (default) or Adam (betas 0.9, 0.999, eps 1e-8)
	L2        float64 // l2 strength towards the initial mu; default 0
	PrecInit  float64 // prior LF precision for the init; default 0.7
	MuEps     float64 // clamp mu to [MuEps, 1−MuEps]; default min(0.01, 10^−ceil(log10 n))

	// Class balance, in order of preference: ClassBalance if set, else
	// estimated from DevLabels (class ids) if set, else uniform if
	// UniformPrior (Snorkel v0.10's default), else estimated from the votes
	// by Dawid–Skene EM (abstaining counts as an observed outcome, so rows
	// no LF votes on inform the prior too). Triplet takes uniform rather
	// than the estimate unless a balance or dev labels are given. Used by
	// Snorkel and Triplet;
	// Dawid–Skene learns its own; Majority has none. A model whose prior is
	// uniform while the votes' estimate is not (some class further than
	// ImbalanceWarn from 1/k) reports it in Warnings.
	ClassBalance []float64
	DevLabels    []int
	UniformPrior bool

	// LF dependencies, for Snorkel: pairs of LF indices dependent given the
	// class, whose overlap the fit does not explain by the class (see
	// snorkelFit). Nil: found from the votes by DetectDependencies (two
	// classes only); IndependentLFs: none, Snorkel v0.10's assumption.
	Dependencies   [][2]int
	IndependentLFs bool

	// NoFallback keeps Snorkel's fitted model even when it makes some LF's
	// vote evidence against that LF's own label. By default such a fit,
	// which breaks the model's assumption that every LF is better than
	// random, labels by majority vote instead (see MajorityFallback).
	NoFallback bool

	// Dawid–Skene EM.
	MaxIter int     // default 100
	Tol     float64 // stop when the mean log-likelihood changes less; default 1e-5

	// Workers for the statistics pass and prediction; 0 means GOMAXPROCS.
	Workers int
}

// WithDefaults returns o with its zero fields set to the defaults a fit
// uses, e.g. for recording the values used.
func (o Options) WithDefaults() Options { return o.withDefaults() }

func (o Options) withDefaults() Options {
	if o.Epochs == 0 {
		o.Epochs = 100
	}
	if o.LR == 0 {
		o.LR = 0.01
	}
	if o.Momentum == 0 {
		o.Momentum = 0.9
	} else if o.Momentum < 0 {
		o.Momentum = 0
	}
	if o.Optimizer == "" {
		o.Optimizer = SGD
	}
	if o.PrecInit == 0 {
		o.PrecInit = 0.7
	}
	if o.MaxIter == 0 {
		o.MaxIter = 100
	}
	if o.Tol == 0 {
		o.Tol = 1e-5
	}
	return o
}

func (o Options) validate() error {
	switch {
	case o.Seed >= 1<<32:
		return fmt.Errorf("seed %d must be below 2^32", o.Seed)
	case o.Epochs < 0:
		return fmt.Errorf("epochs %d is negative", o.Epochs)
	case o.LR < 0 || math.IsNaN(o.LR) || math.IsInf(o.LR, 0):
		return fmt.Errorf("learning rate %v is not a finite non-negative number", o.LR)
	case o.Optimizer != SGD && o.Optimizer != Adam:
		return fmt.Errorf("optimizer %q is not %q or %q", o.Optimizer, SGD, Adam)
	case o.L2 < 0 || math.IsNaN(o.L2):
		return fmt.Errorf("l2 %v is negative", o.L2)
	case o.MuEps < 0 || o.MuEps >= 0.5 || math.IsNaN(o.MuEps):
		return fmt.Errorf("mu eps %v is not in [0, 0.5)", o.MuEps)
	case o.MaxIter < 0:
		return fmt.Errorf("max iterations %d is negative", o.MaxIter)
	}
	for c, p := range o.ClassBalance {
		if !(p > 0) || math.IsInf(p, 0) {
			return fmt.Errorf("class balance for class %d is %v; every class needs a positive prior", c, p)
		}
	}
	return nil
}

// New returns an unfitted model of the named method.
func New(method string, opt Options) (Model, error) {
	opt = opt.withDefaults()
	if err := opt.validate(); err != nil {
		return nil, fmt.Errorf("labelmodel: new %s: %w", method, err)
	}
	switch method {
	case Majority:
		return &majorityModel{opt: opt}, nil
	case Snorkel:
		return &snorkelModel{opt: opt}, nil
	case DawidSkene:
		return &dsModel{opt: opt}, nil
	case Triplet:
		return &tripletModel{opt: opt}, nil
	}
	return nil, fmt.Errorf("labelmodel: unknown method %q (want one of %s)", method, strings.Join(Methods, ", "))
}

// fitMatrix is the shared Fit: one statistics pass, then FitStats.
func fitMatrix(ctx context.Context, m Model, x *label.Matrix, patterns bool, workers int) error {
	s, err := ComputeStats(ctx, x, StatsOptions{Workers: workers, Patterns: patterns})
	if err != nil {
		return fmt.Errorf("labelmodel: fit %s: %w", m.Method(), err)
	}
	return m.FitStats(ctx, s)
}

// header is what every fitted model knows about its data.
type header struct {
	lfs, classes []string
	warnings     []string
	prior        string // where the class balance came from (a Prior* constant)
	deps         []string
	fallback     bool // snorkel: labels by majority vote (see Options.NoFallback)
}

// MajorityFallback reports whether m is a Snorkel model that labels by
// majority vote because its fit contradicted an LF (Options.NoFallback).
func MajorityFallback(m Model) bool {
	s, ok := m.(*snorkelModel)
	return ok && s.fallback
}

// Dependencies describes the LF pairs a fit treated as dependent.
func (h *header) Dependencies() []string { return h.deps }

// Dependencies returns the LF pairs m's fit treated as dependent given the
// class, described, or nil.
func Dependencies(m Model) []string {
	if w, ok := m.(interface{ Dependencies() []string }); ok {
		return w.Dependencies()
	}
	return nil
}

// Warnings returns advice about a fit, such as a uniform prior on votes
// that suggest imbalanced classes; nil when there is none.
func (h *header) Warnings() []string { return h.warnings }

// PriorSource says where the class balance came from: PriorGiven,
// PriorDev, PriorUniform or PriorEstimated ("" for models that learn or
// have no prior).
func (h *header) PriorSource() string { return h.prior }

// Where a model's class balance came from.
const (
	PriorGiven     = "given"
	PriorDev       = "dev labels"
	PriorUniform   = "uniform"
	PriorEstimated = "estimated from the votes (Dawid–Skene EM)"
)

// ImbalanceWarn is how far from 1/k some class of the votes' estimated
// balance must be for a uniform prior to draw a warning.
const ImbalanceWarn = 0.1

// Warnings returns a fitted model's advice (see Options), or nil.
func Warnings(m Model) []string {
	if w, ok := m.(interface{ Warnings() []string }); ok {
		return w.Warnings()
	}
	return nil
}

// PriorSource returns where m's class balance came from, or "".
func PriorSource(m Model) string {
	if w, ok := m.(interface{ PriorSource() string }); ok {
		return w.PriorSource()
	}
	return ""
}

func (h *header) LFs() []string     { return h.lfs }
func (h *header) Classes() []string { return h.classes }

// check reports whether x has the model's LFs and classes, in order.
func (h *header) check(method string, x *label.Matrix) error {
	if h.lfs == nil {
		return fmt.Errorf("labelmodel: %s: model is not fitted", method)
	}
	if x == nil {
		return fmt.Errorf("labelmodel: %s: nil label matrix", method)
	}
	if !slices.Equal(h.classes, x.Classes) {
		return fmt.Errorf("labelmodel: %s: matrix classes %q do not match the model's %q", method, x.Classes, h.classes)
	}
	if !slices.Equal(h.lfs, x.LFs) {
		var diff string
		switch {
		case len(h.lfs) != len(x.LFs):
			diff = fmt.Sprintf("matrix has %d LFs, model has %d", len(x.LFs), len(h.lfs))
		default:
			for j := range h.lfs {
				if h.lfs[j] != x.LFs[j] {
					diff = fmt.Sprintf("LF %d is %q in the matrix but %q in the model", j, x.LFs[j], h.lfs[j])
					break
				}
			}
		}
		return fmt.Errorf("labelmodel: %s: label matrix LFs do not match the model's: %s", method, diff)
	}
	if err := checkMatrix(x); err != nil {
		return fmt.Errorf("labelmodel: %s: %w", method, err)
	}
	return nil
}

// classBalance resolves the class-balance preference of Options (given,
// dev labels, uniform, estimated from the votes) and returns the prior, its
// source and any warning.
func classBalance(ctx context.Context, opt Options, s *Stats) (p []float64, source string, warnings []string, err error) {
	k := s.K
	switch {
	case opt.ClassBalance != nil:
		if len(opt.ClassBalance) != k {
			return nil, "", nil, fmt.Errorf("class balance has %d entries, want %d (one per class)", len(opt.ClassBalance), k)
		}
		p, source = slices.Clone(opt.ClassBalance), PriorGiven
	case opt.DevLabels != nil:
		counts := make([]float64, k)
		for i, y := range opt.DevLabels {
			if y < 0 || y >= k {
				return nil, "", nil, fmt.Errorf("dev label %d (row %d) is not a class id in 0..%d", y, i, k-1)
			}
			counts[y]++
		}
		p = make([]float64, k)
		for c := range counts {
			if counts[c] == 0 {
				return nil, "", nil, fmt.Errorf("dev labels have no row of class %d; cannot estimate its prior", c)
			}
			p[c] = counts[c] / float64(len(opt.DevLabels))
		}
		source = PriorDev
	case opt.UniformPrior:
		p, source = uniform(k), PriorUniform
	default:
		if s.Patterns == nil {
			return nil, "", nil, fmt.Errorf("estimating the class balance needs the statistics' pattern table; give a class balance or set UniformPrior")
		}
		if p, err = EstimateClassBalance(ctx, s, opt); err != nil {
			return nil, "", nil, err
		}
		return p, PriorEstimated, nil, nil
	}
	if isUniform(p) && s.Patterns != nil {
		est, err := EstimateClassBalance(ctx, s, opt)
		if err != nil {
			return nil, "", nil, err
		}
		if far(est) {
			warnings = append(warnings, fmt.Sprintf("the class prior is uniform, but the votes suggest imbalanced classes (%s, Dawid–Skene estimate); a wrong prior can cost much accuracy: give the class balance, or let it be estimated", formatBalance(s.Classes, est)))
		}
	}
	return p, source, warnings, nil
}

// EstimateClassBalance estimates P(Y) from the votes alone: the prior of a
// Dawid–Skene EM fit (s needs its pattern table). Each class gets at least
// 1e-3, so that no class is ruled out by the prior.
func EstimateClassBalance(ctx context.Context, s *Stats, opt Options) ([]float64, error) {
	ds := &dsModel{opt: opt.withDefaults()}
	if err := ds.FitStats(ctx, s); err != nil {
		return nil, fmt.Errorf("estimate class balance: %w", err)
	}
	p := slices.Clone(ds.prior)
	for c := range p {
		if !(p[c] >= 1e-3) {
			p[c] = 1e-3
		}
	}
	return normalized(p), nil
}

func uniform(k int) []float64 {
	p := make([]float64, k)
	for c := range p {
		p[c] = 1 / float64(k)
	}
	return p
}

func normalized(p []float64) []float64 {
	var z float64
	for _, v := range p {
		z += v
	}
	out := make([]float64, len(p))
	for c, v := range p {
		out[c] = v / z
	}
	return out
}

func isUniform(p []float64) bool {
	for _, v := range p {
		if math.Abs(v-1/float64(len(p))) > 1e-9 {
			return false
		}
	}
	return true
}

// far reports whether some class of p is more than ImbalanceWarn from 1/k.
func far(p []float64) bool {
	for _, v := range p {
		if math.Abs(v-1/float64(len(p))) > ImbalanceWarn {
			return true
		}
	}
	return false
}

func formatBalance(classes []string, p []float64) string {
	parts := make([]string, len(p))
	for c, v := range p {
		parts[c] = fmt.Sprintf("%s %.3f", classes[c], v)
	}
	return strings.Join(parts, ", ")
}

// predictRows fills out (n×k) by calling row(i, votes…, dst) for every row
// of x, in parallel over row ranges.
func predictRows(x *label.Matrix, k, workers int, row func(lfs, votes []int32, dst []float64)) []float64 {
	out := make([]float64, x.N*k)
	parallel(x.N, workers, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			l, v := x.Row(i)
			row(l, v, out[i*k:(i+1)*k])
		}
	})
	return out
}

// needsPatterns reports whether a fit with opt estimates the class balance
// from the votes (to use it, or to warn about a uniform prior), which needs
// the pattern table.
func needsPatterns(opt Options) bool {
	switch {
	case opt.ClassBalance != nil:
		return isUniform(normalized(opt.ClassBalance))
	case opt.DevLabels != nil:
		return false
	}
	return true
}
