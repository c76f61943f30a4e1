package explain

import (
	"math"
	"testing"
)

func TestAnnotateCIAndContribution(t *testing.T) {
	// {location=CAN} in the SQL sample: o=38, n=257, O=38, N=1057. Every
	// outlier is in the segment, so the 2x2 table has an empty cell and
	// gets +0.5: a=38.5, b=219.5, c=0.5, d=800.5.
	r := &Result{Attributes: []string{"location"}, Outliers: 38, Total: 1057, Explanations: []Explanation{
		{Values: []string{"CAN"}, Order: 1, OutlierCount: 38, TotalCount: 257},
		{Values: []string{"v1"}, Order: 1, OutlierCount: 30, TotalCount: 279},
	}}
	ex := Annotate(r)
	a, b, c, d := 38.5, 219.5, 0.5, 800.5
	rr := (a / (a + b)) / (c / (c + d))
	se := math.Sqrt(1/a - 1/(a+b) + 1/c - 1/(c+d))
	if !close(ex[0].RiskLow, rr*math.Exp(-1.959963984540054*se)) || !close(ex[0].RiskHigh, rr*math.Exp(1.959963984540054*se)) {
		t.Errorf("CI %v..%v, want around %v", ex[0].RiskLow, ex[0].RiskHigh, rr)
	}
	// All outliers are in CAN and none outside: contribution 1.
	if ex[0].Contribution != 1 {
		t.Errorf("contribution %v, want 1", ex[0].Contribution)
	}
	// v1: rest rate 8/778; (30 - 279·8/778)/38.
	if want := (30 - 279*8.0/778) / 38; !close(ex[1].Contribution, want) {
		t.Errorf("contribution %v, want %v", ex[1].Contribution, want)
	}
	// Wald interval without empty cells: o=30, n=279 -> 30, 249, 8, 770.
	rr = (30.0 / 279) / (8.0 / 778)
	se = math.Sqrt(1.0/30 - 1.0/279 + 1.0/8 - 1.0/778)
	if !close(ex[1].RiskLow, rr*math.Exp(-1.959963984540054*se)) {
		t.Errorf("CI low %v", ex[1].RiskLow)
	}
}

func TestRemoveRedundant(t *testing.T) {
	r := &Result{Attributes: []string{"a", "b"}, Explanations: []Explanation{
		{Values: []string{"x", ""}, Order: 1, Support: 0.60, Ratio: 10},
		{Values: []string{"x", "y"}, Order: 2, Support: 0.58, Ratio: 10.2}, // within 5% of {x}: redundant
		{Values: []string{"", "z"}, Order: 1, Support: 0.50, Ratio: 4},
		{Values: []string{"w", "z"}, Order: 2, Support: 0.49, Ratio: 9}, // ratio far above {z}: kept
	}}
	RemoveRedundant(r, 0.05)
	if len(r.Explanations) != 3 || r.Explanations[1].Values[1] != "z" || r.Explanations[2].Values[0] != "w" {
		t.Fatalf("got %+v", r.Explanations)
	}
}

func TestMADRobustZ(t *testing.T) {
	// NaN ignored; median 10.5, residuals .5 .5 1.5 1.5 2.5 89.5 -> MAD 1.5;
	// z = |x - 10.5| / (1.5·1.4826).
	f := &Frame{Rows: 7, Cols: []FrameColumn{{Name: "m", Num: []float64{10, 9, 11, 8, 12, 100, math.NaN()}}}}
	flags, err := ClassifierSpec{MAD: "m", MADZ: 0.8}.Classify(f)
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{false, false, false, true, false, true, false} // z: .22 .67 .22 1.12 .67 40.2 NaN
	for i := range want {
		if flags[i] != want[i] {
			t.Fatalf("flags %v, want %v", flags, want)
		}
	}
}
