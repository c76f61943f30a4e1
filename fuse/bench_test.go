package fuse

import (
	"sync"
	"testing"
)

var (
	bigOnce sync.Once
	big     *Synth
)

// bigSynth is 10,000,000 claims by 100,000 sources (skewed activity) on
// 2,000,000 binary objects.
func bigSynth() *Synth {
	bigOnce.Do(func() {
		big = Synthesize(SynthConfig{Objects: 2_000_000, Sources: 100_000, Claims: 10_000_000, K: 2, Skew: 0.5, Seed: 9})
	})
	return big
}

// BenchmarkDawidSkene10M is the speed target: Dawid–Skene, 50 EM
// iterations over 10M claims and 100k sources (≤ 10 s on 2 cores).
func BenchmarkDawidSkene10M(b *testing.B) {
	s := bigSynth()
	b.ResetTimer()
	for b.Loop() {
		r, err := Fit(b.Context(), s.Claims, Options{Method: DawidSkene, MaxIter: 50, Tol: -1})
		if err != nil {
			b.Fatal(err)
		}
		if r.Iters != 50 {
			b.Fatalf("%d iterations", r.Iters)
		}
	}
}

func BenchmarkMethods1M(b *testing.B) {
	s := Synthesize(SynthConfig{Objects: 200_000, Sources: 10_000, Claims: 1_000_000, K: 2, Skew: 0.5, Seed: 9})
	for _, m := range CategoricalMethods {
		b.Run(m, func(b *testing.B) {
			opt := Options{Method: m, MaxIter: 20, Tol: -1}
			if m == SLiMFast {
				opt.Features = s.Features
			}
			for b.Loop() {
				if _, err := Fit(b.Context(), s.Claims, opt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDawidSkene1M(b *testing.B) {
	s := Synthesize(SynthConfig{Objects: 200_000, Sources: 100_000, Claims: 1_000_000, K: 2, Skew: 0.5, Seed: 9})
	for b.Loop() {
		if _, err := Fit(b.Context(), s.Claims, Options{Method: DawidSkene, MaxIter: 50, Tol: -1}); err != nil {
			b.Fatal(err)
		}
	}
}
