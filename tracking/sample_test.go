package tracking

import (
	"slices"
	"testing"
)

// Expected steps are those MLflow 3.6's test_rest_tracking asserts for
// get-history-bulk-interval.
func TestSampleSteps(t *testing.T) {
	steps := func(n int) []Metric {
		var h []Metric
		for i := range n {
			h = append(h, Metric{Key: "a", Step: Int64(i), Timestamp: 1, Value: 10})
		}
		return h
	}
	i64 := func(v int64) *Int64 { x := Int64(v); return &x }
	for _, tc := range []struct {
		name       string
		hist       [][]Metric
		n          int
		start, end *Int64
		want       []int64
	}{
		{"one run, 10 steps, max 5", [][]Metric{steps(10)}, 5, nil, nil, []int64{0, 2, 4, 6, 8, 9}},
		{"range 0..4, max 5", [][]Metric{steps(10)}, 5, i64(0), i64(4), []int64{0, 1, 2, 3, 4}},
		{"two runs, 10 and 20 steps", [][]Metric{steps(10), steps(20)}, 5, nil, nil, []int64{0, 4, 8, 9, 12, 16, 19}},
		{"duplicate steps", [][]Metric{append(steps(10), steps(10)...)}, 5, nil, nil, []int64{0, 2, 4, 6, 8, 9}},
		{"no history", [][]Metric{nil}, 5, nil, nil, nil},
		{"range 3..7, max 2", [][]Metric{steps(10)}, 2, i64(3), i64(7), []int64{3, 5, 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []int64
			for st := range sampleSteps(tc.hist, tc.n, tc.start, tc.end) {
				got = append(got, st)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("steps %v, want %v", got, tc.want)
			}
		})
	}
}
