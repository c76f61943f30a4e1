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

	// Class balance, Snorkel's order of preference: ClassBalance if set,
	// else estimated from DevLabels (class ids) if set, else uniform. Used
	// by Snorkel and Triplet; Dawid–Skene learns its own; Majority has none.
	ClassBalance []float64
	DevLabels    []int

	// Dawid–Skene EM.
	MaxIter int     // default 100
	Tol     float64 // stop when the mean log-likelihood changes less; default 1e-5

	// Workers for the statistics pass and prediction; 0 means GOMAXPROCS.
	Workers int
}

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

// classBalance resolves Snorkel's class-balance preference: given, else
// from dev labels, else uniform.
func classBalance(opt Options, k int) ([]float64, error) {
	switch {
	case opt.ClassBalance != nil:
		if len(opt.ClassBalance) != k {
			return nil, fmt.Errorf("class balance has %d entries, want %d (one per class)", len(opt.ClassBalance), k)
		}
		return slices.Clone(opt.ClassBalance), nil
	case opt.DevLabels != nil:
		counts := make([]float64, k)
		for i, y := range opt.DevLabels {
			if y < 0 || y >= k {
				return nil, fmt.Errorf("dev label %d (row %d) is not a class id in 0..%d", y, i, k-1)
			}
			counts[y]++
		}
		p := make([]float64, k)
		for c := range counts {
			if counts[c] == 0 {
				return nil, fmt.Errorf("dev labels have no row of class %d; cannot estimate its prior", c)
			}
			p[c] = counts[c] / float64(len(opt.DevLabels))
		}
		return p, nil
	}
	p := make([]float64, k)
	for c := range p {
		p[c] = 1 / float64(k)
	}
	return p, nil
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

// normalizeLog turns log-scores into probabilities in place.
func normalizeLog(s []float64) {
	mx := math.Inf(-1)
	for _, v := range s {
		mx = max(mx, v)
	}
	if math.IsInf(mx, -1) || math.IsNaN(mx) {
		for i := range s {
			s[i] = 1 / float64(len(s))
		}
		return
	}
	var z float64
	for i, v := range s {
		s[i] = math.Exp(v - mx)
		z += s[i]
	}
	for i := range s {
		s[i] /= z
	}
}
