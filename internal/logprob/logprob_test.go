package logprob

import (
	"math"
	"testing"
)

func TestNormalize(t *testing.T) {
	v := []float64{math.Log(1), math.Log(3), 1000 + math.Log(0)}
	// 1000 + log 0 is −Inf: that class gets probability 0.
	ln := Normalize(v)
	if math.Abs(v[0]-0.25) > 1e-15 || math.Abs(v[1]-0.75) > 1e-15 || v[2] != 0 || math.Abs(ln-math.Log(4)) > 1e-15 {
		t.Fatalf("got %v, log normaliser %v", v, ln)
	}
	big := []float64{1000, 1000}
	if ln := Normalize(big); big[0] != 0.5 || math.Abs(ln-(1000+math.Log(2))) > 1e-12 {
		t.Fatalf("large scores: %v %v", big, ln)
	}
	none := []float64{math.Inf(-1), math.Inf(-1), math.Inf(-1), math.Inf(-1)}
	if ln := Normalize(none); none[0] != 0.25 || none[3] != 0.25 || !math.IsInf(ln, -1) {
		t.Fatalf("no finite score: %v %v", none, ln)
	}
}
