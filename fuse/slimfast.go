package fuse

import (
	"context"
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Features are per-source features: X is sources × D row-major, aligned
// with Claims.Sources, already encoded as numbers (see EncodeFeatures).
type Features struct {
	Names []string
	X     []float64
	D     int
}

// slimModel is SLiMFast's accuracy model: logit a_s = w·f_s + b + u_s.
type slimModel struct {
	w []float64
	b float64
	u []float64
}

func (sm *slimModel) logit(f *Features, s int) float64 {
	z := sm.b + sm.u[s]
	if f != nil {
		row := f.X[s*f.D : (s+1)*f.D]
		for i, v := range row {
			z += sm.w[i] * v
		}
	}
	return z
}

// fitLogistic fits the accuracy model to per-source counts: n[s] claims
// of which q[s] (expected) are right. It minimises
// Σ_s n_s·softplus(z_s) − q_s·z_s + (l2/2)‖w‖² + (sl2/2)Σu_s² by
// alternating a Newton step on (w, b) and per-source Newton steps on u.
func fitLogistic(f *Features, n, q []float64, l2, sl2 float64, sm *slimModel) error {
	m := len(n)
	d := 0
	if f != nil {
		d = f.D
	}
	p := d + 1
	grad := make([]float64, p)
	hess := mat.NewSymDense(p, nil)
	step := mat.NewVecDense(p, nil)
	for round := 0; round < 8; round++ {
		// Newton on (w, b), u fixed.
		clear(grad)
		for i := 0; i < p; i++ {
			for j := i; j < p; j++ {
				hess.SetSym(i, j, 0)
			}
		}
		hd := make([]float64, p*p)
		for s := 0; s < m; s++ {
			if n[s] == 0 {
				continue
			}
			sg := sigmoid(sm.logit(f, s))
			g := n[s]*sg - q[s]
			h := n[s] * sg * (1 - sg)
			grad[d] += g
			hd[d*p+d] += h
			if f != nil {
				row := f.X[s*d : (s+1)*d]
				for i, xi := range row {
					if xi == 0 {
						continue
					}
					grad[i] += g * xi
					hd[i*p+d] += h * xi
					for j := i; j < d; j++ {
						if row[j] != 0 {
							hd[i*p+j] += h * xi * row[j]
						}
					}
				}
			}
		}
		for i := 0; i < d; i++ {
			grad[i] += l2 * sm.w[i]
			hd[i*p+i] += l2
		}
		hd[d*p+d] += 1e-6
		for i := 0; i < p; i++ {
			for j := i; j < p; j++ {
				hess.SetSym(i, j, hd[i*p+j])
			}
		}
		var ch mat.Cholesky
		if !ch.Factorize(hess) {
			return errors.New("fuse: slimfast: the feature Hessian is not positive definite (constant or duplicate features?)")
		}
		if err := ch.SolveVecTo(step, mat.NewVecDense(p, grad)); err != nil {
			return fmt.Errorf("fuse: slimfast: %w", err)
		}
		var move float64
		for i := 0; i < d; i++ {
			sm.w[i] -= step.AtVec(i)
			move = max(move, math.Abs(step.AtVec(i)))
		}
		sm.b -= step.AtVec(d)
		move = max(move, math.Abs(step.AtVec(d)))
		// Newton on each u_s, (w, b) fixed.
		for s := 0; s < m; s++ {
			for range 2 {
				sg := sigmoid(sm.logit(f, s))
				g := n[s]*sg - q[s] + sl2*sm.u[s]
				h := n[s]*sg*(1-sg) + sl2
				sm.u[s] -= g / h
			}
		}
		if move < 1e-8 {
			break
		}
	}
	return nil
}

// fitSLiMFast learns source accuracies from features, by EM or by ERM.
func fitSLiMFast(ctx context.Context, c *Claims, opt Options) (*Result, error) {
	k := c.K()
	m := len(c.Sources)
	f := opt.Features
	if f != nil && len(f.X) != m*f.D {
		return nil, fmt.Errorf("fuse: slimfast: features have %d values, want %d sources × %d", len(f.X), m, f.D)
	}
	d := 0
	if f != nil {
		d = f.D
	}
	sm := &slimModel{w: make([]float64, d), u: make([]float64, m)}
	// Ground truth: the claims on objects with known truth.
	nTrue := make([]float64, m)
	qTrue := make([]float64, m)
	var labelled, labelledClaims, right int
	for o, y := range opt.Known {
		if y < 0 {
			continue
		}
		labelled++
		for j := c.Ptr[o]; j < c.Ptr[o+1]; j++ {
			s := c.Src[j]
			nTrue[s]++
			labelledClaims++
			if c.Val[j] == y {
				qTrue[s]++
				right++
			}
		}
	}
	useERM, reason := chooseERM(c, labelled, labelledClaims, right, d, opt)
	acc := make([]float64, m)
	accuracies := func() {
		for s := range acc {
			acc[s] = clampProb(sigmoid(sm.logit(f, s)))
		}
	}
	post := make([]float64, len(c.Objects)*k)
	var prior []float64
	iters := 0
	if useERM {
		if err := fitLogistic(f, nTrue, qTrue, opt.L2, opt.SourceL2, sm); err != nil {
			return nil, err
		}
		accuracies()
		prior = knownPrior(opt.Known, k)
		oneCoinEStep(c, acc, prior, post, opt.Workers)
		clampKnownPost(post, opt.Known, k)
		iters = 1
	} else {
		copy(post, fitMajority(c, nil).Post)
		clampKnownPost(post, opt.Known, k)
		counts := c.SourceCounts()
		n := make([]float64, m)
		for s, v := range counts {
			n[s] = float64(v)
		}
		prev := math.Inf(-1)
		for iters = 1; iters <= opt.MaxIter; iters++ {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("fuse: slimfast: %w", err)
			}
			q := correctness(c, post, opt.Workers)
			if err := fitLogistic(f, n, q, opt.L2, opt.SourceL2, sm); err != nil {
				return nil, err
			}
			accuracies()
			prior = priorFrom(post, k)
			ll := oneCoinEStep(c, acc, prior, post, opt.Workers) / float64(c.N())
			clampKnownPost(post, opt.Known, k)
			if math.Abs(ll-prev) < opt.Tol {
				break
			}
			prev = ll
		}
		iters = min(iters, opt.MaxIter)
	}
	r := &Result{Post: post, score: logScores(post), Accuracy: acc, Prior: prior, Iters: iters, Reason: reason}
	r.delta = oneCoinDelta(c, acc)
	r.table = oneCoinTable(c, acc, prior)
	return r, nil
}

func knownPrior(known []int32, k int) []float64 {
	pr := make([]float64, k)
	var n float64
	for _, y := range known {
		if y >= 0 {
			pr[y]++
			n++
		}
	}
	for y := range pr {
		pr[y] = (pr[y] + 1) / (n + float64(k))
	}
	return pr
}

// chooseERM is SLiMFast's optimizer. ERM fits the accuracy model's d+1
// shared parameters from labelled claims alone, so it needs enough of
// them: at least 20·(d+1). EM uses every claim but relies on sources
// agreeing more often than chance; when the labelled claims show the
// sources barely better than chance ((2ā−1)² · (claims per object − 1) < 1,
// with ā their accuracy on labelled objects) EM's estimate is unreliable
// and ERM is used whenever there is any ground truth.
func chooseERM(c *Claims, labelled, labelledClaims, right, d int, opt Options) (bool, string) {
	switch {
	case opt.ForceERM:
		if labelled == 0 {
			return false, "ERM asked for, but no object has a known truth: EM"
		}
		return true, "ERM (asked for)"
	case opt.ForceEM:
		return false, "EM (asked for)"
	case labelled == 0:
		return false, "EM: no ground truth"
	}
	abar := float64(right) / float64(labelledClaims)
	density := float64(c.N()) / float64(len(c.Objects))
	signal := (2*abar - 1) * (2*abar - 1) * (density - 1)
	need := 20 * (d + 1)
	switch {
	case signal < 1:
		return true, fmt.Sprintf("ERM: sources agree too little for EM ((2·%.3f−1)²·(%.2f−1) = %.2f < 1)", abar, density, signal)
	case labelledClaims >= need:
		return true, fmt.Sprintf("ERM: %d labelled claims ≥ 20·(%d features + 1)", labelledClaims, d)
	default:
		return false, fmt.Sprintf("EM with %d known objects clamped: %d labelled claims < 20·(%d features + 1) needed for ERM", labelled, labelledClaims, d)
	}
}
