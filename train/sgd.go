package train

import (
	"math"
	"sync"
	"sync/atomic"
)

// atomicParams are the shared weights of HogWild! SGD: float64 bits
// accessed only through sync/atomic, so concurrent workers may overwrite one
// another's updates (HogWild!'s bet: rare with sparse rows) but never race.
type atomicParams struct {
	kind    Kind
	d, k, h int
	w, b    []uint64
	w2, b2  []uint64
	lp      *lowPrec // replaces w in low-precision mode
	g2      []uint64 // AdaGrad's per-weight sums of squared gradients
}

func toBits(dst []uint64, src []float64) []uint64 {
	if dst == nil {
		dst = make([]uint64, len(src))
	}
	for i, v := range src {
		dst[i] = math.Float64bits(v)
	}
	return dst
}

func newAtomicParams(p *Params, lp *lowPrec) *atomicParams {
	a := &atomicParams{kind: p.Kind, d: p.D, k: p.K, h: p.H, b: toBits(nil, p.B), lp: lp}
	if lp == nil {
		a.w = toBits(nil, p.W)
	} else {
		lp.set(p.W)
	}
	if p.Kind == MLP {
		a.w2, a.b2 = toBits(nil, p.W2), toBits(nil, p.B2)
	}
	return a
}

func ld(s []uint64, i int) float64    { return math.Float64frombits(atomic.LoadUint64(&s[i])) }
func st(s []uint64, i int, v float64) { atomic.StoreUint64(&s[i], math.Float64bits(v)) }

// snapshot copies the shared weights into a Params.
func (a *atomicParams) snapshot() *Params {
	p := NewParams(a.kind, a.d, a.k, a.h)
	if a.kind == LogReg || a.kind == LinReg {
		p.K = 1
	}
	load := func(dst []float64, src []uint64) {
		for i := range dst {
			dst[i] = ld(src, i)
		}
	}
	if a.lp != nil {
		a.lp.get(p.W)
	} else {
		load(p.W, a.w)
	}
	load(p.B, a.b)
	if a.kind == MLP {
		load(p.W2, a.w2)
		load(p.B2, a.b2)
	}
	return p
}

// sgdConfig is what one epoch needs besides the data.
type sgdConfig struct {
	lr, l2, l1 float64
	regScale   []float32 // n/count(feature), the HogWild! penalty split
	// hot maps a feature to its slot among the frequent features (-1 for
	// the others) and hotFeat a slot to its feature; nil when one worker runs.
	hot, hotFeat []int32
	threads      int
	seed         uint64
}

// prox applies the touched-feature penalty to v as a proximal step:
// shrink for L2, soft-threshold for L1, so that it never overshoots zero.
func prox(v, l2, l1 float64) float64 {
	if l2 > 0 {
		v *= max(0, 1-l2)
	}
	if l1 > 0 {
		switch {
		case v > l1:
			v -= l1
		case v < -l1:
			v += l1
		default:
			v = 0
		}
	}
	return v
}

// epoch runs one pass of SGD over the rows in order, split among
// cfg.threads workers that share a. It returns the sum of the weighted row
// losses seen (each before its update).
func (a *atomicParams) epoch(ds *Dataset, order []int, cfg *sgdConfig) float64 {
	t := max(cfg.threads, 1)
	if t > len(order) {
		t = max(len(order), 1)
	}
	losses := make([]float64, t)
	var wg sync.WaitGroup
	chunk := (len(order) + t - 1) / t
	for w := 0; w < t; w++ {
		lo, hi := w*chunk, min((w+1)*chunk, len(order))
		if lo >= hi {
			continue
		}
		wg.Add(1)
		go func(w int, rows []int) {
			defer wg.Done()
			r := newRNG(cfg.seed*0x9e3779b97f4a7c15 + uint64(w) + 1)
			losses[w] = a.run(ds, rows, cfg, r)
		}(w, order[lo:hi])
	}
	wg.Wait()
	var s float64
	for _, l := range losses {
		s += l
	}
	return s
}

func (a *atomicParams) run(ds *Dataset, rows []int, cfg *sgdConfig, r *rng) float64 {
	K := a.k
	z, dz := make([]float64, max(K, 2)), make([]float64, max(K, 2))
	var h, dh []float64
	if a.kind == MLP {
		h, dh = make([]float64, a.h), make([]float64, a.h)
	}
	var total float64
	lr := cfg.lr
	// The bias is touched by every row, so its cache line would bounce
	// between workers on every step; each worker instead accumulates its
	// bias updates locally and publishes them every biasFlush rows.
	pending := make([]float64, K)
	bias := make([]float64, K)
	for k := range bias {
		bias[k] = ld(a.b, k)
	}
	// Features in most rows (stop words) would bounce the same way: with
	// several workers their updates are buffered like the bias.
	hot := cfg.hot
	var hotBase, hotPend, hotGBase, hotGPend []float64
	if a.kind != MLP && a.lp == nil && hot != nil {
		m := len(cfg.hotFeat) * K
		hotBase, hotPend = make([]float64, m), make([]float64, m)
		if a.g2 != nil {
			hotGBase, hotGPend = make([]float64, m), make([]float64, m)
		}
		for s, j := range cfg.hotFeat {
			for k := 0; k < K; k++ {
				hotBase[s*K+k] = ld(a.w, int(j)*K+k)
				if a.g2 != nil {
					hotGBase[s*K+k] = ld(a.g2, int(j)*K+k)
				}
			}
		}
	} else {
		hot = nil
	}
	flush := func() {
		for k, d := range pending {
			if d != 0 {
				bias[k] = addFloat(a.b, k, d)
				pending[k] = 0
			} else {
				bias[k] = ld(a.b, k)
			}
		}
		for s, j := range cfg.hotFeat {
			if hot == nil {
				break
			}
			for k := 0; k < K; k++ {
				i, q := int(j)*K+k, s*K+k
				if hotPend[q] != 0 {
					hotBase[q] = addFloat(a.w, i, hotPend[q])
					hotPend[q] = 0
				} else {
					hotBase[q] = ld(a.w, i)
				}
				if a.g2 == nil {
					continue
				}
				if hotGPend[q] != 0 {
					hotGBase[q] = addFloat(a.g2, i, hotGPend[q])
					hotGPend[q] = 0
				} else {
					hotGBase[q] = ld(a.g2, i)
				}
			}
		}
	}
	defer flush()
	hb := &hotBuf{slot: hot, base: hotBase, pend: hotPend, gBase: hotGBase, gPend: hotGPend}
	for n, i := range rows {
		if n%biasFlush == biasFlush-1 {
			flush()
		}
		idx, val := ds.X.Row(i)
		rw := ds.weight(i)
		switch {
		case a.kind == MLP:
			total += rw * a.stepMLP(idx, val, ds.target(i), rw, cfg, z, dz, h, dh)
			continue
		case a.g2 != nil:
			total += rw * a.stepAdaGrad(idx, val, ds.target(i), rw, cfg, z, dz, bias, pending, hb)
			continue
		case a.lp != nil:
			total += rw * a.stepLowPrec(idx, val, ds.target(i), rw, cfg, z, dz, r, bias, pending)
			continue
		}
		// Linear model, float weights.
		zz := z[:K]
		for k := range zz {
			zz[k] = bias[k] + pending[k]
		}
		switch {
		case hot != nil:
			for n, j := range idx {
				x := float64(val[n])
				if s := hot[j]; s >= 0 {
					for k := range zz {
						zz[k] += x * (hotBase[int(s)*K+k] + hotPend[int(s)*K+k])
					}
					continue
				}
				base := int(j) * K
				for k := range zz {
					zz[k] += x * ld(a.w, base+k)
				}
			}
		case K == 1:
			s := zz[0]
			for n, j := range idx {
				s += float64(val[n]) * ld(a.w, int(j))
			}
			zz[0] = s
		default:
			for n, j := range idx {
				x := float64(val[n])
				base := int(j) * K
				for k := range zz {
					zz[k] += x * ld(a.w, base+k)
				}
			}
		}
		total += rw * lossGrad(a.kind, zz, ds.target(i), dz)
		step := lr * rw
		for n, j := range idx {
			x := step * float64(val[n])
			c := lr * float64(cfg.regScale[j])
			if hot != nil {
				if s := hot[j]; s >= 0 {
					// Frequent features have small n/count, so the penalty
					// is applied as a plain (sub)gradient step.
					for k := 0; k < K; k++ {
						q := int(s)*K + k
						cur := hotBase[q] + hotPend[q]
						hotPend[q] -= x*dz[k] + c*(cfg.l2*cur+cfg.l1*sign(cur))
					}
					continue
				}
			}
			base := int(j) * K
			for k := 0; k < K; k++ {
				v := ld(a.w, base+k) - x*dz[k]
				st(a.w, base+k, prox(v, cfg.l2*c, cfg.l1*c))
			}
		}
		for k := 0; k < K; k++ {
			pending[k] -= step * dz[k]
		}
	}
	return total
}

// biasFlush is how many rows a worker's bias updates are batched over.
const biasFlush = 64

// addFloat atomically adds d to s[i] and returns the new value.
func addFloat(s []uint64, i int, d float64) float64 {
	for {
		old := atomic.LoadUint64(&s[i])
		nv := math.Float64frombits(old) + d
		if atomic.CompareAndSwapUint64(&s[i], old, math.Float64bits(nv)) {
			return nv
		}
	}
}

func (a *atomicParams) stepMLP(idx []int32, val []float32, t []float64, rw float64, cfg *sgdConfig, z, dz, h, dh []float64) float64 {
	K, H := a.k, a.h
	for u := range h {
		h[u] = ld(a.b, u)
	}
	for n, j := range idx {
		x := float64(val[n])
		base := int(j) * H
		for u := range h {
			h[u] += x * ld(a.w, base+u)
		}
	}
	zz := z[:K]
	for k := range zz {
		zz[k] = ld(a.b2, k)
	}
	for u, v := range h {
		if v <= 0 {
			h[u] = 0
			continue
		}
		for k := range zz {
			zz[k] += v * ld(a.w2, u*K+k)
		}
	}
	loss := lossGrad(MLP, zz, t, dz)
	step := cfg.lr * rw
	// Backpropagate with the weights read before this row's update.
	for u, v := range h {
		dh[u] = 0
		if v <= 0 {
			continue
		}
		var s float64
		for k := 0; k < K; k++ {
			s += ld(a.w2, u*K+k) * dz[k]
		}
		dh[u] = s
	}
	l2, l1 := cfg.lr*cfg.l2, cfg.lr*cfg.l1
	for u, v := range h {
		for k := 0; k < K; k++ {
			i := u*K + k
			st(a.w2, i, prox(ld(a.w2, i)-step*v*dz[k], l2, l1))
		}
	}
	for k := 0; k < K; k++ {
		st(a.b2, k, ld(a.b2, k)-step*dz[k])
	}
	for u := range dh {
		st(a.b, u, ld(a.b, u)-step*dh[u])
	}
	for n, j := range idx {
		x := step * float64(val[n])
		c := cfg.lr * float64(cfg.regScale[j])
		base := int(j) * H
		for u, d := range dh {
			if d == 0 {
				continue
			}
			st(a.w, base+u, prox(ld(a.w, base+u)-x*d, cfg.l2*c, cfg.l1*c))
		}
	}
	return loss
}

// rng is a small xorshift64* generator, one per worker.
type rng struct{ s uint64 }

func newRNG(seed uint64) *rng {
	if seed == 0 {
		seed = 0x9e3779b97f4a7c15
	}
	return &rng{s: seed}
}

func (r *rng) next() uint64 {
	r.s ^= r.s >> 12
	r.s ^= r.s << 25
	r.s ^= r.s >> 27
	return r.s * 2685821657736338717
}

// float returns a uniform value in [0, 1).
func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }
