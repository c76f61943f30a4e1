package explain

import (
	"testing"
)

// UnsupervisedCSVTest (FPGrowth summarizer) on lib/sample.csv.
func TestFPGrowthLib(t *testing.T) {
	f := loadLib(t, "lib/sample.csv")
	usage, _ := f.Numbers("usage")
	both, _, _, err := Percentile{Cutoff: 1, High: true, Low: true}.Classify(usage)
	if err != nil {
		t.Fatal(err)
	}
	low, _, _, err := Percentile{Cutoff: 2, Low: true}.Classify(usage)
	if err != nil {
		t.Fatal(err)
	}
	a := attrs(t, f, "location", "version")
	for _, tc := range []struct {
		name  string
		flags []bool
		opt   FPOptions
		want  map[string]want
	}{
		{"defaults", both, FPOptions{MinSupport: 0.1, MinRatio: 3, Combinations: true}, map[string]want{
			"version=v3":              {0.65, 5.159090909090909, 13, 0},
			"location=CAN":            {0.55, 4.444444444444445, 11, 0},
			"location=CAN,version=v3": {0.5, 50, 10, 0},
		}},
		{"risk ratio 5", both, FPOptions{MinSupport: 0.1, MinRatio: 5, Combinations: true}, map[string]want{
			"version=v3": {0.65, 5.159090909090909, 13, 0},
		}},
		{"support 0.55", both, FPOptions{MinSupport: 0.55, MinRatio: 3, Combinations: true}, map[string]want{
			"version=v3":   {0.65, 5.159090909090909, 13, 0},
			"location=CAN": {0.55, 4.444444444444445, 11, 0},
		}},
		{"no combinations", both, FPOptions{MinSupport: 0.1, MinRatio: 3}, map[string]want{
			"version=v3":   {0.65, 5.159090909090909, 13, 0},
			"location=CAN": {0.55, 4.444444444444445, 11, 0},
		}},
		{"low tail 2%", low, FPOptions{MinSupport: 0.1, MinRatio: 3}, map[string]want{
			"location=CAN": {0.95, 69.0909090909091, 19, 0},
			"version=v3":   {0.90, 25.0, 18, 0},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := FPGrowth(a, Labels{Outlier: tc.flags}, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Explanations) != len(tc.want) {
				t.Fatalf("got %v, want %d itemsets", keys(r), len(tc.want))
			}
			for _, e := range r.Explanations {
				w, ok := tc.want[key(r, e)]
				if !ok {
					t.Fatalf("unexpected %s", key(r, e))
				}
				if !close(e.Support, w.support) || !close(e.Ratio, w.ratio) || e.OutlierCount != w.o {
					t.Errorf("%s: support %v ratio %v count %v; want %v %v %v", key(r, e), e.Support, e.Ratio, e.OutlierCount, w.support, w.ratio, w.o)
				}
			}
			if tc.name == "low tail 2%" && r.Explanations[0].Support <= 0.9 {
				t.Errorf("first itemset support %v, want > 0.9", r.Explanations[0].Support)
			}
		})
	}
}

// classicRun is MacroBase's legacy batch pipeline: optional 1/x transform,
// MAD or MCD scores, the 0.99 score percentile, then FP-growth.
func classicRun(t *testing.T, f *Frame, attrNames, metricNames []string, low bool, mcd MCD, support, ratio float64) *Result {
	t.Helper()
	var ms [][]float64
	for _, m := range metricNames {
		v, err := f.Numbers(m)
		if err != nil {
			t.Fatal(err)
		}
		if low {
			v = LowMetric(v)
		}
		ms = append(ms, v)
	}
	flags, _, err := Classic{MCD: mcd}.Classify(ms)
	if err != nil {
		t.Fatal(err)
	}
	r, err := FPGrowth(attrs(t, f, attrNames...), Labels{Outlier: flags}, FPOptions{MinSupport: support, MinRatio: ratio, Combinations: true})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// legacy BasicBatchedPipelineTest.
func TestClassicPipeline(t *testing.T) {
	simple := loadLib(t, "legacy/simple.csv")
	sensor := loadLib(t, "legacy/sensor10k.csv.gz")
	if sensor.Rows != 10479 || simple.Rows != 100 {
		t.Fatalf("rows %d and %d", sensor.Rows, simple.Rows)
	}
	t.Run("MAD", func(t *testing.T) {
		r := classicRun(t, simple, []string{"A1", "A2", "A3", "A4"}, []string{"A5"}, true, MCD{}, 0.01, 0.01)
		if got := keys(r); len(got) != 1 || got[0] != "A1=0,A2=1,A3=2,A4=3" {
			t.Fatalf("got %v, want [A1=0,A2=1,A3=2,A4=3]", got)
		}
		if r.Total != 100 {
			t.Errorf("inliers+outliers = %v, want 100", r.Total)
		}
	})
	t.Run("MCD", func(t *testing.T) {
		r := classicRun(t, simple, []string{"A1", "A2", "A3"}, []string{"A4", "A5"}, true, MCD{Alpha: 0.05, StoppingDelta: 1e-3, Seed: 0}, 0.01, 0.01)
		if got := keys(r); len(got) != 1 || got[0] != "A1=0,A2=1,A3=2" {
			t.Fatalf("got %v, want [A1=0,A2=1,A3=2]", got)
		}
	})
	t.Run("sensor power", func(t *testing.T) {
		r := classicRun(t, sensor, []string{"device_id"}, []string{"power_drain"}, false, MCD{}, 0.01, 0.01)
		if got := keys(r); len(got) != 1 || got[0] != "device_id=2040" {
			t.Fatalf("got %v, want [device_id=2040]", got)
		}
	})
	t.Run("sensor temperature", func(t *testing.T) {
		r := classicRun(t, sensor, []string{"device_id", "model", "firmware_version"}, []string{"temperature"}, true, MCD{}, 0.5, 3)
		got := keys(r)
		if len(got) != 3 || got[2] != "model=M101,firmware_version=0.4" {
			t.Fatalf("got %v, want 3 itemsets, the third model=M101,firmware_version=0.4", got)
		}
	})
}

// APLCountMeanShiftSummarizerTest on lib/sample_cubedshift.csv.
func TestMeanShiftCube(t *testing.T) {
	f := loadLib(t, "lib/sample_cubedshift.csv")
	tm, _ := f.Numbers("time")
	cnt, _ := f.Numbers("count")
	mean, _ := f.Numbers("meanLatency")
	group, err := Predicate{Column: "time", Op: OpEq, Value: "1"}.ClassifyNumbers(tm)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ExplainMeanShift(attrs(t, f, "location", "version", "language"), MeanShiftInput{Outlier: group, Count: cnt, Mean: mean},
		MeanShiftOptions{MinSupport: 0.05, MinMeanShift: 1.1})
	if err != nil {
		t.Fatal(err)
	}
	// Hand-computed: AUS 41/22, v2 45/20, ENG (16350/501)/(17800/702).
	checkExplanations(t, r, map[string]want{
		"location=AUS": {300.0 / 501, 41.0 / 22, 300, 600},
		"version=v2":   {150.0 / 501, 45.0 / 20, 150, 330},
		"language=ENG": {1, (16350.0 / 501) / (17800.0 / 702), 501, 1203},
	})
}
