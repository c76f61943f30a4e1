package fuse

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"

	"github.com/dawn-ml/dawn/internal/chunks"
	"github.com/dawn-ml/dawn/internal/logprob"
)

// Method names.
const (
	Auto       = "auto"
	Majority   = "majority"
	Wawa       = "wawa"
	OneCoin    = "onecoin"
	DawidSkene = "ds"
	GLAD       = "glad"
	MACE       = "mace"
	KOS        = "kos"
	SLiMFast   = "slimfast"
	Mean       = "mean"
	Median     = "median"
	CATD       = "catd"
)

// CategoricalMethods and NumericMethods list the methods for each kind of
// claim.
var (
	CategoricalMethods = []string{Majority, Wawa, OneCoin, DawidSkene, GLAD, MACE, KOS, SLiMFast}
	NumericMethods     = []string{Mean, Median, CATD}
)

// Options configure Fit. Zero fields take the defaults noted.
type Options struct {
	Method  string // default Auto
	Seed    uint64 // KOS's random start
	MaxIter int    // EM / message-passing iterations; default 100 (KOS 20, CATD 20)
	Tol     float64
	Workers int // 0: GOMAXPROCS

	// Known gives, per object, the id of its known true value (-1 when
	// unknown): the objects whose truth may be used for training.
	// Dawid–Skene, one-coin and SLiMFast's EM clamp these objects; SLiMFast's
	// ERM learns from them. Other methods ignore it. Nil: no ground truth.
	Known []int32

	// Features are the source features, for SLiMFast.
	Features *Features
	// SLiMFast: L2 penalty on the feature weights (default 1) and on the
	// per-source offsets (default 10: a source needs a few dozen claims
	// before its own record outweighs what its features say). ForceEM / ForceERM override the
	// optimizer's choice.
	L2, SourceL2      float64
	ForceEM, ForceERM bool

	// Alpha is CATD's significance level (default 0.05).
	Alpha float64
}

func (o Options) withDefaults() Options {
	if o.Method == "" {
		o.Method = Auto
	}
	if o.MaxIter == 0 {
		o.MaxIter = 100
	}
	if o.Tol == 0 {
		o.Tol = 1e-6
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.L2 == 0 {
		o.L2 = 1
	}
	if o.SourceL2 == 0 {
		o.SourceL2 = 10
	}
	if o.Alpha == 0 {
		o.Alpha = 0.05
	}
	return o
}

// Result is a fitted fusion.
type Result struct {
	Method string
	// Reason says why Auto or SLiMFast's optimizer chose what it did.
	Reason string
	Claims *Claims
	Iters  int

	// Categorical: per object the posterior over Claims.Values (objects ×
	// K, zero for values nobody claimed for it when the method says so),
	// the fused value id and its probability.
	Post  []float64
	Value []int32
	// Numeric: per object the fused value.
	Truth []float64
	// Confidence is the fused value's posterior probability (categorical)
	// or, for numbers, 1/(1+sd of the claims around the truth).
	Confidence []float64

	// Per source: estimated accuracy (categorical: P(its answer is the
	// truth); numeric: its CATD weight normalised to the largest, or 1) and
	// its claim count.
	Accuracy []float64
	NClaims  []int
	// Prior is the class prior the method used (categorical).
	Prior []float64

	// score and delta define Impact: score[o·K+y] ranks values (the
	// fused value is its first argmax) and delta(o, j, dst) writes claim
	// j's contribution to it.
	score []float64
	delta func(o int, j int64, dst []float64)

	// table is what the model saves for scoring new claims.
	table *Table
}

// Fit infers the truths of c with opt.Method.
func Fit(ctx context.Context, c *Claims, opt Options) (*Result, error) {
	opt = opt.withDefaults()
	method := strings.ToLower(opt.Method)
	reason := ""
	if method == Auto {
		switch {
		case c.Numeric:
			method, reason = CATD, "numeric claims: CATD weighs sources by their error and claim count"
		case opt.Features != nil:
			method, reason = SLiMFast, "source features given: SLiMFast learns source accuracy from them"
		default:
			method, reason = DawidSkene, "categorical claims without source features: Dawid–Skene is the most robust choice (Zheng et al., 2017)"
		}
	}
	if opt.Known != nil && len(opt.Known) != len(c.Objects) {
		return nil, fmt.Errorf("fuse: %d known truths for %d objects", len(opt.Known), len(c.Objects))
	}
	if !slices.Contains(CategoricalMethods, method) && !slices.Contains(NumericMethods, method) {
		return nil, fmt.Errorf("fuse: unknown method %q; use auto, %s or %s", method, strings.Join(CategoricalMethods, ", "), strings.Join(NumericMethods, ", "))
	}
	if c.Numeric != slices.Contains(NumericMethods, method) {
		if c.Numeric {
			return nil, fmt.Errorf("fuse: method %q is for categorical claims; numeric claims take %s", method, strings.Join(NumericMethods, ", "))
		}
		return nil, fmt.Errorf("fuse: method %q is for numeric claims; categorical claims take %s", method, strings.Join(CategoricalMethods, ", "))
	}
	if !c.Numeric && c.K() < 2 && method != Majority {
		// One value: every method agrees; fall back to the vote.
		method, reason = Majority, "every claim has the same value"
	}
	var r *Result
	var err error
	switch method {
	case Majority:
		r = fitMajority(c, nil)
		r.Accuracy = majorityAccuracy(c, r.Accuracy)
	case Wawa:
		r = fitWawa(c)
	case OneCoin:
		r, err = fitOneCoin(ctx, c, opt)
	case DawidSkene:
		r, err = fitDS(ctx, c, opt)
	case GLAD:
		r, err = fitGLAD(ctx, c, opt)
	case MACE:
		r, err = fitMACE(ctx, c, opt)
	case KOS:
		r, err = fitKOS(ctx, c, opt)
	case SLiMFast:
		r, err = fitSLiMFast(ctx, c, opt)
	case Mean, Median:
		r = fitCentral(c, method)
	case CATD:
		r, err = fitCATD(ctx, c, opt)
	}
	if err != nil {
		return nil, err
	}
	r.Method, r.Claims = method, c
	if reason != "" {
		if r.Reason != "" {
			reason += "; " + r.Reason
		}
		r.Reason = reason
	}
	r.NClaims = c.SourceCounts()
	if !c.Numeric {
		r.finishCategorical()
	}
	return r, nil
}

// finishCategorical sets Value and Confidence from score and Post.
func (r *Result) finishCategorical() {
	c := r.Claims
	k := c.K()
	n := len(c.Objects)
	r.Value = make([]int32, n)
	r.Confidence = make([]float64, n)
	for o := 0; o < n; o++ {
		y := argmax(r.score[o*k : (o+1)*k])
		r.Value[o] = int32(y)
		r.Confidence[o] = r.Post[o*k+y]
	}
}

func argmax(v []float64) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// objectsPerWorker is how many objects each extra worker needs.
const objectsPerWorker = 256

// parallelObjects runs f over object ranges on all workers; t numbers the
// range so callers can merge per-range results in order.
func parallelObjects(n, workers int, f func(t, lo, hi int)) {
	chunks.Run(n, workers, objectsPerWorker, f)
}

func numChunks(n, workers int) int { return chunks.Count(n, workers, objectsPerWorker) }

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

func clampProb(p float64) float64 { return min(max(p, 1e-6), 1-1e-6) }

// logScores copies log(Post) into a score table (for loglinear methods
// the log-posterior is the score up to a per-object constant).
func logScores(post []float64) []float64 {
	s := make([]float64, len(post))
	for i, p := range post {
		s[i] = math.Log(max(p, 1e-300))
	}
	return s
}

// priorFrom is the mean posterior.
func priorFrom(post []float64, k int) []float64 {
	pr := make([]float64, k)
	n := len(post) / k
	for o := 0; o < n; o++ {
		for y := 0; y < k; y++ {
			pr[y] += post[o*k+y]
		}
	}
	for y := range pr {
		pr[y] /= float64(n)
	}
	return pr
}

// correctness returns, per source, the expected number of its claims that
// are right under post: Σ post[o][a].
func correctness(c *Claims, post []float64, workers int) []float64 {
	k := c.K()
	n := len(c.Objects)
	parts := make([][]float64, numChunks(n, workers))
	parallelObjects(n, workers, func(t, lo, hi int) {
		q := make([]float64, len(c.Sources))
		for o := lo; o < hi; o++ {
			for j := c.Ptr[o]; j < c.Ptr[o+1]; j++ {
				q[c.Src[j]] += post[o*k+int(c.Val[j])]
			}
		}
		parts[t] = q
	})
	q := parts[0]
	for _, p := range parts[1:] {
		for i, v := range p {
			q[i] += v
		}
	}
	return q
}

// oneCoinEStep sets post from per-source accuracies and a prior and
// returns the log-likelihood.
func oneCoinEStep(c *Claims, acc, prior, post []float64, workers int) float64 {
	k := c.K()
	n := len(c.Objects)
	lr := make([]float64, len(acc))   // log a
	lw := make([]float64, len(acc))   // log (1−a)/(k−1)
	lp := make([]float64, len(prior)) // log π
	for s, a := range acc {
		a = clampProb(a)
		lr[s], lw[s] = math.Log(a), math.Log((1-a)/float64(k-1))
	}
	for y, p := range prior {
		lp[y] = math.Log(max(p, 1e-300))
	}
	parts := make([]float64, numChunks(n, workers))
	parallelObjects(n, workers, func(t, lo, hi int) {
		var ll float64
		for o := lo; o < hi; o++ {
			row := post[o*k : (o+1)*k]
			var wrong float64
			for j := c.Ptr[o]; j < c.Ptr[o+1]; j++ {
				wrong += lw[c.Src[j]]
			}
			for y := range row {
				row[y] = lp[y] + wrong
			}
			for j := c.Ptr[o]; j < c.Ptr[o+1]; j++ {
				s := c.Src[j]
				row[c.Val[j]] += lr[s] - lw[s]
			}
			ll += logprob.Normalize(row)
		}
		parts[t] = ll
	})
	var ll float64
	for _, v := range parts {
		ll += v
	}
	return ll
}

func clampKnownPost(post []float64, known []int32, k int) {
	for o, y := range known {
		if y < 0 {
			continue
		}
		row := post[o*k : (o+1)*k]
		clear(row)
		row[y] = 1
	}
}

// oneCoinDelta is the contribution of claim j to object o's log-score
// under one-coin accuracies.
func oneCoinDelta(c *Claims, acc []float64) func(o int, j int64, dst []float64) {
	k := c.K()
	return func(o int, j int64, dst []float64) {
		a := clampProb(acc[c.Src[j]])
		w := math.Log((1 - a) / float64(k-1))
		for y := range dst {
			dst[y] = w
		}
		dst[c.Val[j]] = math.Log(a)
	}
}
