package drift

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Chi2Result is a χ² test of independence on a contingency table.
type Chi2Result struct {
	Statistic float64
	PValue    float64
	DoF       int
}

// Chi2Contingency is Pearson's χ² test of independence on an r×c table of
// counts (rows: samples, columns: categories), with Yates' continuity
// correction when there is one degree of freedom, as SciPy's
// chi2_contingency with its defaults. A column or row of zeros is an error
// (its expected count is zero); callers drop categories absent from both
// samples.
func Chi2Contingency(table [][]float64) (Chi2Result, error) {
	r := len(table)
	if r == 0 || len(table[0]) == 0 {
		return Chi2Result{}, fmt.Errorf("drift: chi2: %w", ErrEmpty)
	}
	c := len(table[0])
	rows := make([]float64, r)
	cols := make([]float64, c)
	total := 0.0
	for i, row := range table {
		if len(row) != c {
			return Chi2Result{}, fmt.Errorf("drift: chi2: row %d has %d columns, want %d", i, len(row), c)
		}
		for j, v := range row {
			if v < 0 || math.IsNaN(v) {
				return Chi2Result{}, fmt.Errorf("drift: chi2: count [%d][%d] = %v is negative", i, j, v)
			}
			rows[i] += v
			cols[j] += v
			total += v
		}
	}
	dof := r*c - (r + c) + 1
	for i := range rows {
		for j := range cols {
			if rows[i]*cols[j] == 0 {
				return Chi2Result{}, fmt.Errorf("drift: chi2: expected count [%d][%d] is zero", i, j)
			}
		}
	}
	if dof == 0 {
		return Chi2Result{Statistic: 0, PValue: 1, DoF: 0}, nil
	}
	stat := 0.0
	for i := range rows {
		for j := range cols {
			e := rows[i] * cols[j] / total
			o := table[i][j]
			if dof == 1 {
				diff := e - o
				o += math.Min(0.5, math.Abs(diff)) * sign(diff)
			}
			stat += (o - e) * (o - e) / e
		}
	}
	p := distuv.ChiSquared{K: float64(dof)}.Survival(stat)
	return Chi2Result{Statistic: stat, PValue: p, DoF: dof}, nil
}

func sign(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

// ZResult is a two-proportion z-test's outcome.
type ZResult struct {
	Statistic float64 // z
	PValue    float64 // two-sided
}

// ZProportions tests whether the share of successes differs between two
// samples (k1 of n1, k2 of n2) with the pooled-variance z statistic, as
// Evidently's z-test for binary columns. Identical all-or-nothing samples
// have zero variance: z = 0 and p = 1.
func ZProportions(k1, n1, k2, n2 float64) (ZResult, error) {
	if n1 <= 0 || n2 <= 0 {
		return ZResult{}, fmt.Errorf("drift: z-test: %w", ErrEmpty)
	}
	p1, p2 := k1/n1, k2/n2
	P := (k1 + k2) / (n1 + n2)
	se := math.Sqrt(P * (1 - P) * (1/n1 + 1/n2))
	if se == 0 {
		return ZResult{Statistic: 0, PValue: 1}, nil
	}
	z := (p1 - p2) / se
	p := 2 * distuv.UnitNormal.Survival(math.Abs(z))
	return ZResult{Statistic: z, PValue: p}, nil
}

// Wasserstein is the first Wasserstein (earth mover's) distance between the
// empirical distributions of u and v: ∫|F_u - F_v|.
func Wasserstein(u, v []float64) (float64, error) {
	if len(u) == 0 || len(v) == 0 {
		return 0, fmt.Errorf("drift: wasserstein: %w", ErrEmpty)
	}
	x := slices.Clone(u)
	y := slices.Clone(v)
	sort.Float64s(x)
	sort.Float64s(y)
	return WassersteinSorted(x, y), nil
}

// WassersteinSorted is Wasserstein on samples sorted ascending.
func WassersteinSorted(x, y []float64) float64 {
	n1, n2 := float64(len(x)), float64(len(y))
	i, j := 0, 0
	prev := math.Min(x[0], y[0])
	sum := 0.0
	for i < len(x) || j < len(y) {
		var v float64
		switch {
		case i == len(x):
			v = y[j]
		case j == len(y):
			v = x[i]
		default:
			v = math.Min(x[i], y[j])
		}
		sum += math.Abs(float64(i)/n1-float64(j)/n2) * (v - prev)
		prev = v
		for i < len(x) && x[i] == v {
			i++
		}
		for j < len(y) && y[j] == v {
			j++
		}
	}
	return sum
}

// JensenShannon is the Jensen–Shannon distance (the square root of the
// divergence, natural log) between two histograms, each normalised to sum
// to one, as SciPy's spatial.distance.jensenshannon.
func JensenShannon(p, q []float64) (float64, error) {
	pp, qq, err := normalisePair(p, q, "jensen-shannon")
	if err != nil {
		return 0, err
	}
	s := 0.0
	for i := range pp {
		m := (pp[i] + qq[i]) / 2
		s += relEntr(pp[i], m) + relEntr(qq[i], m)
	}
	return math.Sqrt(math.Max(s/2, 0)), nil
}

// relEntr is x·log(x/y) with SciPy's rel_entr conventions at zero.
func relEntr(x, y float64) float64 {
	switch {
	case x == 0 && y >= 0:
		return 0
	case x > 0 && y > 0:
		return x * math.Log(x/y)
	}
	return math.Inf(1)
}

// psiFloor replaces an empty bin's share, as Evidently does, so that PSI
// stays finite.
const psiFloor = 0.0001

// PSI is the population stability index Σ (q-p)·ln(q/p) of the current
// histogram q against the reference p, both normalised, empty shares
// replaced by 0.0001.
func PSI(ref, cur []float64) (float64, error) {
	p, q, err := normalisePair(ref, cur, "psi")
	if err != nil {
		return 0, err
	}
	s := 0.0
	for i := range p {
		a, b := p[i], q[i]
		if a == 0 {
			a = psiFloor
		}
		if b == 0 {
			b = psiFloor
		}
		s += (b - a) * math.Log(b/a)
	}
	return s, nil
}

// Hellinger is the Hellinger distance sqrt(Σ(√p-√q)²)/√2 between two
// normalised histograms: 0 for equal, 1 for disjoint.
func Hellinger(p, q []float64) (float64, error) {
	pp, qq, err := normalisePair(p, q, "hellinger")
	if err != nil {
		return 0, err
	}
	s := 0.0
	for i := range pp {
		d := math.Sqrt(pp[i]) - math.Sqrt(qq[i])
		s += d * d
	}
	return math.Sqrt(s) / math.Sqrt2, nil
}

func normalisePair(p, q []float64, op string) ([]float64, []float64, error) {
	if len(p) != len(q) {
		return nil, nil, fmt.Errorf("drift: %s: histograms have %d and %d bins", op, len(p), len(q))
	}
	sp, sq := 0.0, 0.0
	for i := range p {
		if p[i] < 0 || q[i] < 0 {
			return nil, nil, fmt.Errorf("drift: %s: negative count in bin %d", op, i)
		}
		sp += p[i]
		sq += q[i]
	}
	if sp == 0 || sq == 0 {
		return nil, nil, fmt.Errorf("drift: %s: %w", op, ErrEmpty)
	}
	pp := make([]float64, len(p))
	qq := make([]float64, len(q))
	for i := range p {
		pp[i] = p[i] / sp
		qq[i] = q[i] / sq
	}
	return pp, qq, nil
}

// HistogramEdges returns nbins+1 equal-width edges from lo to hi, computed
// as NumPy's linspace does (start + i·step, the last edge exactly hi).
func HistogramEdges(lo, hi float64, nbins int) []float64 {
	if lo == hi {
		lo, hi = lo-0.5, hi+0.5
	}
	e := make([]float64, nbins+1)
	step := (hi - lo) / float64(nbins)
	for i := range e {
		e[i] = float64(i)*step + lo
	}
	e[nbins] = hi
	return e
}

// SturgesBins is Sturges' bin count ⌈log2 n⌉+1 as NumPy computes it for
// the range of n values.
func SturgesBins(n int) int {
	if n <= 0 {
		return 1
	}
	return int(math.Ceil(math.Log2(float64(n)) + 1))
}

// Histogram counts xs into the bins of edges (the last bin closed, values
// outside dropped), assigning each value as NumPy's histogram does.
func Histogram(xs []float64, edges []float64) []float64 {
	nb := len(edges) - 1
	counts := make([]float64, nb)
	lo, hi := edges[0], edges[nb]
	norm := float64(nb) / (hi - lo)
	for _, x := range xs {
		if x < lo || x > hi || math.IsNaN(x) {
			continue
		}
		i := int((x - lo) * norm)
		if i >= nb {
			i = nb - 1
		}
		if i > 0 && x < edges[i] {
			i--
		} else if i < nb-1 && x >= edges[i+1] {
			i++
		}
		counts[i]++
	}
	return counts
}

// ADResult is an Anderson–Darling k-sample test's outcome.
type ADResult struct {
	Statistic float64    // the standardized statistic
	Critical  [7]float64 // critical values at the levels in ADLevels
	PValue    float64    // interpolated, capped to [0.001, 0.25]
}

// ADLevels are the significance levels of ADResult.Critical.
var ADLevels = [7]float64{0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.001}

// AndersonKSamp is Scholz and Stephens' (1987) k-sample Anderson–Darling
// test with midranks for ties (version A2akN), standardised, with the
// p-value interpolated from their critical-value table by a quadratic fit
// of log(level) against the critical values, and capped to [0.001, 0.25]
// outside the table, as SciPy's anderson_ksamp.
func AndersonKSamp(samples ...[]float64) (ADResult, error) {
	k := len(samples)
	if k < 2 {
		return ADResult{}, fmt.Errorf("drift: anderson-darling: need at least two samples, got %d", k)
	}
	var Z []float64
	for i, s := range samples {
		if len(s) == 0 {
			return ADResult{}, fmt.Errorf("drift: anderson-darling: sample %d: %w", i, ErrEmpty)
		}
		Z = append(Z, s...)
	}
	sort.Float64s(Z)
	N := len(Z)
	zstar := slices.Compact(slices.Clone(Z))
	if len(zstar) < 2 {
		return ADResult{}, fmt.Errorf("drift: anderson-darling: need more than one distinct value")
	}
	fN := float64(N)
	// lj: multiplicity of each distinct value; bj: its midrank position.
	lj := make([]float64, len(zstar))
	bj := make([]float64, len(zstar))
	pos := 0
	for u, z := range zstar {
		left := pos
		for pos < N && Z[pos] == z {
			pos++
		}
		lj[u] = float64(pos - left)
		bj[u] = float64(left) + lj[u]/2
	}
	A2 := 0.0
	H := 0.0
	for _, s := range samples {
		x := slices.Clone(s)
		sort.Float64s(x)
		ni := float64(len(x))
		H += 1 / ni
		inner := 0.0
		p := 0
		for u, z := range zstar {
			left := p
			for p < len(x) && x[p] < z {
				p++
			}
			left = p
			for p < len(x) && x[p] == z {
				p++
			}
			fij := float64(p - left)
			mij := float64(p) - fij/2
			num := fN*mij - bj[u]*ni
			inner += lj[u] / fN * num * num / (bj[u]*(fN-bj[u]) - fN*lj[u]/4)
		}
		A2 += inner / ni
	}
	A2 *= (fN - 1) / fN

	// h = Σ_{i=1}^{N-1} 1/i; g = Σ_{i=1}^{N-2} Σ_{j=i+1}^{N-1} 1/((N-i)j).
	var hs []float64
	acc := 0.0
	for i := N - 1; i > 1; i-- {
		acc += 1 / float64(i)
		hs = append(hs, acc)
	}
	h := acc + 1
	g := 0.0
	for i, v := range hs {
		g += v / float64(i+2)
	}
	fk := float64(k)
	a := (4*g-6)*(fk-1) + (10-6*g)*H
	b := (2*g-4)*fk*fk + 8*h*fk + (2*g-14*h-4)*H - 8*h + 4*g - 6
	c := (6*h+2*g-2)*fk*fk + (4*h-4*g+6)*fk + (2*h-6)*H + 4*h
	d := (2*h+6)*fk*fk - 4*h*fk
	sigma2 := (a*fN*fN*fN + b*fN*fN + c*fN + d) / ((fN - 1) * (fN - 2) * (fN - 3))
	m := fk - 1
	res := ADResult{Statistic: (A2 - m) / math.Sqrt(sigma2)}
	b0 := [7]float64{0.675, 1.281, 1.645, 1.96, 2.326, 2.573, 3.085}
	b1 := [7]float64{-0.245, 0.25, 0.678, 1.149, 1.822, 2.364, 3.615}
	b2 := [7]float64{-0.105, -0.305, -0.362, -0.391, -0.396, -0.345, -0.154}
	for i := range res.Critical {
		res.Critical[i] = b0[i] + b1[i]/math.Sqrt(m) + b2[i]/m
	}
	switch {
	case res.Statistic < res.Critical[0]:
		res.PValue = ADLevels[0]
	case res.Statistic > res.Critical[6]:
		res.PValue = ADLevels[6]
	default:
		// Least-squares quadratic through (critical, log level).
		A := mat.NewDense(7, 3, nil)
		y := mat.NewVecDense(7, nil)
		for i := 0; i < 7; i++ {
			x := res.Critical[i]
			A.Set(i, 0, x*x)
			A.Set(i, 1, x)
			A.Set(i, 2, 1)
			y.SetVec(i, math.Log(ADLevels[i]))
		}
		var coef mat.VecDense
		if err := coef.SolveVec(A, y); err != nil {
			return ADResult{}, fmt.Errorf("drift: anderson-darling: fit p-value: %w", err)
		}
		s := res.Statistic
		res.PValue = math.Exp((coef.AtVec(0)*s+coef.AtVec(1))*s + coef.AtVec(2))
	}
	return res, nil
}

// Bonferroni multiplies each p-value by their number, capped at 1.
func Bonferroni(p []float64) []float64 {
	out := make([]float64, len(p))
	for i, v := range p {
		out[i] = math.Min(1, v*float64(len(p)))
	}
	return out
}

// BenjaminiHochberg returns FDR-adjusted p-values (q-values): sorted
// ascending, p·m/rank, made monotone from the largest down, capped at 1.
func BenjaminiHochberg(p []float64) []float64 {
	m := len(p)
	idx := make([]int, m)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] < p[idx[b]] })
	out := make([]float64, m)
	prev := 1.0
	for r := m - 1; r >= 0; r-- {
		i := idx[r]
		v := math.Min(prev, p[i]*float64(m)/float64(r+1))
		out[i] = v
		prev = v
	}
	return out
}
