package drift

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{0, 10, radixMin, 100_000} {
		xs := make([]float64, n)
		for i := range xs {
			switch i % 7 {
			case 0:
				xs[i] = math.Round(rng.NormFloat64() * 3) // ties
			case 1:
				xs[i] = -rng.ExpFloat64() * 1e300
			case 2:
				xs[i] = math.Inf(1)
			default:
				xs[i] = rng.NormFloat64() * 1e-300
			}
		}
		want := slices.Clone(xs)
		slices.Sort(want)
		Sort(xs)
		if !slices.Equal(xs, want) {
			t.Errorf("n=%d: radix order differs from slices.Sort", n)
		}
	}
}

func BenchmarkSort1M(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	src := make([]float64, 1_000_000)
	for i := range src {
		src[i] = rng.NormFloat64()
	}
	xs := make([]float64, len(src))
	for b.Loop() {
		copy(xs, src)
		Sort(xs)
	}
}
