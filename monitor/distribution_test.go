package monitor

import (
	"slices"
	"testing"
)

func TestCategoryDistribution(t *testing.T) {
	// Shares: ref a 0.5 b 0.25 c 0.25; cur a 0.25 b 0.25 c 0.5; (other)
	// is always summed last.
	d := categoryDistribution([]string{"a", "b", "c", otherCategory}, []float64{2, 1, 1, 0}, []float64{1, 1, 2, 0})
	if !slices.Equal(d.Categories, []string{"a", "c", "b", otherCategory}) {
		t.Fatalf("categories %v", d.Categories)
	}
	if !slices.Equal(d.Reference, []float64{0.5, 0.25, 0.25, 0}) || !slices.Equal(d.Current, []float64{0.25, 0.5, 0.25, 0}) {
		t.Fatalf("shares %v %v", d.Reference, d.Current)
	}
}

func TestNumericDistribution(t *testing.T) {
	// Range 0..2 in 20 bins of 0.1: 0 falls in bin 0, 1 in bin 10, 2 in
	// the last (closed) bin.
	d := numericDistribution([]float64{0, 1}, []float64{1, 2})
	if len(d.Edges) != distBins+1 || d.Edges[0] != 0 || d.Edges[distBins] != 2 {
		t.Fatalf("edges %v", d.Edges)
	}
	want := func(at map[int]float64) []float64 {
		out := make([]float64, distBins)
		for i, v := range at {
			out[i] = v
		}
		return out
	}
	if !slices.Equal(d.Reference, want(map[int]float64{0: 0.5, 10: 0.5})) || !slices.Equal(d.Current, want(map[int]float64{10: 0.5, 19: 0.5})) {
		t.Fatalf("ref %v cur %v", d.Reference, d.Current)
	}
}
