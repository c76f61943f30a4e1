package labelmodel

import (
	"sync"
	"testing"

	"github.com/dawn-ml/dawn/label"
)

// benchMatrix is 1,000,000 rows × 50 LFs, binary, accuracies 0.55–0.95 and
// coverages 0.05–0.5 (about 14 votes a row), built once.
var benchMatrix = sync.OnceValue(func() *label.Matrix {
	acc := linspace(0.55, 0.95, 50)
	cov := make([]float64, 50)
	for i := range cov {
		cov[i] = 0.05 + 0.45*float64((i*17)%50)/49
	}
	x, _ := synth(1_000_000, acc, cov, []float64{0.5, 0.5}, 42)
	return x
})

func BenchmarkStats(b *testing.B) {
	x := benchMatrix()
	for _, patterns := range []bool{false, true} {
		name := "overlap"
		if patterns {
			name = "overlap+patterns"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := ComputeStats(b.Context(), x, StatsOptions{Patterns: patterns}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFit is the whole fit from the matrix: statistics pass plus
// optimization.
func BenchmarkFit(b *testing.B) {
	x := benchMatrix()
	for _, method := range Methods {
		b.Run(method, func(b *testing.B) {
			for b.Loop() {
				m, _ := New(method, Options{UniformPrior: true, Seed: 1})
				if err := m.Fit(b.Context(), x); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFitStats is the optimization alone, from precomputed statistics.
func BenchmarkFitStats(b *testing.B) {
	x := benchMatrix()
	s, err := ComputeStats(b.Context(), x, StatsOptions{Patterns: true})
	if err != nil {
		b.Fatal(err)
	}
	for _, method := range Methods {
		b.Run(method, func(b *testing.B) {
			for b.Loop() {
				m, _ := New(method, Options{UniformPrior: true, Seed: 1})
				if err := m.FitStats(b.Context(), s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPredictProba(b *testing.B) {
	x := benchMatrix()
	for _, method := range Methods {
		m, _ := New(method, Options{UniformPrior: true, Seed: 1})
		if err := m.Fit(b.Context(), x); err != nil {
			b.Fatal(err)
		}
		b.Run(method, func(b *testing.B) {
			for b.Loop() {
				if _, err := m.PredictProba(x); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
