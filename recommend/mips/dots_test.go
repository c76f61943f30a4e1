package mips

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestDots32WithinBound: the kernel in use (assembly where the CPU has it)
// and the plain-Go one agree with the float64 inner product within the
// error bound the index's filter relies on, for lengths 8..200 and values
// from tiny to large.
func TestDots32WithinBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, scale := range []float64{1e-30, 1e-3, 1, 1e6} {
		for f := 8; f <= 200; f += 8 {
			const n = 37
			q := make([]float64, f)
			rows := make([]float64, n*f)
			for i := range q {
				q[i] = scale * rng.NormFloat64()
			}
			for i := range rows {
				rows[i] = scale * rng.NormFloat64() * math.Exp(rng.NormFloat64())
			}
			q32, r32 := to32(q), to32(rows)
			got, gogot := make([]float32, n), make([]float32, n)
			dots32(q32, r32, got)
			dots32Go(q32, r32, gogot)
			eps, abs := filterBound(f)
			qn := math.Sqrt(Dot(q, q))
			qmax, pmax := maxAbs(q), maxAbs(rows)
			for i := 0; i < n; i++ {
				p := rows[i*f : (i+1)*f]
				d := Dot(q, p)
				tol := eps*qn*math.Sqrt(Dot(p, p)) + abs*(2+qmax+pmax)
				for name, v := range map[string]float32{"kernel": got[i], "go": gogot[i]} {
					if math.Abs(float64(v)-d) > tol {
						t.Fatalf("scale %g f %d row %d: %s %g, float64 %g, bound %g", scale, f, i, name, v, d, tol)
					}
				}
			}
		}
	}
}

func to32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

func maxAbs(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, math.Abs(x))
	}
	return m
}

// BenchmarkDots32 is the filter's kernel on 1,024 rows of 64 dimensions.
func BenchmarkDots32(b *testing.B) {
	const n, f = 1024, 64
	rng := rand.New(rand.NewPCG(1, 2))
	q, rows, out := make([]float32, f), make([]float32, n*f), make([]float32, n)
	for i := range q {
		q[i] = float32(rng.NormFloat64())
	}
	for i := range rows {
		rows[i] = float32(rng.NormFloat64())
	}
	b.Run("kernel", func(b *testing.B) {
		for b.Loop() {
			dots32(q, rows, out)
		}
	})
	b.Run("go", func(b *testing.B) {
		for b.Loop() {
			dots32Go(q, rows, out)
		}
	})
}
