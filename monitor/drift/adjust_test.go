package drift

import (
	"errors"
	"testing"
)

func TestAdjust(t *testing.T) {
	p := []float64{0.01, 0.04, 0.03, 0.2}
	// By hand: sorted 0.01,0.03,0.04,0.2 → ×4/rank = 0.04,0.06,0.0533,0.2;
	// monotone from the top: 0.04, 0.0533, 0.0533, 0.2.
	wantBH := []float64{0.04, 0.16 / 3, 0.16 / 3, 0.2}
	for i, v := range BenjaminiHochberg(p) {
		if !close(v, wantBH[i]) {
			t.Errorf("BH[%d] = %v, want %v", i, v, wantBH[i])
		}
	}
	wantB := []float64{0.04, 0.16, 0.12, 0.8}
	for i, v := range Bonferroni(p) {
		if !close(v, wantB[i]) {
			t.Errorf("Bonferroni[%d] = %v, want %v", i, v, wantB[i])
		}
	}
}

func TestErrors(t *testing.T) {
	if _, err := KS2Samp(nil, []float64{1}, KSAuto); !errors.Is(err, ErrEmpty) {
		t.Errorf("KS on empty: %v", err)
	}
	if _, err := KS2Samp([]float64{1}, []float64{1}, "fast"); err == nil {
		t.Error("KS with unknown method: no error")
	}
	if _, err := Chi2Contingency([][]float64{{1, 0}, {2, 0}}); err == nil {
		t.Error("chi2 with an empty column: no error")
	}
	if _, err := AndersonKSamp([]float64{1, 1}, []float64{1}); err == nil {
		t.Error("anderson with one distinct value: no error")
	}
	if _, err := JensenShannon([]float64{1}, []float64{1, 2}); err == nil {
		t.Error("JS with unequal bins: no error")
	}
	// Identical samples: D = 0, p = 1.
	r, _ := KS2Samp([]float64{1, 2, 3}, []float64{3, 2, 1}, KSAuto)
	if r.Statistic != 0 || r.PValue != 1 {
		t.Errorf("identical samples: %+v", r)
	}
}
