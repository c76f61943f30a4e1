package data

import (
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

const benchRows = 1_000_000

// cpuTime is the process's user+system CPU time, which a busy shared
// machine disturbs much less than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkReadCSV reads a 1,000,000-row file of YouTube comments (about
// 175 MB, generated into a temporary directory) into Arrow batches, with the
// read-ahead goroutine.
func BenchmarkReadCSV(b *testing.B) { benchReadCSV(b) }

// BenchmarkReadCSVSerial is the same on one core (no read-ahead goroutine).
func BenchmarkReadCSVSerial(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	benchReadCSV(b)
}

func benchReadCSV(b *testing.B) {
	path := filepath.Join(b.TempDir(), "yt.csv")
	size := writeYouTube(b, path, benchRows)
	b.SetBytes(size)
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		r, err := Open(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		n := int64(0)
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n += rec.NumRows()
			rec.Release()
		}
		r.Close()
		if n != benchRows {
			b.Fatalf("read %d rows, want %d", n, benchRows)
		}
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(benchRows*b.N), "cpu-ns/row")
}

// BenchmarkEncodingCSV is the baseline: encoding/csv alone, no Arrow.
func BenchmarkEncodingCSV(b *testing.B) {
	path := filepath.Join(b.TempDir(), "yt.csv")
	size := writeYouTube(b, path, benchRows)
	b.SetBytes(size)
	for b.Loop() {
		f, _ := os.Open(path)
		cr := csv.NewReader(f)
		cr.ReuseRecord = true
		for {
			_, err := cr.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		f.Close()
	}
	b.ReportMetric(float64(benchRows+1)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
