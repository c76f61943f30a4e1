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
		ll := gladEStep(c, alpha, b, prior, post)
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

// gladEStep sets post to GLAD's posterior over each object's value, given
// the sources' abilities α and the objects' log-inverse-difficulties b:
// a claim is right with probability σ(α·e^b), else uniform over the K−1
// wrong values. It returns the mean log-likelihood per claim.
func gladEStep(c *Claims, alpha, b, prior, post []float64) float64 {
	k := c.K()
	km1 := float64(k - 1)
	var ll float64
	lp := make([]float64, k)
	for y := range lp {
		lp[y] = math.Log(max(prior[y], 1e-300))
	}
	for o := range c.Objects {
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
	return ll / float64(max(c.N(), 1))
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
	if err := kosMessages(ctx, c, A, y, bySrc, srcPtr, iters); err != nil {
		return nil, err
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

// kosMessages runs iters rounds of Karger, Oh and Shah's message passing on
// the claim graph in place of y (source → object messages; A the claims as
// ±1): x_{o→s} = Σ_{s'≠s} A_{os'} y_{s'→o}, then y_{s→o} = Σ_{o'≠o} A_{o's}
// x_{o'→s}, y rescaled to unit root-mean-square each round.
func kosMessages(ctx context.Context, c *Claims, A, y []float64, bySrc, srcPtr []int64, iters int) error {
	x := make([]float64, len(y))
	for it := 0; it < iters; it++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("fuse: kos: %w", err)
		}
		for o := range c.Objects {
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
	return nil
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

// majorityAccuracy estimates each source's accuracy for majority vote,
// which has no source model of its own. Agreement with the fused value is
// biased twice: a source's own claim is part of the vote it is compared
// with, and the vote is itself sometimes wrong. Here a claim is compared
// with the vote of the OTHER sources on its object (ties give fractional
// credit), and that agreement is debiased under the symmetric one-coin
// assumption: with q the chance that the other sources' vote is right,
//
//	P(agree) = a·q + (1−a)·(1−q)/(K−1)  ⇒  a = (agree − e) / (q − e),  e = (1−q)/(K−1).
//
// q comes from the pooled pairwise agreement r of all sources, which fixes
// the mean accuracy p̄ by r = p̄² + (1−p̄)²/(K−1), and from the number m of
// other claims on each object: q(m) is the expected credit the true value
// gets in a plurality of m claims each right with probability p̄ and
// otherwise uniform over the K−1 wrong values. A source whose claims have
// no other claim beside them keeps plain, its agreement with the vote.
func majorityAccuracy(c *Claims, plain []float64) []float64 {
	k := c.K()
	pbar := pairwiseMeanAccuracy(c)
	qm := map[int]float64{}
	q := func(m int) float64 {
		m = min(m, maxVoteSize)
		v, ok := qm[m]
		if !ok {
			v = pluralityCredit(m, k, pbar)
			qm[m] = v
		}
		return v
	}
	agree := make([]float64, len(c.Sources))
	qsum := make([]float64, len(c.Sources))
	cnt := make([]float64, len(c.Sources))
	counts := make([]int, k)
	for o := range c.Objects {
		lo, hi := c.Ptr[o], c.Ptr[o+1]
		if hi-lo < 2 {
			continue
		}
		clear(counts)
		for j := lo; j < hi; j++ {
			counts[c.Val[j]]++
		}
		m := int(hi-lo) - 1
		for j := lo; j < hi; j++ {
			own := c.Val[j]
			counts[own]--
			best, ties := 0, 0
			for _, n := range counts {
				switch {
				case n > best:
					best, ties = n, 1
				case n == best:
					ties++
				}
			}
			if counts[own] == best {
				agree[c.Src[j]] += 1 / float64(ties)
			}
			counts[own]++
			qsum[c.Src[j]] += q(m)
			cnt[c.Src[j]]++
		}
	}
	acc := make([]float64, len(c.Sources))
	for s := range acc {
		if cnt[s] == 0 {
			acc[s] = plain[s]
			continue
		}
		qs := qsum[s] / cnt[s]
		e := (1 - qs) / float64(k-1)
		if qs-e < 1e-6 {
			acc[s] = plain[s]
			continue
		}
		acc[s] = min(max((agree[s]/cnt[s]-e)/(qs-e), 0), 1)
	}
	return acc
}

// maxVoteSize bounds the vote sizes pluralityCredit is computed for; larger
// votes are treated as this size (their credit is within 1e-6 of it for
// any p̄ that pairwise agreement can tell from chance).
const maxVoteSize = 200

// pairwiseMeanAccuracy is p̄ solving r = p̄² + (1−p̄)²/(K−1) for the pooled
// share r of agreeing claim pairs on the same object; 1/K when r is at or
// below chance.
func pairwiseMeanAccuracy(c *Claims) float64 {
	k := float64(c.K())
	counts := make([]float64, c.K())
	var agree, pairs float64
	for o := range c.Objects {
		lo, hi := c.Ptr[o], c.Ptr[o+1]
		n := float64(hi - lo)
		if n < 2 {
			continue
		}
		clear(counts)
		for j := lo; j < hi; j++ {
			counts[c.Val[j]]++
		}
		for _, v := range counts {
			agree += v * (v - 1) / 2
		}
		pairs += n * (n - 1) / 2
	}
	if pairs == 0 {
		return 1 / k
	}
	r := agree / pairs
	d := 1 - k + k*(k-1)*r
	if d <= 0 {
		return 1 / k
	}
	return min((1+math.Sqrt(d))/k, 1)
}

// pluralityCredit is the expected credit of the true value in a plurality
// vote of m claims, each right with probability p and otherwise uniform over
// the k−1 wrong values, a t-way tie for first giving each tied value 1/t.
// It sums over c, the number of right claims: the m−c wrong claims fall
// multinomially into k−1 values, and a dynamic programme over those values
// counts, by claims used and by the number of values reaching c, the ways
// none exceeds c.
func pluralityCredit(m, k int, p float64) float64 {
	if m == 0 {
		return 1 / float64(k)
	}
	w := k - 1
	// logFact for multinomial coefficients.
	lf := make([]float64, m+1)
	for i := 2; i <= m; i++ {
		lf[i] = lf[i-1] + math.Log(float64(i))
	}
	var total float64
	for c := 0; c <= m; c++ {
		rest := m - c
		// log P(c right) = log C(m,c) + c log p + rest log(1−p).
		lpc := lf[m] - lf[c] - lf[rest]
		if c > 0 {
			lpc += float64(c) * math.Log(p)
		}
		if rest > 0 {
			if p >= 1 {
				continue
			}
			lpc += float64(rest) * math.Log(1-p)
		}
		pc := math.Exp(lpc)
		if pc < 1e-300 {
			continue
		}
		// f[u][t]: Σ over assignments of u wrong claims to the values so
		// far, each ≤ c, t of them equal to c, of Π 1/n_i! (the multinomial
		// weight up to rest!/w^rest).
		f := make([][]float64, rest+1)
		for u := range f {
			f[u] = make([]float64, w+1)
		}
		f[0][0] = 1
		for range w {
			g := make([][]float64, rest+1)
			for u := range g {
				g[u] = make([]float64, w+1)
			}
			for u := 0; u <= rest; u++ {
				for t := 0; t <= w; t++ {
					if f[u][t] == 0 {
						continue
					}
					for n := 0; n <= c && u+n <= rest; n++ {
						tt := t
						if n == c {
							tt++
						}
						if tt > w {
							continue
						}
						g[u+n][tt] += f[u][t] * math.Exp(-lf[n])
					}
				}
			}
			f = g
		}
		scale := math.Exp(lf[rest] - float64(rest)*math.Log(float64(w)))
		var credit float64
		for t := 0; t <= w; t++ {
			credit += f[rest][t] * scale / float64(t+1)
		}
		total += pc * credit
	}
	return total
}
