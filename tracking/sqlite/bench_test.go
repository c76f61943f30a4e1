package sqlite_test

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/dawn-ml/dawn/tracking"
	"github.com/dawn-ml/dawn/tracking/sqlite"
	"github.com/dawn-ml/dawn/tracking/sqlstore"
)

// BenchmarkLogBatch measures the store alone: one 1000-metric batch per
// iteration into one run (metrics/s = 1000 / (ns/op) * 1e9).
func BenchmarkLogBatch(b *testing.B) {
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "b.db"), sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	run, err := s.CreateRun(b.Context(), tracking.NewRun{ExperimentID: "0", StartTime: 1})
	if err != nil {
		b.Fatal(err)
	}
	ms := make([]tracking.Metric, 1000)
	step := 0
	for b.Loop() {
		for i := range ms {
			ms[i] = tracking.Metric{Key: fmt.Sprintf("m%d", i%10), Value: tracking.Float(rand.Float64()), Timestamp: 1, Step: tracking.Int64(step)}
			step++
		}
		if err := s.LogBatch(b.Context(), run.Info.RunID, ms, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "metrics/s")
}
