package monitor

import (
	"context"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"

	"github.com/dawn-ml/dawn/explain"
)

// cpuSeconds is the process's user + system CPU time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// numericFrame is rows × cols of normal numbers, column j shifted by
// shift·j.
func numericFrame(rows, cols int, shift float64, seed uint64) *explain.Frame {
	rng := rand.New(rand.NewPCG(seed, 9))
	f := &explain.Frame{Rows: rows}
	for j := range cols {
		xs := make([]float64, rows)
		for i := range xs {
			xs[i] = rng.NormFloat64() + shift*float64(j)
		}
		f.Cols = append(f.Cols, explain.FrameColumn{Name: fmt.Sprintf("c%02d", j), Num: xs})
	}
	return f
}

// BenchmarkCheck1Mx20 is the speed target: one drift check of a
// 1,000,000-row × 20-column window against a profile (reference 100,000
// rows, so Wasserstein/std per column from a 10,000-value sample).
func BenchmarkCheck1Mx20(b *testing.B) {
	ctx := context.Background()
	p, err := BuildProfile(ctx, numericFrame(100_000, 20, 0, 1), ProfileOptions{})
	if err != nil {
		b.Fatal(err)
	}
	cur := numericFrame(1_000_000, 20, 0.01, 2)
	b.ReportAllocs()
	var r *Report
	cpu0 := cpuSeconds()
	for b.Loop() {
		if r, err = Check(ctx, p, cur, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	// CPU time is reported beside wall time because the shared build
	// machine's load makes wall time a poor measure of the code.
	b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/op")
	if len(r.Drift.Columns) != 20 || r.Drift.Columns[0].Test != TestWasserstein {
		b.Fatalf("columns %+v", r.Drift.Columns)
	}
}

// BenchmarkKS1Mx20 is the same window with KS forced on every column.
func BenchmarkKS1Mx20(b *testing.B) {
	ctx := context.Background()
	p, err := BuildProfile(ctx, numericFrame(100_000, 20, 0, 1), ProfileOptions{})
	if err != nil {
		b.Fatal(err)
	}
	cur := numericFrame(1_000_000, 20, 0.01, 2)
	tests := map[string]Test{}
	for _, c := range p.Columns {
		tests[c.Name] = TestKS
	}
	cpu0 := cpuSeconds()
	for b.Loop() {
		if _, err := Check(ctx, p, cur, Options{Tests: tests}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/op")
}
