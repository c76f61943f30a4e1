package fuse

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/dawn-ml/dawn/labelmodel"

	"github.com/dawn-ml/dawn/internal/logprob"
)

// fitMajority is the (weighted) vote: weight[s] per source, 1 when nil.
// Post holds the vote shares.
func fitMajority(c *Claims, weight []float64) *Result {
	k := c.K()
	n := len(c.Objects)
	score := make([]float64, n*k)
	post := make([]float64, n*k)
	for o := 0; o < n; o++ {
		row := score[o*k : (o+1)*k]
		var tot float64
		for j := c.Ptr[o]; j < c.Ptr[o+1]; j++ {
			w := 1.0
			if weight != nil {
				w = weight[c.Src[j]]
			}
			row[c.Val[j]] += w
			tot += w
		}
		p := post[o*k : (o+1)*k]
		if tot <= 0 {
			for y := range p {
				p[y] = 1 / float64(k)
			}
			continue
		}
		for y, v := range row {
			p[y] = v / tot
		}
	}
	r := &Result{Post: post, score: score}
	r.delta = func(o int, j int64, dst []float64) {
		clear(dst)
		w := 1.0
		if weight != nil {
			w = weight[c.Src[j]]
		}
		dst[c.Val[j]] = w
	}
	r.finishCategoricalScores(c)
	r.Accuracy = agreement(c, r.Value)
	r.Prior = priorFrom(post, k)
	r.table = shareTable(c, weight)
	return r
}

// finishCategoricalScores sets Value from score (used before Fit's own
// finish, by methods that need the fused values themselves).
func (r *Result) finishCategoricalScores(c *Claims) {
	k := c.K()
	r.Value = make([]int32, len(c.Objects))
	for o := range r.Value {
		r.Value[o] = int32(argmax(r.score[o*k : (o+1)*k]))
	}
}

// agreement is each source's share of claims equal to value.
func agreement(c *Claims, value []int32) []float64 {
	hit := make([]float64, len(c.Sources))
	cnt := make([]float64, len(c.Sources))
	for o := range c.Objects {
		for j := c.Ptr[o]; j < c.Ptr[o+1]; j++ {
			s := c.Src[j]
			cnt[s]++
			if c.Val[j] == value[o] {
				hit[s]++
			}
		}
	}
	for s := range hit {
		if cnt[s] > 0 {
			hit[s] /= cnt[s]
		}
	}
	return hit
}

// fitWawa weighs each source by its agreement with the majority vote.
func fitWawa(c *Claims) *Result {
	mv := fitMajority(c, nil)
	skill := agreement(c, mv.Value)
	return fitMajority(c, skill)
}

// fitOneCoin is one-coin Dawid–Skene by EM from the majority vote.
func fitOneCoin(ctx context.Context, c *Claims, opt Options) (*Result, error) {
	k := c.K()
	mv := fitMajority(c, nil)
	post := mv.Post
	clampKnownPost(post, opt.Known, k)
	counts := c.SourceCounts()
	acc := make([]float64, len(c.Sources))
	var prior []float64
	prev := math.Inf(-1)
	it := 0
	for it = 1; it <= opt.MaxIter; it++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("fuse: one-coin: %w", err)
		}
		q := correctness(c, post, opt.Workers)
		for s := range acc {
			acc[s] = clampProb(q[s] / float64(max(counts[s], 1)))
		}
		prior = priorFrom(post, k)
		ll := oneCoinEStep(c, acc, prior, post, opt.Workers) / float64(c.N())
		clampKnownPost(post, opt.Known, k)
		if math.Abs(ll-prev) < opt.Tol {
			break
		}
		prev = ll
	}
	r := &Result{Post: post, score: logScores(post), Accuracy: acc, Prior: prior, Iters: min(it, opt.MaxIter)}
	r.delta = oneCoinDelta(c, acc)
	r.table = oneCoinTable(c, acc, prior)
	return r, nil
}

// patterns views c's claims as the item table labelmodel's EM runs over:
// one item per object, codes source·K + value.
func patterns(c *Claims) *labelmodel.Patterns {
	k := int32(c.K())
	code := make([]int32, len(c.Src))
	for j, s := range c.Src {
		code[j] = s*k + c.Val[j]
	}
	cnt := make([]int64, len(c.Objects))
	for i := range cnt {
		cnt[i] = 1
	}
	return &labelmodel.Patterns{Ptr: c.Ptr, Code: code, Count: cnt}
}

// fitDS is Dawid–Skene with full confusion matrices, missing answers not
// observed: labelmodel's EM.
func fitDS(ctx context.Context, c *Claims, opt Options) (*Result, error) {
	k := c.K()
	tab := patterns(c)
	p, post, err := labelmodel.DawidSkeneEM(ctx, tab, len(c.Sources), k, labelmodel.DSOptions{
		MaxIter: opt.MaxIter, Tol: opt.Tol, Known: opt.Known, Workers: opt.Workers})
	if err != nil {
		return nil, fmt.Errorf("fuse: %w", err)
	}
	r := &Result{Post: post, score: logScores(post), Accuracy: p.Accuracies(), Prior: p.Prior, Iters: p.Iters}
	r.delta = func(o int, j int64, dst []float64) {
		copy(dst, p.LogDelta(tab.Code[j]))
	}
	r.table = dsTable(c, p)
	return r, nil
}

// fitGLAD is Whitehill et al.'s GLAD by EM.
func fitGLAD(ctx context.Context, c *Claims, opt Options) (*Result, error) {
	k := c.K()
	n := len(c.Objects)
	m := len(c.Sources)
	km1 := float64(k - 1)
	post := fitMajority(c, nil).Post
	alpha := make([]float64, m)
	for s := range alpha {
		alpha[s] = 1
	}
	b := make([]float64, n) // log β
	var prior []float64
	prev := math.Inf(-1)
	it := 0
	gs := make([]float64, m)
	hs := make([]float64, m)
	for it = 1; it <= opt.MaxIter; it++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("fuse: glad: %w", err)
		}
		prior = priorFrom(post, k)
		// M-step: Newton steps on α (per source) and b (per object).
		for range 2 {
			clear(gs)
			clear(hs)
			for o := 0; o < n; o++ {
				beta := math.Exp(b[o])
				for j := c.Ptr[o]; j < c.Ptr[o+1]; j++ {
					s := c.Src[j]
					q := post[o*k+int(c.Val[j])]
					sg := sigmoid(alpha[s] * beta)
					gs[s] += (q - sg) * beta
					hs[s] -= sg * (1 - sg) * beta * beta
				}
			}
			for s := range alpha {
				g := gs[s] - (alpha[s] - 1)
				h := hs[s] - 1
				alpha[s] -= g / h
			}
			for o := 0; o < n; o++ {
				beta := math.Exp(b[o])
				g, h := -b[o], -1.0
				for j := c.Ptr[o]; j < c.Ptr[o+1]; j++ {
					s := c.Src[j]
					q := post[o*k+int(c.Val[j])]
					x := alpha[s] * beta
					sg := sigmoid(x)
					g += (q - sg) * x
					h += (q-sg)*x - sg*(1-sg)*x*x
				}
				if h < 0 {
					b[o] -= g / h
				} else {
					b[o] += 0.1 * g
				}
				b[o] = min(max(b[o], -6), 6)
			}
		}
		// E-step.
		var ll float64
		lp := make([]float64, k)
		for y := range lp {
			lp[y] = math.Log(max(prior[y], 1e-300))
		}
		for o := 0; o < n; o++ {
			beta := math.Exp(b[o])
			row := post[o*k : (o+1)*k]
			copy(row, lp)
			for j := c.Ptr[o]; j < c.Ptr[o+1]; j++ {
				x := alpha[c.Src[j]] * beta
				lr := logSigmoid(x)
				lw := logSigmoid(-x) - math.Log(km1)
				for y := range row {
					row[y] += lw
				}
				row[c.Val[j]] += lr - lw
			}
			ll += logprob.Normalize(row)
		}
		ll /= float64(c.N())
		if math.Abs(ll-prev) < opt.Tol {
			break
		}
		prev = ll
	}
	// A source's accuracy is the expected share of its claims that are
	// right under the posterior (its α alone is confounded with the
	// objects' ease).
	q := correctness(c, post, opt.Workers)
	counts := c.SourceCounts()
	acc := make([]float64, m)
	for s := range acc {
		acc[s] = q[s] / float64(max(counts[s], 1))
	}
	r := &Result{Post: post, score: logScores(post), Accuracy: acc, Prior: prior, Iters: min(it, opt.MaxIter)}
	r.delta = func(o int, j int64, dst []float64) {
		x := alpha[c.Src[j]] * math.Exp(b[o])
		lw := logSigmoid(-x) - math.Log(km1)
		for y := range dst {
			dst[y] = lw
		}
		dst[c.Val[j]] = logSigmoid(x)
	}
	// New objects are scored at the mean ease, β = 1.
	typical := make([]float64, m)
	for s := range typical {
		typical[s] = sigmoid(alpha[s])
	}
	r.table = oneCoinTable(c, typical, prior)
	return r, nil
}

func logSigmoid(x float64) float64 {
	if x >= 0 {
		return -math.Log1p(math.Exp(-x))
	}
	return x - math.Log1p(math.Exp(x))
}

// maceSmooth is the pseudo-count on MACE's θ and ξ.
const maceSmooth = 0.5

// fitMACE is Hovy et al.'s MACE by EM, from the majority vote.
func fitMACE(ctx context.Context, c *Claims, opt Options) (*Result, error) {
	k := c.K()
	n := len(c.Objects)
	m := len(c.Sources)
	post := fitMajority(c, nil).Post
	theta := make([]float64, m)
	xi := make([]float64, m*k)
	know := make([]float64, m)
	spam := make([]float64, m*k)
	counts := c.SourceCounts()
	prev := math.Inf(-1)
	it := 0
	for it = 1; it <= opt.MaxIter; it++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("fuse: mace: %w", err)
		}
		// M-step. On the first pass θ and ξ are unknown: treat every claim
		// that matches the posterior as known, the rest as spam.
		clear(know)
		clear(spam)
		for o := 0; o < n; o++ {
			for j := c.Ptr[o]; j < c.Ptr[o+1]; j++ {
				s, a := c.Src[j], int(c.Val[j])
				r := post[o*k+a]
				kn := r
				if it > 1 {
					th := theta[s]
					kn = r * th / (th + (1-th)*xi[int(s)*k+a])
				}
				know[s] += kn
				spam[int(s)*k+a] += 1 - kn
			}
		}
		for s := 0; s < m; s++ {
			theta[s] = (know[s] + maceSmooth) / (float64(counts[s]) + 2*maceSmooth)
			var tot float64
			for a := 0; a < k; a++ {
				tot += spam[s*k+a] + maceSmooth
			}
			for a := 0; a < k; a++ {
				xi[s*k+a] = (spam[s*k+a] + maceSmooth) / tot
			}
		}
		// E-step, with the class prior learned as Dawid–Skene learns it
		// (Hovy et al. fix it uniform; with skewed classes and few answers
		// per object that costs several points of accuracy).
		lp := logs(priorFrom(post, k))
		var ll float64
		for o := 0; o < n; o++ {
			row := post[o*k : (o+1)*k]
			copy(row, lp)
			for j := c.Ptr[o]; j < c.Ptr[o+1]; j++ {
				s, a := int(c.Src[j]), int(c.Val[j])
				th := theta[s]
				spamP := math.Log((1 - th) * xi[s*k+a])
				for y := range row {
					row[y] += spamP
				}
				row[a] += math.Log(th+(1-th)*xi[s*k+a]) - spamP
			}
			ll += logprob.Normalize(row)
		}
		ll /= float64(c.N())
		if math.Abs(ll-prev) < opt.Tol {
			break
		}
		prev = ll
	}
	prior := priorFrom(post, k)
	acc := make([]float64, m)
	for s := range acc {
		var chance float64
		for a := 0; a < k; a++ {
			chance += xi[s*k+a] * prior[a]
		}
		acc[s] = theta[s] + (1-theta[s])*chance
	}
	r := &Result{Post: post, score: logScores(post), Accuracy: acc, Prior: prior, Iters: min(it, opt.MaxIter)}
	logTab := maceLogTable(theta, xi, k)
	r.delta = func(o int, j int64, dst []float64) {
		s, a := int(c.Src[j]), int(c.Val[j])
		copy(dst, logTab[(s*k+a)*k:(s*k+a+1)*k])
	}
	r.table = &Table{Mode: modeLogLinear, K: k, Sources: c.Sources, Values: c.Values,
		Base: logs(prior), W: logTab}
	r.table.setDefault()
	return r, nil
}

// maceLogTable is log P(answer a | truth y) for every source, (s·K+a)·K+y.
func maceLogTable(theta, xi []float64, k int) []float64 {
	m := len(theta)
	w := make([]float64, m*k*k)
	for s := 0; s < m; s++ {
		for a := 0; a < k; a++ {
			sp := (1 - theta[s]) * xi[s*k+a]
			for y := 0; y < k; y++ {
				p := sp
				if y == a {
					p += theta[s]
				}
				w[(s*k+a)*k+y] = math.Log(max(p, 1e-300))
			}
		}
	}
	return w
}

// fitKOS is Karger, Oh and Shah's iterative algorithm for binary claims.
func fitKOS(ctx context.Context, c *Claims, opt Options) (*Result, error) {
	k := c.K()
	if k != 2 {
		return nil, fmt.Errorf("fuse: kos works on binary claims (2 values); these claims have %d values; use ds, glad or mace", k)
	}
	n := len(c.Objects)
	nc := c.N()
	iters := opt.MaxIter
	if iters == 100 {
		iters = 20
	}
	// Edges are the claims; A = +1 for value 1, −1 for value 0.
	A := make([]float64, nc)
	for j, v := range c.Val {
		A[j] = float64(2*v - 1)
	}
	// Claims grouped by source, for the source-side update.
	bySrc, srcPtr := groupBySource(c)
	rng := rand.New(rand.NewPCG(opt.Seed, 0x9e3779b97f4a7c15))
	y := make([]float64, nc) // source → object messages
	for j := range y {
		y[j] = 1 + rng.NormFloat64()
	}
	x := make([]float64, nc) // object → source messages
	for it := 0; it < iters; it++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("fuse: kos: %w", err)
		}
		for o := 0; o < n; o++ {
			var sum float64
			for j := c.Ptr[o]; j < c.Ptr[o+1]; j++ {
				sum += A[j] * y[j]
			}
			for j := c.Ptr[o]; j < c.Ptr[o+1]; j++ {
				x[j] = sum - A[j]*y[j]
			}
		}
		for s := 0; s+1 < len(srcPtr); s++ {
			var sum float64
			for _, j := range bySrc[srcPtr[s]:srcPtr[s+1]] {
				sum += A[j] * x[j]
			}
			for _, j := range bySrc[srcPtr[s]:srcPtr[s+1]] {
				y[j] = sum - A[j]*x[j]
			}
		}
		normalize(y)
	}
	score := make([]float64, n)
	for o := 0; o < n; o++ {
		for j := c.Ptr[o]; j < c.Ptr[o+1]; j++ {
			score[o] += A[j] * y[j]
		}
	}
	var ss float64
	for _, v := range score {
		ss += v * v
	}
	sd := math.Sqrt(ss / float64(max(n, 1)))
	if sd == 0 {
		sd = 1
	}
	post := make([]float64, 2*n)
	sc := make([]float64, 2*n)
	for o, v := range score {
		p1 := sigmoid(v / sd)
		post[2*o], post[2*o+1] = 1-p1, p1
		sc[2*o], sc[2*o+1] = -v/2, v/2
	}
	r := &Result{Post: post, score: sc, Prior: priorFrom(post, 2), Iters: iters}
	r.delta = func(o int, j int64, dst []float64) {
		d := A[j] * y[j]
		dst[0], dst[1] = -d/2, d/2
	}
	r.finishCategoricalScores(c)
	r.Accuracy = agreement(c, r.Value)
	return r, nil
}

// groupBySource returns claim indices grouped by source (CSR).
func groupBySource(c *Claims) ([]int64, []int64) {
	m := len(c.Sources)
	ptr := make([]int64, m+1)
	for _, s := range c.Src {
		ptr[s+1]++
	}
	for s := 0; s < m; s++ {
		ptr[s+1] += ptr[s]
	}
	next := make([]int64, m)
	copy(next, ptr[:m])
	idx := make([]int64, len(c.Src))
	for j, s := range c.Src {
		idx[next[s]] = int64(j)
		next[s]++
	}
	return idx, ptr
}

func normalize(v []float64) {
	var ss float64
	for _, x := range v {
		ss += x * x
	}
	if ss == 0 {
		return
	}
	f := math.Sqrt(float64(len(v)) / ss)
	for i := range v {
		v[i] *= f
	}
}
