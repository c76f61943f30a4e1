package explain

import (
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"

	"github.com/dawn-ml/dawn/internal/javarand"
)

// MCD is the minimum covariance determinant estimator MacroBase uses for
// several metrics (FastMCD's C-steps from one random start): fit a mean and
// covariance on the h = floor((n+p+1)·Alpha) most central points and score
// every point by its Mahalanobis distance.
type MCD struct {
	Alpha         float64 // 0 means 0.5
	StoppingDelta float64 // 0 means 1e-3
	Seed          int64   // the random start, drawn as java.util.Random would
}

// Scores returns the Mahalanobis distance of every row; metrics holds one
// slice per metric. Rows with a NaN metric score NaN.
func (m MCD) Scores(metrics [][]float64) ([]float64, error) {
	p := len(metrics)
	if p < 2 {
		return nil, fmt.Errorf("explain: MCD needs at least 2 metrics, got %d", p)
	}
	n := len(metrics[0])
	for j, c := range metrics {
		if len(c) != n {
			return nil, fmt.Errorf("explain: MCD: metric %d has %d rows, metric 0 has %d", j, len(c), n)
		}
	}
	alpha, delta := m.Alpha, m.StoppingDelta
	if alpha == 0 {
		alpha = 0.5
	}
	if delta == 0 {
		delta = 1e-3
	}
	// The rows with every metric present take part in the fit.
	var data []int
	for i := 0; i < n; i++ {
		ok := true
		for j := 0; j < p; j++ {
			if math.IsNaN(metrics[j][i]) || math.IsInf(metrics[j][i], 0) {
				ok = false
			}
		}
		if ok {
			data = append(data, i)
		}
	}
	h := int(math.Floor(float64(len(data)+p+1) * alpha))
	if h <= p || h >= len(data) {
		return nil, fmt.Errorf("explain: MCD: %d usable rows are too few for %d metrics", len(data), p)
	}
	row := func(i int, v []float64) {
		for j := range v {
			v[j] = metrics[j][i]
		}
	}
	mean, inv := cSteps(data, n, p, h, delta, javarand.New(m.Seed), row)
	return scoreAll(metrics, mean, inv), nil
}

// cSteps runs FastMCD from one random start of h of the rows in data (row
// numbers below n; data is reordered) and returns the final mean and
// inverse covariance.
func cSteps(data []int, n, p, h int, delta float64, rnd *javarand.Random, row func(int, []float64)) ([]float64, *mat.Dense) {
	chosen := map[int]bool{}
	subset := make([]int, 0, h)
	for len(subset) < h {
		i := int(rnd.Intn(int32(len(data))))
		if !chosen[i] {
			chosen[i] = true
			subset = append(subset, data[i])
		}
	}
	mean, inv, det := fitGaussian(subset, p, row)
	dist := make([]float64, n)
	buf := make([]float64, p)
	for {
		for _, i := range data {
			row(i, buf)
			dist[i] = mahalanobis(mean, inv, buf)
		}
		// Java's List.sort is stable and sorts the list in place, so ties
		// keep the previous step's order.
		sort.SliceStable(data, func(a, b int) bool { return dist[data[a]] < dist[data[b]] })
		var det2 float64
		mean, inv, det2 = fitGaussian(data[:h], p, row)
		if det2 == 0 || det-det2 < delta {
			break
		}
		det = det2
	}
	return mean, inv
}

// Gaussian is a fitted location and scatter: Distance is the Mahalanobis
// distance of a point from it.
type Gaussian struct {
	Mean []float64
	Inv  *mat.Dense
}

// Distance returns the Mahalanobis distance of v (len(Mean) values).
func (g *Gaussian) Distance(v []float64) float64 { return mahalanobis(g.Mean, g.Inv, v) }

// Fit fits the MCD to points (one slice of p metrics per point, all
// finite), drawing the random start from rnd as MacroBase's MinCovDet
// draws it from its java.util.Random, so repeated fits continue one
// sequence. It needs more than p+1 points.
func (m MCD) Fit(points [][]float64, rnd *javarand.Random) (*Gaussian, error) {
	if len(points) == 0 {
		return nil, fmt.Errorf("explain: MCD: no points")
	}
	p := len(points[0])
	alpha, delta := m.Alpha, m.StoppingDelta
	if alpha == 0 {
		alpha = 0.5
	}
	if delta == 0 {
		delta = 1e-3
	}
	h := int(math.Floor(float64(len(points)+p+1) * alpha))
	if p < 2 || h <= p || h >= len(points) {
		return nil, fmt.Errorf("explain: MCD: %d points are too few for %d metrics", len(points), p)
	}
	data := make([]int, len(points))
	for i := range data {
		data[i] = i
	}
	mean, inv := cSteps(data, len(points), p, h, delta, rnd, func(i int, v []float64) { copy(v, points[i]) })
	return &Gaussian{Mean: mean, Inv: inv}, nil
}

func scoreAll(metrics [][]float64, mean []float64, inv *mat.Dense) []float64 {
	n, p := len(metrics[0]), len(metrics)
	out := make([]float64, n)
	buf := make([]float64, p)
	for i := 0; i < n; i++ {
		for j := range buf {
			buf[j] = metrics[j][i]
		}
		out[i] = mahalanobis(mean, inv, buf)
	}
	return out
}

// fitGaussian returns the mean, the inverse covariance (pseudo-inverse when
// singular) and the covariance determinant of the rows (n-1 normalised).
func fitGaussian(rows []int, p int, row func(int, []float64)) ([]float64, *mat.Dense, float64) {
	mean := make([]float64, p)
	v := make([]float64, p)
	for _, i := range rows {
		row(i, v)
		for j := range v {
			mean[j] += v[j]
		}
	}
	for j := range mean {
		mean[j] /= float64(len(rows))
	}
	cov := mat.NewDense(p, p, nil)
	for _, i := range rows {
		row(i, v)
		for a := 0; a < p; a++ {
			for b := 0; b < p; b++ {
				cov.Set(a, b, cov.At(a, b)+(v[a]-mean[a])*(v[b]-mean[b]))
			}
		}
	}
	cov.Scale(1/float64(len(rows)-1), cov)
	det := mat.Det(cov)
	var inv mat.Dense
	if err := inv.Inverse(cov); err != nil || det == 0 {
		var svd mat.SVD
		svd.Factorize(cov, mat.SVDFull)
		var u, vt mat.Dense
		svd.UTo(&u)
		svd.VTo(&vt)
		vals := svd.Values(nil)
		d := mat.NewDense(p, p, nil)
		for j, s := range vals {
			if s > 1e-12*vals[0] {
				d.Set(j, j, 1/s)
			}
		}
		inv.Reset()
		inv.Product(&vt, d, u.T())
	}
	return mean, &inv, det
}

func mahalanobis(mean []float64, inv *mat.Dense, v []float64) float64 {
	var s float64
	for a := range mean {
		da := v[a] - mean[a]
		for b := range mean {
			s += da * (v[b] - mean[b]) * inv.At(a, b)
		}
	}
	if s < 0 {
		s = 0
	}
	return math.Sqrt(s)
}
