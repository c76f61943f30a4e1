package fuse

import (
	"context"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// fitCentral fuses numbers by their mean or median.
func fitCentral(c *Claims, method string) *Result {
	n := len(c.Objects)
	truth := make([]float64, n)
	buf := []float64{}
	for o := 0; o < n; o++ {
		vals := c.Num[c.Ptr[o]:c.Ptr[o+1]]
		if method == Mean {
			var s float64
			for _, v := range vals {
				s += v
			}
			truth[o] = s / float64(len(vals))
			continue
		}
		buf = append(buf[:0], vals...)
		truth[o] = median(buf)
	}
	w := make([]float64, len(c.Sources))
	for i := range w {
		w[i] = 1
	}
	return numericResult(c, truth, w)
}

// median sorts v and returns its median (the mean of the middle two for
// an even count).
func median(v []float64) float64 {
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// fitCATD is Li et al.'s confidence-aware truth discovery: start from the
// medians, then alternate source weights w_s = χ²(α/2, n_s) / Σ (x − t)²
// and weighted-mean truths.
func fitCATD(ctx context.Context, c *Claims, opt Options) (*Result, error) {
	n := len(c.Objects)
	m := len(c.Sources)
	truth := fitCentral(c, Median).Truth
	counts := c.SourceCounts()
	chi := make([]float64, m)
	cache := map[int]float64{}
	for s, k := range counts {
		q, ok := cache[k]
		if !ok {
			q = chiQuantile(opt.Alpha/2, k)
			cache[k] = q
		}
		chi[s] = q
	}
	// A floor on each source's squared error keeps a source that agrees
	// exactly with the truths from taking infinite weight.
	var scale float64
	for j := range c.Num {
		scale = max(scale, math.Abs(c.Num[j]))
	}
	floor := 1e-12 * (1 + scale*scale)
	w := make([]float64, m)
	errs := make([]float64, m)
	iters := opt.MaxIter
	if iters == 100 {
		iters = 20
	}
	it := 0
	for it = 1; it <= iters; it++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("fuse: catd: %w", err)
		}
		clear(errs)
		for o := 0; o < n; o++ {
			for j := c.Ptr[o]; j < c.Ptr[o+1]; j++ {
				d := c.Num[j] - truth[o]
				errs[c.Src[j]] += d * d
			}
		}
		for s := range w {
			w[s] = chi[s] / max(errs[s], floor)
		}
		var change float64
		for o := 0; o < n; o++ {
			var sw, sx float64
			for j := c.Ptr[o]; j < c.Ptr[o+1]; j++ {
				ws := w[c.Src[j]]
				sw += ws
				sx += ws * c.Num[j]
			}
			t := truth[o]
			if sw > 0 {
				t = sx / sw
			}
			change = max(change, math.Abs(t-truth[o]))
			truth[o] = t
		}
		if change < opt.Tol*(1+scale) {
			break
		}
	}
	var top float64
	for _, v := range w {
		top = max(top, v)
	}
	for s := range w {
		if top > 0 {
			w[s] /= top
		}
	}
	r := numericResult(c, truth, w)
	r.Iters = min(it, iters)
	return r, nil
}

// numericResult fills the confidence of numeric truths: 1/(1+sd) of the
// object's claims around its truth.
func numericResult(c *Claims, truth, weight []float64) *Result {
	n := len(c.Objects)
	conf := make([]float64, n)
	for o := 0; o < n; o++ {
		var ss float64
		cnt := c.Ptr[o+1] - c.Ptr[o]
		for j := c.Ptr[o]; j < c.Ptr[o+1]; j++ {
			d := c.Num[j] - truth[o]
			ss += d * d
		}
		conf[o] = 1 / (1 + math.Sqrt(ss/float64(cnt)))
	}
	return &Result{Truth: truth, Confidence: conf, Accuracy: weight}
}

// chiQuantile is the p-quantile of χ² with k degrees of freedom.
func chiQuantile(p float64, k int) float64 {
	return distuv.ChiSquared{K: float64(k)}.Quantile(p)
}
