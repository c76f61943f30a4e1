package train

import (
	"fmt"
	"math"
	"sync/atomic"
)

// lowPrec holds weights as signed fixed-point integers of 8 or 16 bits
// packed into uint32 words (Buckwild!). A weight is its integer times step.
// Updates are rounded stochastically to the grid, so that on average they
// equal the exact update, and applied with compare-and-swap with
// saturation at the ends of the range.
type lowPrec struct {
	words []uint32
	bits  uint
	shift uint // log2 of lanes per word
	step  float64
	maxv  int32
}

// newLowPrec makes n weights of the given width covering ±limit.
func newLowPrec(n, bits int, limit float64) (*lowPrec, error) {
	if bits != 8 && bits != 16 {
		return nil, fmt.Errorf("train: low precision of %d bits; want 8 or 16", bits)
	}
	q := &lowPrec{bits: uint(bits), maxv: int32(1)<<(bits-1) - 1}
	q.shift = 1
	if bits == 8 {
		q.shift = 2
	}
	lanes := 1 << q.shift
	q.words = make([]uint32, (n+lanes-1)/lanes)
	q.step = limit / float64(q.maxv)
	return q, nil
}

func (q *lowPrec) lane(i int) (word int, sh uint) {
	return i >> q.shift, uint(i&(1<<q.shift-1)) * q.bits
}

func (q *lowPrec) extract(w uint32, sh uint) int32 {
	return int32(w<<(32-q.bits-sh)) >> (32 - q.bits)
}

func (q *lowPrec) loadInt(i int) int32 {
	wi, sh := q.lane(i)
	return q.extract(atomic.LoadUint32(&q.words[wi]), sh)
}

func (q *lowPrec) load(i int) float64 { return float64(q.loadInt(i)) * q.step }

// add adds d grid steps to weight i, saturating.
func (q *lowPrec) add(i int, d int32) {
	if d == 0 {
		return
	}
	wi, sh := q.lane(i)
	mask := uint32(1)<<q.bits - 1
	for {
		old := atomic.LoadUint32(&q.words[wi])
		v := q.extract(old, sh) + d
		v = min(max(v, -q.maxv), q.maxv)
		nw := old&^(mask<<sh) | (uint32(v)&mask)<<sh
		if atomic.CompareAndSwapUint32(&q.words[wi], old, nw) {
			return
		}
	}
}

// stochasticRound rounds x to an integer, up with probability equal to its
// fractional part, so E[round(x)] = x. u is uniform in [0, 1).
func stochasticRound(x, u float64) int32 {
	f := math.Floor(x)
	if u < x-f {
		f++
	}
	return int32(max(min(f, math.MaxInt32), math.MinInt32))
}

func (q *lowPrec) set(w []float64) {
	for i, v := range w {
		wi, sh := q.lane(i)
		iv := int32(math.Round(v / q.step))
		iv = min(max(iv, -q.maxv), q.maxv)
		mask := uint32(1)<<q.bits - 1
		q.words[wi] = q.words[wi]&^(mask<<sh) | (uint32(iv)&mask)<<sh
	}
}

func (q *lowPrec) get(w []float64) {
	for i := range w {
		w[i] = q.load(i)
	}
}

// stepLowPrec is one SGD step of a linear model with low-precision weights.
func (a *atomicParams) stepLowPrec(idx []int32, val []float32, t []float64, rw float64, cfg *sgdConfig, z, dz []float64, r *rng, bias, pending []float64) float64 {
	q, K := a.lp, a.k
	zz := z[:K]
	for k := range zz {
		zz[k] = bias[k] + pending[k]
	}
	for n, j := range idx {
		x := float64(val[n])
		base := int(j) * K
		for k := range zz {
			zz[k] += x * q.load(base+k)
		}
	}
	loss := lossGrad(a.kind, zz, t, dz)
	step := cfg.lr * rw
	inv := 1 / q.step
	for n, j := range idx {
		x := step * float64(val[n])
		c := cfg.lr * float64(cfg.regScale[j])
		base := int(j) * K
		for k := 0; k < K; k++ {
			v := q.load(base + k)
			nv := prox(v-x*dz[k], cfg.l2*c, cfg.l1*c)
			q.add(base+k, stochasticRound((nv-v)*inv, r.float()))
		}
	}
	for k := 0; k < K; k++ {
		pending[k] -= step * dz[k]
	}
	return loss
}
