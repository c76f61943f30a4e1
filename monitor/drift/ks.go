package drift

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// KSMethod chooses how the two-sample KS p-value is computed.
type KSMethod string

const (
	// KSAuto is exact when both samples have at most 10,000 rows, else
	// asymptotic (SciPy's default).
	KSAuto KSMethod = "auto"
	// KSExact counts lattice paths (Hodges 1958); falls back to the
	// asymptotic value when the count overflows.
	KSExact KSMethod = "exact"
	// KSAsymp uses the one-sample distribution of D at n = round(mn/(m+n)).
	KSAsymp KSMethod = "asymp"
)

// ksMaxAutoN is the largest sample size KSAuto computes exactly.
const ksMaxAutoN = 10000

// ErrEmpty is returned when a test gets an empty sample.
var ErrEmpty = errors.New("empty sample")

// KSResult is a two-sample KS test's outcome.
type KSResult struct {
	Statistic float64  // D = sup |F1 - F2|
	PValue    float64  // two-sided
	Method    KSMethod // the method actually used (exact or asymp)
}

// KS2Samp is the two-sided two-sample Kolmogorov–Smirnov test. a and b need
// not be sorted; they are not modified.
func KS2Samp(a, b []float64, method KSMethod) (KSResult, error) {
	if len(a) == 0 || len(b) == 0 {
		return KSResult{}, fmt.Errorf("drift: ks: %w", ErrEmpty)
	}
	x := slices.Clone(a)
	y := slices.Clone(b)
	sort.Float64s(x)
	sort.Float64s(y)
	return KS2SampSorted(x, y, method)
}

// KS2SampSorted is KS2Samp on samples already sorted ascending.
func KS2SampSorted(x, y []float64, method KSMethod) (KSResult, error) {
	n1, n2 := len(x), len(y)
	if n1 == 0 || n2 == 0 {
		return KSResult{}, fmt.Errorf("drift: ks: %w", ErrEmpty)
	}
	d := ksStatistic(x, y)
	g := gcd(n1, n2)
	if method == "" {
		method = KSAuto
	}
	switch method {
	case KSAuto:
		if max(n1, n2) <= ksMaxAutoN {
			method = KSExact
		} else {
			method = KSAsymp
		}
	case KSExact:
		if float64(n1/g) >= float64(math.MaxInt32)/float64(n2/g) {
			method = KSAsymp
		}
	case KSAsymp:
	default:
		return KSResult{}, fmt.Errorf("drift: ks: unknown method %q (auto, exact, asymp)", method)
	}
	if method == KSExact {
		dd, p, ok := ksExact(n1, n2, g, d)
		if ok {
			return KSResult{Statistic: dd, PValue: clip01(p), Method: KSExact}, nil
		}
		method = KSAsymp
	}
	m, n := float64(max(n1, n2)), float64(min(n1, n2))
	en := m * n / (m + n)
	p := kolmogorovSF(int(math.RoundToEven(en)), d)
	return KSResult{Statistic: d, PValue: clip01(p), Method: KSAsymp}, nil
}

// ksStatistic is sup |F1 - F2| over the pooled points, on sorted samples.
func ksStatistic(x, y []float64) float64 {
	n1, n2 := float64(len(x)), float64(len(y))
	i, j := 0, 0
	d := 0.0
	for i < len(x) && j < len(y) {
		v := min(x[i], y[j])
		for i < len(x) && x[i] == v {
			i++
		}
		for j < len(y) && y[j] == v {
			j++
		}
		d = math.Max(d, math.Abs(float64(i)/n1-float64(j)/n2))
	}
	return d
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// ksExact is the exact two-sided p-value Pr(D >= d). d is first snapped to
// the lattice h/lcm(n1,n2) it must lie on. ok is false when the
// computation is not representable.
func ksExact(n1, n2, g int, d float64) (float64, float64, bool) {
	lcm := float64(n1/g) * float64(n2)
	h := int(math.RoundToEven(d * lcm))
	d = float64(h) / lcm
	if h == 0 {
		return d, 1, true
	}
	var p float64
	if n1 == n2 {
		p = probOutsideSquare(n1, h)
	} else {
		p = probOutsideInside(n1, n2, g, h)
	}
	if math.IsNaN(p) || math.IsInf(p, 0) || p < 0 || p > 1 {
		return d, p, false
	}
	return d, p, true
}

// probOutsideSquare is Pr(D_{n,n} >= h/n) by Hodges' reflection sum.
func probOutsideSquare(n, h int) float64 {
	P := 0.0
	for k := n / h; k >= 0; k-- {
		p1 := 1.0
		for j := 0; j < h; j++ {
			p1 = float64(n-k*h-j) * p1 / float64(n+k*h+j+1)
		}
		P = p1 * (1 - P)
	}
	return 2 * P
}

// probOutsideInside is 1 minus the share of monotone lattice paths from
// (0,0) to (m,n) staying strictly inside |ng·x - mg·y| < h. One column of
// the path-count table is kept, each count A(i,j) divided by the number of
// all paths to (i,j), C(i+j,j), so it stays in [0,1]:
//
//	B(i,j) = B(i-1,j)·i/(i+j) + B(i,j-1)·j/(i+j),  B = 0 outside the band.
func probOutsideInside(m, n, g, h int) float64 {
	if m < n {
		m, n = n, m
	}
	mg, ng := m/g, n/g
	prev := make([]float64, n+1)
	cur := make([]float64, n+1)
	// Column x = 0: inside while mg·y < h.
	pmin, pmax := 0, min((h+mg-1)/mg, n+1)
	for j := pmin; j < pmax; j++ {
		prev[j] = 1
	}
	for i := 1; i <= m; i++ {
		lo := max(floorDiv(ng*i-h, mg)+1, 0)
		hi := min(ceilDiv(ng*i+h, mg), n+1)
		if hi <= lo {
			return 1
		}
		fi := float64(i)
		left := 0.0
		for j := lo; j < hi; j++ {
			up := 0.0
			if j >= pmin && j < pmax {
				up = prev[j]
			}
			fj := float64(j)
			left = (up*fi + left*fj) / (fi + fj)
			cur[j] = left
		}
		prev, cur = cur, prev
		pmin, pmax = lo, hi
	}
	if n < pmin || n >= pmax {
		return 1
	}
	return 1 - prev[n]
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func ceilDiv(a, b int) int { return -floorDiv(-a, b) }
