package storetest

import (
	"math"
	"testing"

	"github.com/dawn-ml/dawn/tracking"
)

// RunMetricSampler checks a store's MetricHistoryBuckets against values
// computed by hand: steps 0..9 with values 0..9 (step 4 NaN), in 5 buckets
// of width 9/5+1 = 2 steps.
func RunMetricSampler(t *testing.T, s tracking.Store) {
	t.Helper()
	ctx := t.Context()
	sampler, ok := s.(tracking.MetricSampler)
	if !ok {
		t.Skip("store does not implement tracking.MetricSampler")
	}
	exp, err := s.CreateExperiment(ctx, "sampler", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	run, err := s.CreateRun(ctx, tracking.NewRun{ExperimentID: exp, StartTime: 1})
	if err != nil {
		t.Fatal(err)
	}
	var ms []tracking.Metric
	for i := range 10 {
		v := float64(i)
		if i == 4 {
			v = math.NaN()
		}
		ms = append(ms, tracking.Metric{Key: "m", Value: tracking.Float(v), Timestamp: tracking.Int64(100 + i), Step: tracking.Int64(i)})
	}
	if err := s.LogBatch(ctx, run.Info.RunID, ms, nil, nil); err != nil {
		t.Fatal(err)
	}
	bs, err := sampler.MetricHistoryBuckets(ctx, run.Info.RunID, "m", 5)
	if err != nil {
		t.Fatal(err)
	}
	want := []tracking.MetricBucket{
		{FirstStep: 0, LastStep: 1, FirstTime: 100, LastTime: 101, Min: 0, Max: 1, Count: 2}, {FirstStep: 2, LastStep: 3, FirstTime: 102, LastTime: 103, Min: 2, Max: 3, Count: 2}, {FirstStep: 4, LastStep: 5, FirstTime: 104, LastTime: 105, Min: 5, Max: 5, Count: 2}, // NaN at step 4 counted, not in min/max
		{FirstStep: 6, LastStep: 7, FirstTime: 106, LastTime: 107, Min: 6, Max: 7, Count: 2}, {FirstStep: 8, LastStep: 9, FirstTime: 108, LastTime: 109, Min: 8, Max: 9, Count: 2},
	}
	if len(bs) != len(want) {
		t.Fatalf("buckets %+v", bs)
	}
	for i := range want {
		if bs[i] != want[i] {
			t.Errorf("bucket %d: got %+v, want %+v", i, bs[i], want[i])
		}
	}
	if bs, err := sampler.MetricHistoryBuckets(ctx, run.Info.RunID, "none", 5); err != nil || len(bs) != 0 {
		t.Fatalf("missing key: %v %v", bs, err)
	}
	if _, err := sampler.MetricHistoryBuckets(ctx, "0123456789abcdef0123456789abcdef", "m", 5); err == nil {
		t.Fatal("missing run: no error")
	}
}
