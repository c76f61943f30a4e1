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
		{0, 1, 100, 101, 0, 1, 2}, {2, 3, 102, 103, 2, 3, 2}, {4, 5, 104, 105, 5, 5, 2}, // NaN at step 4 counted, not in min/max
		{6, 7, 106, 107, 6, 7, 2}, {8, 9, 108, 109, 8, 9, 2},
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
