package recommend

import (
	"errors"
	"math"
	"math/rand/v2"
)

// newRNG is the one seeded generator every model draws from.
func newRNG(seed uint64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, stream))
}

func randomFactors(rng *rand.Rand, n, f int, scale float64) []float64 {
	out := make([]float64, n*f)
	for i := range out {
		out[i] = rng.NormFloat64() * scale
	}
	return out
}

// gram returns YᵀY (f × f) of the n × f row-major matrix Y, computed in
// parallel over row blocks and summed in block order (deterministic).
func gram(y []float64, n, f int) []float64 {
	const block = 512
	nb := (n + block - 1) / block
	parts := make([][]float64, nb)
	Parallel(nb, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			g := make([]float64, f*f)
			for r := b * block; r < min((b+1)*block, n); r++ {
				row := y[r*f : (r+1)*f]
				for a := 0; a < f; a++ {
					va := row[a]
					if va == 0 {
						continue
					}
					ga := g[a*f : (a+1)*f]
					for c := a; c < f; c++ {
						ga[c] += va * row[c]
					}
				}
			}
			parts[b] = g
		}
	})
	g := make([]float64, f*f)
	for _, p := range parts {
		for i, v := range p {
			g[i] += v
		}
	}
	for a := 0; a < f; a++ {
		for c := a + 1; c < f; c++ {
			g[c*f+a] = g[a*f+c]
		}
	}
	return g
}

// cholSolve solves A x = b for a symmetric positive definite n × n A
// (row-major, overwritten by its Cholesky factor); x overwrites b.
func cholSolve(a, b []float64, n int) error {
	for j := 0; j < n; j++ {
		s := a[j*n+j]
		for k := 0; k < j; k++ {
			s -= a[j*n+k] * a[j*n+k]
		}
		if s <= 0 {
			return errors.New("matrix is not positive definite")
		}
		d := math.Sqrt(s)
		a[j*n+j] = d
		for i := j + 1; i < n; i++ {
			t := a[i*n+j]
			for k := 0; k < j; k++ {
				t -= a[i*n+k] * a[j*n+k]
			}
			a[i*n+j] = t / d
		}
	}
	for i := 0; i < n; i++ { // L y = b
		t := b[i]
		for k := 0; k < i; k++ {
			t -= a[i*n+k] * b[k]
		}
		b[i] = t / a[i*n+i]
	}
	for i := n - 1; i >= 0; i-- { // Lᵀ x = y
		t := b[i]
		for k := i + 1; k < n; k++ {
			t -= a[k*n+i] * b[k]
		}
		b[i] = t / a[i*n+i]
	}
	return nil
}

// implicitCG runs steps of conjugate gradient on Hu–Koren–Volinsky's
// normal equations for one row x (warm-started from its current value):
// (YᵀY + Σᵢ (cᵢ − 1) yᵢyᵢᵀ + reg·I) x = Σᵢ cᵢ yᵢ with cᵢ = 1 + alpha·vᵢ,
// the sums over the row's items. yty already includes reg·I. r, p, ap are
// scratch vectors of length f.
func implicitCG(x []float64, yty []float64, y []float64, f int, items []int32, vals []float64, alpha float64, steps int, r, p, ap []float64) {
	// r = b − A x
	for a := 0; a < f; a++ {
		r[a] = -Dot(yty[a*f:(a+1)*f], x)
	}
	for k, i := range items {
		yi := y[int(i)*f : int(i+1)*f]
		c := 1 + alpha*vals[k]
		w := c - (c-1)*Dot(yi, x)
		for a := range r {
			r[a] += w * yi[a]
		}
	}
	copy(p, r)
	rs := Dot(r, r)
	for s := 0; s < steps && rs > 1e-20; s++ {
		for a := 0; a < f; a++ {
			ap[a] = Dot(yty[a*f:(a+1)*f], p)
		}
		for k, i := range items {
			yi := y[int(i)*f : int(i+1)*f]
			w := alpha * vals[k] * Dot(yi, p)
			for a := range ap {
				ap[a] += w * yi[a]
			}
		}
		pap := Dot(p, ap)
		if pap <= 0 {
			return
		}
		step := rs / pap
		for a := range x {
			x[a] += step * p[a]
			r[a] -= step * ap[a]
		}
		rsNew := Dot(r, r)
		beta := rsNew / rs
		for a := range p {
			p[a] = r[a] + beta*p[a]
		}
		rs = rsNew
	}
}

// alsSweep re-solves every row of x (rows × f) against y with implicitCG.
func alsSweep(x []float64, m *CSR, y []float64, yCount, f int, p Params) {
	yty := gram(y, yCount, f)
	for a := 0; a < f; a++ {
		yty[a*f+a] += p.Reg
	}
	Parallel(m.Rows, func(lo, hi int) {
		r, pp, ap := make([]float64, f), make([]float64, f), make([]float64, f)
		for u := lo; u < hi; u++ {
			items, vals := m.Row(u)
			implicitCG(x[u*f:(u+1)*f], yty, y, f, items, vals, p.Alpha, p.CGSteps, r, pp, ap)
		}
	})
}

// fitALS is implicit ALS (Hu, Koren, Volinsky 2008) with conjugate-gradient
// solves (Takács et al.), rows solved in parallel.
func (m *Model) fitALS() error {
	p := m.Params
	f := p.Factors
	rng := newRNG(p.Seed, 1)
	nu, ni := m.Seen.Rows, m.Seen.Cols
	m.F = f
	m.UserF = randomFactors(rng, nu, f, 0.01)
	m.ItemF = randomFactors(rng, ni, f, 0.01)
	itemUsers := m.Seen.Transpose()
	for it := 0; it < p.Iterations; it++ {
		alsSweep(m.UserF, m.Seen, m.ItemF, ni, f, p)
		alsSweep(m.ItemF, itemUsers, m.UserF, nu, f, p)
	}
	return nil
}

// ALSIteration runs one implicit ALS sweep (users then items) on m, for the
// speed benchmark.
func (m *Model) ALSIteration(itemUsers *CSR) {
	p := m.Params
	alsSweep(m.UserF, m.Seen, m.ItemF, m.Seen.Cols, m.F, p)
	alsSweep(m.ItemF, itemUsers, m.UserF, m.Seen.Rows, m.F, p)
}

// FoldIn computes a factor vector for a user from a history (items and
// their values) against the fixed item factors: an exact solve of the
// implicit ALS equations for als and bpr, a ridge regression on the
// ratings (with a user bias) for mf.
func (m *Model) FoldIn(items []int32, vals []float64) []float64 {
	F := m.F
	x := make([]float64, F)
	if len(items) == 0 {
		return x
	}
	p := m.Params
	switch p.Algorithm {
	case "mf":
		// Features [q_i (F−1 dims), 1]; target r − mean − b_i; solution [p_u, b_u].
		a := make([]float64, F*F)
		b := make([]float64, F)
		feat := make([]float64, F)
		for k, i := range items {
			qi := m.ItemF[int(i)*F : int(i+1)*F]
			copy(feat, qi[:F-1])
			feat[F-1] = 1
			t := vals[k] - m.Mean - qi[F-1]
			for r := 0; r < F; r++ {
				b[r] += t * feat[r]
				for c := 0; c < F; c++ {
					a[r*F+c] += feat[r] * feat[c]
				}
			}
		}
		lam := p.Reg * float64(len(items))
		for r := 0; r < F; r++ {
			a[r*F+r] += lam
		}
		if cholSolve(a, b, F) != nil {
			return x
		}
		copy(x, b[:F-1])
		x[F-1] = 1
		return x
	default:
		alpha := p.Alpha
		if p.Algorithm == "bpr" {
			alpha = 1
		}
		reg := p.Reg
		if reg <= 0 {
			reg = 0.01
		}
		m.gramOnce.Do(func() { m.itemGram = gram(m.ItemF, m.NItems(), F) })
		a := append([]float64(nil), m.itemGram...)
		b := make([]float64, F)
		for r := 0; r < F; r++ {
			a[r*F+r] += reg
		}
		for k, i := range items {
			yi := m.ItemF[int(i)*F : int(i+1)*F]
			c := 1 + alpha*vals[k]
			for r := 0; r < F; r++ {
				b[r] += c * yi[r]
				for s := 0; s < F; s++ {
					a[r*F+s] += (c - 1) * yi[r] * yi[s]
				}
			}
		}
		if cholSolve(a, b, F) != nil {
			return x
		}
		return b
	}
}

// fitMF is explicit matrix factorisation with user and item biases:
// rating ≈ mean + b_u + b_i + p_u·q_i, by alternating ridge regressions
// (weighted-λ regularisation: λ·n per row) or by SGD. The ranking factors
// are stored augmented: UserF[u] = [p_u, 1], ItemF[i] = [q_i, b_i].
func (m *Model) fitMF() error {
	p := m.Params
	k := p.Factors
	nu, ni := m.Seen.Rows, m.Seen.Cols
	rng := newRNG(p.Seed, 2)
	var sum float64
	for _, v := range m.Seen.Val {
		sum += v
	}
	m.Mean = sum / float64(len(m.Seen.Val))
	P := randomFactors(rng, nu, k, 0.1)
	Q := randomFactors(rng, ni, k, 0.1)
	bu := make([]float64, nu)
	bi := make([]float64, ni)
	switch p.Solver {
	case "als":
		itemUsers := m.Seen.Transpose()
		for it := 0; it < p.Iterations; it++ {
			ridgeSweep(P, bu, m.Seen, Q, bi, k, m.Mean, p.Reg)
			ridgeSweep(Q, bi, itemUsers, P, bu, k, m.Mean, p.Reg)
		}
	case "sgd":
		order := make([]int, m.Seen.NNZ())
		rows := make([]int32, m.Seen.NNZ())
		for u := 0; u < nu; u++ {
			for q := m.Seen.Ptr[u]; q < m.Seen.Ptr[u+1]; q++ {
				rows[q] = int32(u)
			}
		}
		for i := range order {
			order[i] = i
		}
		lr := p.LR
		for it := 0; it < p.Iterations; it++ {
			rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
			for _, e := range order {
				u, i := int(rows[e]), int(m.Seen.Idx[e])
				pu, qi := P[u*k:(u+1)*k], Q[i*k:(i+1)*k]
				err := m.Seen.Val[e] - (m.Mean + bu[u] + bi[i] + Dot(pu, qi))
				bu[u] += lr * (err - p.Reg*bu[u])
				bi[i] += lr * (err - p.Reg*bi[i])
				for a := 0; a < k; a++ {
					pa, qa := pu[a], qi[a]
					pu[a] += lr * (err*qa - p.Reg*pa)
					qi[a] += lr * (err*pa - p.Reg*qa)
				}
			}
			lr *= 0.95
		}
	default:
		return errors.New("mf solver must be als or sgd, got " + p.Solver)
	}
	m.augment(P, Q, bi, k)
	m.UserBias = bu
	return nil
}

// ridgeSweep solves, for every row r of m, [x_r, b_r] minimising
// Σ (v − mean − ob_c − x_r·y_c − b_r)² + λ·n_r·(|x_r|² + b_r²) over the
// row's entries (c, v), with the other side's factors y and biases ob fixed.
func ridgeSweep(x, bias []float64, m *CSR, y, ob []float64, k int, mean, reg float64) {
	F := k + 1
	Parallel(m.Rows, func(lo, hi int) {
		a := make([]float64, F*F)
		b := make([]float64, F)
		feat := make([]float64, F)
		for r := lo; r < hi; r++ {
			cols, vals := m.Row(r)
			if len(cols) == 0 {
				continue
			}
			clear(a)
			clear(b)
			for q, c := range cols {
				copy(feat, y[int(c)*k:int(c+1)*k])
				feat[k] = 1
				t := vals[q] - mean - ob[c]
				for i := 0; i < F; i++ {
					fi := feat[i]
					b[i] += t * fi
					ai := a[i*F : (i+1)*F]
					for j := 0; j <= i; j++ {
						ai[j] += fi * feat[j]
					}
				}
			}
			lam := reg * float64(len(cols))
			for i := 0; i < F; i++ {
				a[i*F+i] += lam
				for j := 0; j < i; j++ {
					a[j*F+i] = a[i*F+j]
				}
			}
			if cholSolve(a, b, F) != nil {
				continue
			}
			copy(x[r*k:(r+1)*k], b[:k])
			bias[r] = b[k]
		}
	})
}

// fitBPR is Bayesian personalised ranking (Rendle et al. 2009) by SGD on
// sampled (user, positive, negative) triples with an item bias, single
// threaded so that a seed fixes the result. The bias is stored as the last
// factor dimension (UserF[u][F−1] = 1).
func (m *Model) fitBPR() error {
	p := m.Params
	k := p.Factors
	nu, ni := m.Seen.Rows, m.Seen.Cols
	if ni < 2 {
		return errors.New("bpr needs at least two items")
	}
	rng := newRNG(p.Seed, 3)
	P := randomFactors(rng, nu, k, 0.1)
	Q := randomFactors(rng, ni, k, 0.1)
	bi := make([]float64, ni)
	rows := make([]int32, m.Seen.NNZ())
	for u := 0; u < nu; u++ {
		for q := m.Seen.Ptr[u]; q < m.Seen.Ptr[u+1]; q++ {
			rows[q] = int32(u)
		}
	}
	nnz := m.Seen.NNZ()
	lr, reg := p.LR, p.Reg
	for ep := 0; ep < p.Iterations; ep++ {
		for s := 0; s < nnz; s++ {
			e := rng.IntN(nnz)
			u, i := int(rows[e]), int(m.Seen.Idx[e])
			items, _ := m.Seen.Row(u)
			if len(items) >= ni {
				continue
			}
			var j int
			for {
				j = rng.IntN(ni)
				if !HasItem(items, int32(j)) {
					break
				}
			}
			pu, qi, qj := P[u*k:(u+1)*k], Q[i*k:(i+1)*k], Q[j*k:(j+1)*k]
			xuij := bi[i] - bi[j]
			for a := 0; a < k; a++ {
				xuij += pu[a] * (qi[a] - qj[a])
			}
			z := 1 / (1 + math.Exp(xuij)) // σ(−x)
			bi[i] += lr * (z - reg*bi[i])
			bi[j] += lr * (-z - reg*bi[j])
			for a := 0; a < k; a++ {
				pa, ia, ja := pu[a], qi[a], qj[a]
				pu[a] += lr * (z*(ia-ja) - reg*pa)
				qi[a] += lr * (z*pa - reg*ia)
				qj[a] += lr * (-z*pa - reg*ja)
			}
		}
	}
	m.augment(P, Q, bi, k)
	return nil
}

// HasItem reports whether the ascending list items holds i.
func HasItem(items []int32, i int32) bool {
	lo, hi := 0, len(items)
	for lo < hi {
		mid := (lo + hi) / 2
		if items[mid] < i {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo < len(items) && items[lo] == i
}

// augment stores the ranking factors with the item bias as one more
// dimension: UserF[u] = [p_u, 1], ItemF[i] = [q_i, b_i].
func (m *Model) augment(P, Q, bi []float64, k int) {
	F := k + 1
	nu, ni := len(P)/k, len(Q)/k
	m.F = F
	m.UserF = make([]float64, nu*F)
	m.ItemF = make([]float64, ni*F)
	for u := 0; u < nu; u++ {
		copy(m.UserF[u*F:], P[u*k:(u+1)*k])
		m.UserF[u*F+k] = 1
	}
	for i := 0; i < ni; i++ {
		copy(m.ItemF[i*F:], Q[i*k:(i+1)*k])
		m.ItemF[i*F+k] = bi[i]
	}
}
