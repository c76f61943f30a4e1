package runner

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/dawn-ml/dawn/data"
	"github.com/dawn-ml/dawn/explain"
	"github.com/dawn-ml/dawn/monitor"
	"github.com/dawn-ml/dawn/tracking/sqlite"
	"github.com/dawn-ml/dawn/tracking/sqlstore"
)

// benchNumeric is the number of numeric input columns of the benchmark log.
const benchNumeric = 10

// writeLogFile writes one Parquet file shaped as serve/predlog writes
// them: time, model_version, latency_ms, request_id, request_row, the
// inputs (benchNumeric numbers, country, client_version) and label.
func writeLogFile(tb testing.TB, path string, rng *rand.Rand, t0 time.Time, n int) {
	tb.Helper()
	fields := []arrow.Field{{Name: "time", Type: arrow.FixedWidthTypes.Timestamp_us}, {Name: "model_version", Type: arrow.BinaryTypes.String},
		{Name: "latency_ms", Type: arrow.PrimitiveTypes.Float64}, {Name: "request_id", Type: arrow.BinaryTypes.String},
		{Name: "request_row", Type: arrow.PrimitiveTypes.Int64}}
	for j := range benchNumeric {
		fields = append(fields, arrow.Field{Name: fmt.Sprintf("x%d", j), Type: arrow.PrimitiveTypes.Float64})
	}
	fields = append(fields, arrow.Field{Name: "country", Type: arrow.BinaryTypes.String}, arrow.Field{Name: "client_version", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "label", Type: arrow.BinaryTypes.String})
	sch := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sch)
	defer b.Release()
	countries, versions := []string{"US", "CA", "MX", "FR"}, []string{"v1", "v2", "v3"}
	for i := range n {
		b.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(t0.Add(time.Duration(i) * 20 * time.Microsecond).UnixMicro()))
		b.Field(1).(*array.StringBuilder).Append("3")
		b.Field(2).(*array.Float64Builder).Append(0.2)
		b.Field(3).(*array.StringBuilder).Append("req-" + strconv.Itoa(i))
		b.Field(4).(*array.Int64Builder).Append(0)
		for j := range benchNumeric {
			b.Field(5 + j).(*array.Float64Builder).Append(rng.NormFloat64())
		}
		b.Field(5 + benchNumeric).(*array.StringBuilder).Append(countries[rng.IntN(4)])
		b.Field(6 + benchNumeric).(*array.StringBuilder).Append(versions[rng.IntN(3)])
		b.Field(7 + benchNumeric).(*array.StringBuilder).Append([]string{"ham", "spam"}[rng.IntN(2)])
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	w, err := data.Create(path, sch, data.WriteOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkRunnerRollingLog measures the runner's rows/s over a prediction
// log of Parquet files of 50,000 rows (one second of a log growing at
// 50,000 rows/s each), windows of 50,000 rows, state in SQLite. The runner
// keeps up with such a log when rows/s is at least 50,000.
// DAWN_BENCH_FILES sets the number of files (default 4).
func BenchmarkRunnerRollingLog(b *testing.B) {
	files := 4
	if v, err := strconv.Atoi(os.Getenv("DAWN_BENCH_FILES")); err == nil && v > 0 {
		files = v
	}
	const perFile = 50_000
	dir := b.TempDir()
	logDir := filepath.Join(dir, "log")
	os.MkdirAll(logDir, 0o755)
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	ref := filepath.Join(dir, "ref.parquet")
	writeLogFile(b, ref, rng, t0, 5000)
	for i := range files {
		writeLogFile(b, filepath.Join(logDir, fmt.Sprintf("predictions-%04d.parquet", i)), rng, t0.Add(time.Duration(i)*time.Second), perFile)
	}
	cols := []string{"country", "client_version"}
	for j := range benchNumeric {
		cols = append(cols, fmt.Sprintf("x%d", j))
	}
	f, err := explain.ReadFrame(ref, explain.ReadOptions{Columns: cols})
	if err != nil {
		b.Fatal(err)
	}
	p, err := monitor.BuildProfile(b.Context(), f, monitor.ProfileOptions{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := ParseConfig([]byte(fmt.Sprintf(`name: bench
model: unused
source: {path: %q}
window: {rows: %d}
segments: [country, client_version]
checks: {ignore: [label]}
alerts:
  rules: [{name: Drift, check: dataset_drift}]
`, logDir, perFile)))
	if err != nil {
		b.Fatal(err)
	}
	run := 0
	rows := 0
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		run++
		s, err := sqlite.Open(b.Context(), "sqlite:///"+filepath.Join(dir, fmt.Sprintf("state-%d.db", run)), sqlstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		r, err := New(b.Context(), cfg, p, nil, s)
		if err != nil {
			b.Fatal(err)
		}
		if err := r.Step(b.Context(), true); err != nil {
			b.Fatal(err)
		}
		if r.NextWindow() != int64(files) {
			b.Fatalf("%d windows, want %d", r.NextWindow(), files)
		}
		rows += files * perFile
		s.Close()
	}
	b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
}
