package data

import (
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

const benchRows = 1_000_000

// BenchmarkReadCSV reads a 1,000,000-row file of YouTube comments (about
// 130 MB, generated into a temporary directory) into Arrow batches.
func BenchmarkReadCSV(b *testing.B) {
	path := filepath.Join(b.TempDir(), "yt.csv")
	size := writeYouTube(b, path, benchRows)
	b.SetBytes(size)
	b.ReportAllocs()
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
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
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
