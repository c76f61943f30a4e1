package train

import "math"

// hotBuf is a worker's buffer for the frequent features: their weights (and
// AdaGrad sums) as last read from the shared arrays, plus the worker's
// pending changes, published every biasFlush rows. slot is nil when the
// buffer is off (one worker).
type hotBuf struct {
	slot                     []int32
	base, pend, gBase, gPend []float64
}

// stepAdaGrad is one HogWild! step of a linear model with AdaGrad's
// per-coordinate learning rates: lr/√(Σ g²) for each weight, so rare
// features (most hashed n-grams) take large steps and frequent ones small.
// The squared-gradient sums live in a.g2 as atomic float bits like the
// weights. The penalty enters the gradient as l2·c·w + l1·c·sign(w) with
// c = n/count(feature), the same split as plain SGD.
func (a *atomicParams) stepAdaGrad(idx []int32, val []float32, t []float64, rw float64, cfg *sgdConfig, z, dz, bias, pending []float64, hb *hotBuf) float64 {
	K := a.k
	zz := z[:K]
	for k := range zz {
		zz[k] = bias[k] + pending[k]
	}
	for n, j := range idx {
		x := float64(val[n])
		if hb.slot != nil {
			if s := hb.slot[j]; s >= 0 {
				for k := range zz {
					q := int(s)*K + k
					zz[k] += x * (hb.base[q] + hb.pend[q])
				}
				continue
			}
		}
		base := int(j) * K
		for k := range zz {
			zz[k] += x * ld(a.w, base+k)
		}
	}
	loss := lossGrad(a.kind, zz, t, dz)
	for n, j := range idx {
		x := rw * float64(val[n])
		c := float64(cfg.regScale[j])
		if hb.slot != nil {
			if s := hb.slot[j]; s >= 0 {
				for k := 0; k < K; k++ {
					q := int(s)*K + k
					w := hb.base[q] + hb.pend[q]
					g := x*dz[k] + c*(cfg.l2*w+cfg.l1*sign(w))
					if g == 0 {
						continue
					}
					hb.gPend[q] += g * g
					hb.pend[q] -= cfg.lr * g / math.Sqrt(hb.gBase[q]+hb.gPend[q])
				}
				continue
			}
		}
		base := int(j) * K
		for k := 0; k < K; k++ {
			i := base + k
			w := ld(a.w, i)
			g := x*dz[k] + c*(cfg.l2*w+cfg.l1*sign(w))
			if g == 0 {
				continue
			}
			acc := ld(a.g2, i) + g*g
			st(a.g2, i, acc)
			st(a.w, i, w-cfg.lr*g/math.Sqrt(acc))
		}
	}
	step := cfg.lr * rw
	for k := 0; k < K; k++ {
		pending[k] -= step * dz[k]
	}
	return loss
}
