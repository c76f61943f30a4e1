package drift

import "math"

// Scaling constants for the matrix and recursion algorithms below: values
// are rescaled by 2^128 whenever they leave [2^-128, 2^128] so that
// intermediate products neither overflow nor underflow.
const e128 = 128

var (
	ep128 = math.Ldexp(1, e128)
	em128 = math.Ldexp(1, -e128)
)

// kolmogorovSF is Pr(D_n > x) for the two-sided one-sample
// Kolmogorov–Smirnov statistic D_n, following Simard & L'Ecuyer (2011)'s
// choice of method by n and n·x²: the Ruben–Gambino closed forms near the
// ends, the Durbin matrix (Marsaglia–Tsang–Wang), Pomeranz's recursion, the
// exact one-sided Smirnov sum doubled, and the Pelz–Good asymptotic series.
// The regions are those SciPy's kstwo uses, so the two agree closely.
func kolmogorovSF(n int, x float64) float64 {
	if n <= 0 || math.IsNaN(x) {
		return math.NaN()
	}
	if x >= 1 {
		return 0
	}
	if x <= 0 {
		return 1
	}
	fn := float64(n)
	t := fn * x
	if t <= 1 {
		if t <= 0.5 {
			return 1
		}
		var cdf float64
		if n <= 140 {
			cdf = 1
			for i := 1; i <= n; i++ {
				cdf *= float64(i) * (1 / fn) * (2*t - 1)
			}
		} else {
			cdf = math.Exp(logFactorialOverPow(fn) + fn*math.Log(2*t-1))
		}
		return clip01(1 - cdf)
	}
	if t >= fn-1 {
		return clip01(2 * math.Pow(1-x, fn))
	}
	if x >= 0.5 {
		return clip01(2 * smirnovSF(n, x))
	}
	nx2 := t * x
	if n <= 140 {
		switch {
		case nx2 <= 0.754693:
			return clip01(1 - durbinCDF(n, x))
		case nx2 <= 4:
			return clip01(1 - pomeranzCDF(n, x))
		default:
			return clip01(2 * smirnovSF(n, x))
		}
	}
	if nx2 >= 370 {
		return 0
	}
	if nx2 >= 2.2 {
		return clip01(2 * smirnovSF(n, x))
	}
	var cdf float64
	switch {
	case nx2 >= 18:
		cdf = 1
	case n <= 100000 && fn*math.Pow(x, 1.5) <= 1.4:
		cdf = durbinCDF(n, x)
	default:
		cdf = pelzGoodCDF(n, x)
	}
	return clip01(1 - cdf)
}

func clip01(p float64) float64 { return math.Min(1, math.Max(0, p)) }

// logFactorialOverPow is log(n!/n^n) by Stirling's series.
func logFactorialOverPow(n float64) float64 {
	coeffs := [...]float64{-2.955065359477124183e-2, 6.4102564102564102564e-3,
		-1.9175269175269175269e-3, 8.4175084175084175084e-4,
		-5.952380952380952381e-4, 7.9365079365079365079e-4,
		-2.7777777777777777778e-3, 8.3333333333333333333e-2}
	rn := 1 / n
	u := rn / n
	poly := 0.0
	for _, c := range coeffs {
		poly = poly*u + c
	}
	return math.Log(n)/2 - n + math.Log(2*math.Pi)/2 + rn*poly
}

// smirnovSF is the one-sided Pr(D_n^+ >= x) by the Birnbaum–Tingey sum
//
//	x · Σ_{j=0}^{⌊n(1-x)⌋} C(n,j) (1-x-j/n)^(n-j) (x+j/n)^(j-1),
//
// each term evaluated in logs; every term is positive so the sum is stable.
func smirnovSF(n int, x float64) float64 {
	if x <= 0 {
		return 1
	}
	if x >= 1 {
		return 0
	}
	fn := float64(n)
	jmax := int(math.Floor(fn * (1 - x)))
	lgn, _ := math.Lgamma(fn + 1)
	sum := 0.0
	for j := 0; j <= jmax; j++ {
		fj := float64(j)
		a := 1 - x - fj/fn
		if a <= 0 {
			// Only the j = n(1-x) term of an exact lattice point; (0)^(n-j) = 0
			// unless n-j = 0.
			if n-j == 0 {
				a = 1
			} else {
				continue
			}
		}
		lj, _ := math.Lgamma(fj + 1)
		lnj, _ := math.Lgamma(fn - fj + 1)
		l := lgn - lj - lnj + (fn-fj)*math.Log(a) + (fj-1)*math.Log(x+fj/fn)
		sum += math.Exp(l)
	}
	return clip01(x * sum)
}

// durbinCDF is Pr(D_n <= d) by Durbin's matrix method with
// Marsaglia–Tsang–Wang's scaling: the (k,k) entry of H^n times n!/n^n.
func durbinCDF(n int, d float64) float64 {
	if d >= 1 {
		return 1
	}
	nd := float64(n) * d
	if nd <= 0.5 {
		return 0
	}
	k := int(math.Ceil(nd))
	h := float64(k) - nd
	m := 2*k - 1
	v := make([]float64, m)
	w := make([]float64, m)
	fac := 1.0
	for j := 1; j <= m; j++ {
		w[j-1] = fac
		fac /= float64(j)
		v[j-1] = (1 - math.Pow(h, float64(j))) * fac
	}
	tt := math.Pow(math.Max(2*h-1, 0), float64(m)) - 2*math.Pow(h, float64(m))
	v[m-1] = (1 + tt) * fac
	H := make([]float64, m*m)
	for i := 1; i < m; i++ {
		for r := i - 1; r < m; r++ {
			H[r*m+i] = w[r-(i-1)]
		}
	}
	for r := 0; r < m; r++ {
		H[r*m] = v[r]
	}
	for c := 0; c < m; c++ {
		H[(m-1)*m+c] = v[m-1-c]
	}
	P := make([]float64, m*m)
	for i := 0; i < m; i++ {
		P[i*m+i] = 1
	}
	tmp := make([]float64, m*m)
	expnt, hexpnt := 0, 0
	for nn := n; nn > 0; nn /= 2 {
		if nn%2 == 1 {
			matmul(tmp, P, H, m)
			P, tmp = tmp, P
			expnt += hexpnt
		}
		matmul(tmp, H, H, m)
		H, tmp = tmp, H
		hexpnt *= 2
		if math.Abs(H[(k-1)*m+k-1]) > ep128 {
			for i := range H {
				H[i] /= ep128
			}
			hexpnt += e128
		}
	}
	p := P[(k-1)*m+k-1]
	fn := float64(n)
	for i := 1; i <= n; i++ {
		p = float64(i) * p / fn
		if math.Abs(p) < em128 {
			p *= ep128
			expnt -= e128
		}
	}
	if expnt != 0 {
		p = math.Ldexp(p, expnt)
	}
	return clip01(p)
}

// matmul sets dst = a·b for m×m row-major matrices.
func matmul(dst, a, b []float64, m int) {
	for i := 0; i < m; i++ {
		row := dst[i*m : (i+1)*m]
		for j := range row {
			row[j] = 0
		}
		for l := 0; l < m; l++ {
			ail := a[i*m+l]
			if ail == 0 {
				continue
			}
			bl := b[l*m : (l+1)*m]
			for j := range row {
				row[j] += ail * bl[j]
			}
		}
	}
}

// pomeranzJ returns the column interval of row i of Pomeranz's recursion.
func pomeranzJ(i, n, ll, ceilf, roundf int) (int, int) {
	var j1, j2 int
	if i == 0 {
		j1, j2 = -ll-ceilf-1, ll+ceilf-1
	} else {
		half, odd := (i+1)/2, (i+1)%2
		if odd == 0 { // i is odd
			if half == n+1 {
				j1, j2 = n-ll-ceilf-1, n+ll+ceilf-1
			} else {
				j1, j2 = half-1-ll-roundf-1, half+ll-1+ceilf-1
			}
		} else {
			j1, j2 = half-1-ll-1, half+ll+roundf-1
		}
	}
	return max(j1+2, 0), min(j2, n)
}

// pomeranzCDF is Pr(D_n <= x) by Pomeranz's (1974) recursion.
func pomeranzCDF(n int, x float64) float64 {
	fn := float64(n)
	t := fn * x
	ll := int(math.Floor(t))
	f := t - float64(ll)
	g := math.Min(f, 1-f)
	ceilf, roundf := 0, 0
	if f > 0 {
		ceilf = 1
	}
	if f > 0.5 {
		roundf = 1
	}
	np := 2 * (ll + 1)
	gp := make([]float64, np)
	g2p := make([]float64, np)
	g12p := make([]float64, np)
	gp[0], g2p[0], g12p[0] = 1, 1, 1
	for m := 1; m < np; m++ {
		fm := float64(m)
		gp[m] = gp[m-1] * (g / fn) / fm
		g2p[m] = g2p[m-1] * (2 * g / fn) / fm
		g12p[m] = g12p[m-1] * ((1 - 2*g) / fn) / fm
	}
	V0 := make([]float64, np)
	V1 := make([]float64, np)
	V1[0] = 1
	v0s, v1s := 0, 0
	expnt := 0
	j1, j2 := pomeranzJ(0, n, ll, ceilf, roundf)
	for i := 1; i < 2*n+2; i++ {
		k1 := j1
		V0, V1 = V1, V0
		v0s, v1s = v1s, v0s
		for j := range V1 {
			V1[j] = 0
		}
		j1, j2 = pomeranzJ(i, n, ll, ceilf, roundf)
		pw := g12p
		if i == 1 || i == 2*n+1 {
			pw = gp
		} else if i%2 == 1 {
			pw = g2p
		}
		ln2 := j2 - k1 + 1
		if ln2 > 0 {
			// V1[c] = conv(V0[k1-v0s:], pw)[j1-k1+c] for c < j2-j1+1.
			src := V0[k1-v0s:]
			start := j1 - k1
			mx := 0.0
			for c := 0; c < j2-j1+1; c++ {
				idx := start + c
				s := 0.0
				for a := 0; a <= idx && a < ln2; a++ {
					b := idx - a
					if b >= ln2 || b >= len(pw) || a >= len(src) {
						continue
					}
					s += src[a] * pw[b]
				}
				V1[c] = s
				mx = math.Max(mx, s)
			}
			if mx > 0 && mx < em128 {
				for c := range V1 {
					V1[c] *= ep128
				}
				expnt -= e128
			}
			v1s = v0s + j1 - k1
		}
	}
	ans := V1[n-v1s]
	for m := 1; m <= n; m++ {
		if math.Abs(ans) > ep128 {
			ans *= em128
			expnt += e128
		}
		ans *= float64(m)
	}
	if expnt != 0 {
		ans = math.Ldexp(ans, expnt)
	}
	return clip01(ans)
}

// pelzGoodCDF is the Pelz–Good (1976) approximation of Pr(D_n <= x):
// Li-Chien and Korolyuk's expansion K0 + K1/√n + K2/n + K3/n^1.5 in z = x√n,
// with each term rewritten through Jacobi theta functions for small z.
func pelzGoodCDF(n int, x float64) float64 {
	if x <= 0 {
		return 0
	}
	if x >= 1 {
		return 1
	}
	pi2, pi4, pi6 := math.Pi*math.Pi, math.Pow(math.Pi, 4), math.Pow(math.Pi, 6)
	sqrt2pi := math.Sqrt(2 * math.Pi)
	z := math.Sqrt(float64(n)) * x
	z2, z3, z4, z6 := z*z, z*z*z, math.Pow(z, 4), math.Pow(z, 6)
	qlog := -pi2 / 8 / z2
	if qlog < -708 {
		return 0
	}
	q := math.Exp(qlog)
	k1a, k1b := -z2, pi2/4
	k2a := 6*z6 + 2*z4
	k2b := (2*z4 - 5*z2) * pi2 / 4
	k2c := pi4 * (1 - 2*z2) / 16
	k3d := pi6 * (5 - 30*z2) / 64
	k3c := pi4 * (-60*z2 + 212*z4) / 16
	k3b := pi2 * (135*z4 - 96*z6) / 4
	k3a := -30*z6 - 90*math.Pow(z, 8)
	var K [4]float64
	maxk := int(math.Ceil(16 * z / math.Pi))
	for k := maxk; k > 0; k-- {
		m := float64(2*k - 1)
		m2, m4, m6 := m*m, math.Pow(m, 4), math.Pow(m, 6)
		qp := math.Pow(q, float64(8*k))
		c := [4]float64{1, k1a + k1b*m2, k2a + k2b*m2 + k2c*m4, k3a + k3b*m2 + k3c*m4 + k3d*m6}
		for i := range K {
			K[i] = K[i]*qp + c[i]
		}
	}
	div := [4]float64{z, 6 * z4, 72 * math.Pow(z, 7), 6480 * math.Pow(z, 10)}
	for i := range K {
		K[i] = K[i] * q * sqrt2pi / div[i]
	}
	q = math.Exp(-pi2 / 2 / z2)
	sqrt3z := math.Sqrt(3) * z
	k2extra, k3extra := 0.0, 0.0
	for k := maxk; k > 0; k-- {
		fk := float64(k)
		qk := math.Pow(q, fk*fk)
		k2extra += fk * fk * qk
		kspi := math.Pi * fk
		k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * fk * fk * qk
	}
	K[2] += k2extra * pi2 * sqrt2pi / (-36 * z3)
	K[3] += k3extra * pi2 * sqrt2pi / (216 * z6)
	sum := 0.0
	for i := range K {
		sum += K[i] / math.Pow(float64(n), float64(i)/2)
	}
	return sum
}
