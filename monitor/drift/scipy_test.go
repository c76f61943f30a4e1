package drift

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"sort"
	"testing"
)

// expected is testdata/scipy_expected.json, written by
// testdata/scipy_expected.py with SciPy.
type expected struct {
	SciPy string `json:"scipy"`
	KS    []struct {
		A, B      []float64
		Method    KSMethod
		Statistic float64
		PValue    float64 `json:"p_value"`
	}
	Wasserstein []struct {
		Case     int
		Distance float64
	}
	Hist []struct {
		Case          int
		RefCounts     []float64 `json:"ref_counts"`
		CurCounts     []float64 `json:"cur_counts"`
		JensenShannon float64
		PSI           float64
		Hellinger     float64
	}
	Chi2 []struct {
		A, B          []string
		Statistic     float64
		PValue        float64 `json:"p_value"`
		DoF           int
		JensenShannon float64
		PSI           float64
		Hellinger     float64
	}
	Z []struct {
		K1, N1, K2, N2 float64
		Statistic      float64
		PValue         float64 `json:"p_value"`
	}
	Anderson []struct {
		Samples   [][]float64
		Statistic float64
		Critical  []float64
		PValue    float64 `json:"p_value"`
	}
}

const tol = 1e-9

// close reports |got-want| <= 1e-9, relative to |want| when it exceeds 1.
func close(got, want float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

func loadExpected(t *testing.T) *expected {
	t.Helper()
	b, err := os.ReadFile("testdata/scipy_expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var e expected
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return &e
}

func TestSciPy(t *testing.T) {
	e := loadExpected(t)
	t.Logf("expected values from SciPy %s", e.SciPy)
	for i, c := range e.KS {
		r, err := KS2Samp(c.A, c.B, c.Method)
		if err != nil {
			t.Fatal(err)
		}
		if !close(r.Statistic, c.Statistic) || !close(r.PValue, c.PValue) {
			t.Errorf("ks case %d (%d vs %d, %s→%s): D=%.17g p=%.17g, SciPy D=%.17g p=%.17g (diff %.3g)",
				i, len(c.A), len(c.B), c.Method, r.Method, r.Statistic, r.PValue, c.Statistic, c.PValue, r.PValue-c.PValue)
		}
	}
	for _, c := range e.Wasserstein {
		k := e.KS[c.Case]
		got, err := Wasserstein(k.A, k.B)
		if err != nil {
			t.Fatal(err)
		}
		if !close(got, c.Distance) {
			t.Errorf("wasserstein case %d: %.17g, SciPy %.17g", c.Case, got, c.Distance)
		}
	}
	for _, c := range e.Hist {
		k := e.KS[c.Case]
		lo := math.Min(slices.Min(k.A), slices.Min(k.B))
		hi := math.Max(slices.Max(k.A), slices.Max(k.B))
		edges := HistogramEdges(lo, hi, SturgesBins(len(k.A)+len(k.B)))
		p, q := Histogram(k.A, edges), Histogram(k.B, edges)
		if !slices.Equal(p, c.RefCounts) || !slices.Equal(q, c.CurCounts) {
			t.Errorf("histogram case %d: %v %v, NumPy %v %v", c.Case, p, q, c.RefCounts, c.CurCounts)
			continue
		}
		checkHist(t, "numeric case", c.Case, p, q, c.JensenShannon, c.PSI, c.Hellinger)
	}
	for i, c := range e.Chi2 {
		keys := slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(c.A), c.B...))))
		p := countCats(c.A, keys)
		q := countCats(c.B, keys)
		r, err := Chi2Contingency([][]float64{p, q})
		if err != nil {
			t.Fatal(err)
		}
		if !close(r.Statistic, c.Statistic) || !close(r.PValue, c.PValue) || r.DoF != c.DoF {
			t.Errorf("chi2 case %d: %+v, SciPy stat %.17g p %.17g dof %d", i, r, c.Statistic, c.PValue, c.DoF)
		}
		checkHist(t, "categorical case", i, p, q, c.JensenShannon, c.PSI, c.Hellinger)
	}
	for i, c := range e.Z {
		r, err := ZProportions(c.K1, c.N1, c.K2, c.N2)
		if err != nil {
			t.Fatal(err)
		}
		if !close(r.Statistic, c.Statistic) || !close(r.PValue, c.PValue) {
			t.Errorf("z case %d: %+v, SciPy z %.17g p %.17g", i, r, c.Statistic, c.PValue)
		}
	}
	for i, c := range e.Anderson {
		r, err := AndersonKSamp(c.Samples...)
		if err != nil {
			t.Fatal(err)
		}
		if !close(r.Statistic, c.Statistic) || !close(r.PValue, c.PValue) {
			t.Errorf("anderson case %d: A=%.17g p=%.17g, SciPy A=%.17g p=%.17g", i, r.Statistic, r.PValue, c.Statistic, c.PValue)
		}
		for j := range c.Critical {
			if !close(r.Critical[j], c.Critical[j]) {
				t.Errorf("anderson case %d: critical[%d] %.17g, SciPy %.17g", i, j, r.Critical[j], c.Critical[j])
			}
		}
	}
}

func countCats(xs, keys []string) []float64 {
	out := make([]float64, len(keys))
	for _, x := range xs {
		out[sort.SearchStrings(keys, x)]++
	}
	return out
}

func checkHist(t *testing.T, what string, i int, p, q []float64, js, psi, hel float64) {
	t.Helper()
	gotJS, err := JensenShannon(p, q)
	if err != nil {
		t.Fatal(err)
	}
	gotPSI, _ := PSI(p, q)
	gotHel, _ := Hellinger(p, q)
	if !close(gotJS, js) || !close(gotPSI, psi) || !close(gotHel, hel) {
		t.Errorf("%s %d: JS %.17g PSI %.17g Hellinger %.17g; SciPy/NumPy %.17g %.17g %.17g", what, i, gotJS, gotPSI, gotHel, js, psi, hel)
	}
}
