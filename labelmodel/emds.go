package labelmodel

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/dawn-ml/dawn/internal/logprob"
)

// DSParams are fitted Dawid–Skene parameters: a class prior and, per
// source (an LF, an annotator, a web site), a k×(k+1) confusion matrix
// Theta[(i·K+y)·(K+1)+a] = P(source i outputs a | Y = y). Column a = K is
// "did not answer": an observed outcome when AbstainObserved (LFs, which
// see every row), and zero otherwise (crowdsourcing and data fusion, where
// a source answers only some objects and a missing answer says nothing).
type DSParams struct {
	K, M            int
	AbstainObserved bool
	Prior           []float64 // K
	Theta           []float64 // M·K·(K+1)
	Iters           int       // EM iterations run

	logBase  []float64 // K
	logDelta []float64 // (M·K)·K

	accW, accC [][]float64 // the M-step's per-worker counts, reused
}

// DSOptions configure DawidSkeneEM.
type DSOptions struct {
	AbstainObserved bool
	MaxIter         int     // default 100
	Tol             float64 // stop when the mean log-likelihood per item changes less; default 1e-5
	// Smoothing is a pseudo-count added to every confusion cell of a
	// source before normalising (0: plain maximum likelihood, as Dawid &
	// Skene and crowd-kit do).
	Smoothing float64
	// Known, when not nil, holds a class per item (-1 for unknown): known
	// items keep a one-hot posterior throughout EM (semi-supervised EM).
	Known []int32
	// Init, when not nil, is the starting posterior, items×K; the default
	// is each item's majority vote.
	Init    []float64
	Workers int
}

// DawidSkeneEM fits Dawid & Skene's (1979) model by EM over items: tab's
// rows are the items (distinct LF vote patterns, or objects of a fusion
// problem), each a list of codes source·K + value, weighted by Count. It
// returns the parameters and the final posterior, items×K. This is the
// one implementation behind the Dawid–Skene label model and package
// fuse's Dawid–Skene.
func DawidSkeneEM(ctx context.Context, tab *Patterns, m, k int, opt DSOptions) (*DSParams, []float64, error) {
	if k < 2 {
		return nil, nil, fmt.Errorf("labelmodel: dawid-skene: need at least 2 classes, have %d", k)
	}
	np := tab.Len()
	if np == 0 {
		return nil, nil, errors.New("labelmodel: dawid-skene: no items")
	}
	if opt.MaxIter == 0 {
		opt.MaxIter = 100
	}
	if opt.Tol == 0 {
		opt.Tol = 1e-5
	}
	if opt.Known != nil && len(opt.Known) != np {
		return nil, nil, fmt.Errorf("labelmodel: dawid-skene: %d known labels for %d items", len(opt.Known), np)
	}
	var total float64
	for _, c := range tab.Count {
		total += float64(c)
	}
	post := make([]float64, np*k)
	if opt.Init != nil {
		if len(opt.Init) != np*k {
			return nil, nil, fmt.Errorf("labelmodel: dawid-skene: initial posterior has %d values, want %d", len(opt.Init), np*k)
		}
		copy(post, opt.Init)
	} else {
		parallel(np, opt.Workers, func(_, lo, hi int) {
			for p := lo; p < hi; p++ {
				majorityRow(tab.Row(p), k, post[p*k:(p+1)*k])
			}
		})
	}
	clampKnown(post, opt.Known, k)
	d := &DSParams{K: k, M: m, AbstainObserved: opt.AbstainObserved,
		Prior: make([]float64, k), Theta: make([]float64, m*k*(k+1))}
	prev := math.Inf(-1)
	for it := 1; it <= opt.MaxIter; it++ {
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("labelmodel: dawid-skene: %w", err)
		}
		d.mStep(tab, post, opt.Smoothing, opt.Workers)
		d.cache()
		ll := d.eStep(tab, post, opt.Workers) / total
		clampKnown(post, opt.Known, k)
		d.Iters = it
		if math.IsNaN(ll) {
			return nil, nil, fmt.Errorf("labelmodel: dawid-skene: log-likelihood is NaN at iteration %d", it)
		}
		if math.Abs(ll-prev) < opt.Tol {
			break
		}
		prev = ll
	}
	return d, post, nil
}

func clampKnown(post []float64, known []int32, k int) {
	for p, y := range known {
		if y < 0 {
			continue
		}
		row := post[p*k : (p+1)*k]
		clear(row)
		row[y] = 1
	}
}

// mStep sets the prior and confusion matrices from the item posteriors.
// The per-worker counts are laid out by code, c[code·K+y] for code =
// source·K + answer, so the hot loop needs no division.
func (d *DSParams) mStep(tab *Patterns, post []float64, smooth float64, workers int) {
	k, nm := d.K, d.M
	np := tab.Len()
	nw := numWorkers(np, workers)
	if len(d.accW) != nw {
		d.accW, d.accC = make([][]float64, nw), make([][]float64, nw)
		for t := range d.accW {
			d.accW[t], d.accC[t] = make([]float64, k), make([]float64, nm*k*k)
		}
	}
	type acc struct{ w, c []float64 }
	parts := make([]acc, nw)
	parallel(np, workers, func(t, lo, hi int) {
		a := acc{w: d.accW[t], c: d.accC[t]}
		clear(a.w)
		clear(a.c)
		for p := lo; p < hi; p++ {
			cnt := float64(tab.Count[p])
			pp := post[p*k : (p+1)*k]
			for y, v := range pp {
				a.w[y] += cnt * v
			}
			if cnt == 1 {
				for _, code := range tab.Row(p) {
					row := a.c[int(code)*k : int(code)*k+k]
					for y, q := range pp {
						row[y] += q
					}
				}
				continue
			}
			for _, code := range tab.Row(p) {
				row := a.c[int(code)*k : int(code)*k+k]
				for y, q := range pp {
					row[y] += cnt * q
				}
			}
		}
		parts[t] = a
	})
	wy := make([]float64, k)
	counts := parts[0].c
	for y, v := range parts[0].w {
		wy[y] += v
	}
	for _, a := range parts[1:] {
		for y, v := range a.w {
			wy[y] += v
		}
		for j, v := range a.c {
			counts[j] += v
		}
	}
	var total float64
	for _, v := range wy {
		total += v
	}
	for y := range wy {
		d.Prior[y] = wy[y] / total
	}
	for i := 0; i < nm; i++ {
		for y := 0; y < k; y++ {
			row := d.Theta[(i*k+y)*(k+1) : (i*k+y+1)*(k+1)]
			for a := 0; a < k; a++ {
				row[a] = counts[(i*k+a)*k+y]
			}
			if d.AbstainObserved {
				if wy[y] <= 0 {
					for a := range row {
						row[a] = 1 / float64(k+1)
					}
					continue
				}
				var voted float64
				for a := 0; a < k; a++ {
					voted += row[a]
				}
				row[k] = max(wy[y]-voted, 0)
				for a := range row {
					row[a] /= wy[y]
				}
				continue
			}
			var voted float64
			for a := 0; a < k; a++ {
				row[a] += smooth
				voted += row[a]
			}
			row[k] = 0
			if voted <= 0 {
				for a := 0; a < k; a++ {
					row[a] = 1 / float64(k)
				}
				continue
			}
			for a := 0; a < k; a++ {
				row[a] /= voted
			}
		}
	}
}

func (d *DSParams) cache() {
	k, nm := d.K, d.M
	if d.logBase == nil {
		d.logBase = make([]float64, k)
		d.logDelta = make([]float64, nm*k*k)
	}
	for y := 0; y < k; y++ {
		d.logBase[y] = safeLog(d.Prior[y])
	}
	for i := 0; i < nm; i++ {
		for y := 0; y < k; y++ {
			row := d.Theta[(i*k+y)*(k+1):]
			var la float64
			if d.AbstainObserved {
				la = safeLog(row[k])
				d.logBase[y] += la
			}
			for a := 0; a < k; a++ {
				d.logDelta[(i*k+a)*k+y] = safeLog(row[a]) - la
			}
		}
	}
}

// Posterior writes P(Y | codes) into dst (length K) and returns
// log Σ_y P(Y=y, codes).
func (d *DSParams) Posterior(codes []int32, dst []float64) float64 {
	if d.logBase == nil {
		d.cache()
	}
	k := d.K
	if k == 2 {
		// Two classes: one log-odds, one exp.
		a, b := d.logBase[0], d.logBase[1]
		ld := d.logDelta
		for _, c := range codes {
			o := int(c) * 2
			a += ld[o]
			b += ld[o+1]
		}
		mx, diff := a, b-a
		if b > a {
			mx, diff = b, a-b
		}
		e := math.Exp(diff)
		p := 1 / (1 + e)
		if b > a {
			dst[0], dst[1] = e*p, p
		} else {
			dst[0], dst[1] = p, e*p
		}
		return mx + math.Log1p(e)
	}
	copy(dst, d.logBase)
	for _, c := range codes {
		row := d.logDelta[int(c)*k : int(c)*k+k]
		for y := range dst {
			dst[y] += row[y]
		}
	}
	return logprob.Normalize(dst)
}

// LogDelta returns the log-likelihood contribution of one answer, code =
// source·K + value, to each class: log θ_source[y][value] (minus the
// abstain term when abstains are observed). Adding it to a posterior's
// log-scores adds the answer; subtracting removes it.
func (d *DSParams) LogDelta(code int32) []float64 {
	if d.logBase == nil {
		d.cache()
	}
	k := d.K
	return d.logDelta[int(code)*k : int(code)*k+k]
}

// eStep recomputes the posteriors and returns the log-likelihood.
func (d *DSParams) eStep(tab *Patterns, post []float64, workers int) float64 {
	np := tab.Len()
	k := d.K
	parts := make([]float64, numWorkers(np, workers))
	parallel(np, workers, func(t, lo, hi int) {
		var s float64
		for p := lo; p < hi; p++ {
			s += float64(tab.Count[p]) * d.Posterior(tab.Row(p), post[p*k:(p+1)*k])
		}
		parts[t] = s
	})
	var ll float64
	for _, s := range parts {
		ll += s
	}
	return ll
}

// Accuracies is each source's P(answer = Y | it answers) under the model:
// Σ_y π_y θ_i[y][y] / Σ_y π_y (1 − θ_i[y][abstain]).
func (d *DSParams) Accuracies() []float64 {
	k := d.K
	out := make([]float64, d.M)
	for i := range out {
		var num, den float64
		for y := 0; y < k; y++ {
			row := d.Theta[(i*k+y)*(k+1):]
			num += d.Prior[y] * row[y]
			den += d.Prior[y] * (1 - row[k])
		}
		if den > 0 {
			out[i] = num / den
		}
	}
	return out
}
