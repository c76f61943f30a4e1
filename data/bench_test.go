package data

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
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
func BenchmarkReadCSV(b *testing.B) { benchReadCSV(b, Options{}) }

// BenchmarkReadCSVOneColumn reads only CONTENT (Options.Columns), as an
// applier whose labeling functions look at the text alone would.
func BenchmarkReadCSVOneColumn(b *testing.B) { benchReadCSV(b, Options{Columns: []string{"CONTENT"}}) }

// BenchmarkReadCSVSerial is the same on one core (no read-ahead goroutine).
func BenchmarkReadCSVSerial(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	benchReadCSV(b, Options{})
}

func benchReadCSV(b *testing.B, opt Options) {
	path := filepath.Join(b.TempDir(), "yt.csv")
	size := writeYouTube(b, path, benchRows)
	b.SetBytes(size)
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		r, err := Open(path, opt)
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

// benchFile converts the generated comments to format ext once per benchmark.
func benchFile(b *testing.B, rows int, ext string) (string, int64) {
	dir := b.TempDir()
	src := filepath.Join(dir, "yt.csv")
	writeYouTube(b, src, rows)
	if ext == "csv" {
		st, _ := os.Stat(src)
		return src, st.Size()
	}
	p := filepath.Join(dir, "yt."+ext)
	convert(b, src, p, Options{})
	st, _ := os.Stat(p)
	return p, st.Size()
}

func benchRead(b *testing.B, ext string) {
	const rows = 200_000
	path, size := benchFile(b, rows, ext)
	b.SetBytes(size)
	for b.Loop() {
		_, recs, err := ReadAll(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range recs {
			r.Release()
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkReadJSONL(b *testing.B)   { benchRead(b, "jsonl") }
func BenchmarkReadParquet(b *testing.B) { benchRead(b, "parquet") }
func BenchmarkReadArrow(b *testing.B)   { benchRead(b, "arrow") }

func benchWrite(b *testing.B, ext string) {
	const rows = 200_000
	path, size := benchFile(b, rows, "csv")
	sch, recs, err := ReadAll(path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	out := filepath.Join(b.TempDir(), "out."+ext)
	for b.Loop() {
		w, err := Create(out, sch, WriteOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range recs {
			if err := w.Write(r); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkWriteCSV(b *testing.B)     { benchWrite(b, "csv") }
func BenchmarkWriteParquet(b *testing.B) { benchWrite(b, "parquet") }

// BenchmarkReadCSVConsume reads the 1,000,000-row file while the consumer
// does labeling-function-like work on each batch (ten substring searches over
// the CONTENT column), to show how much of the parsing the read-ahead
// goroutine hides; compare with BenchmarkReadCSVConsumeSerial.
func BenchmarkReadCSVConsume(b *testing.B) { benchConsume(b) }

func BenchmarkReadCSVConsumeSerial(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	benchConsume(b)
}

func benchConsume(b *testing.B) {
	path := filepath.Join(b.TempDir(), "yt.csv")
	size := writeYouTube(b, path, benchRows)
	b.SetBytes(size)
	words := [][]byte{[]byte("check out"), []byte("subscribe"), []byte("http"), []byte("channel"), []byte("free"),
		[]byte("please"), []byte("song"), []byte("love"), []byte(" my "), []byte("watch")}
	hits := 0
	for b.Loop() {
		r, err := Open(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		col := r.Schema().FieldIndices("CONTENT")[0]
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			s := rec.Column(col).(*array.String)
			for i := 0; i < s.Len(); i++ {
				v := unsafeBytes(s.Value(i))
				for _, w := range words {
					if bytes.Contains(v, w) {
						hits++
					}
				}
			}
			rec.Release()
		}
		r.Close()
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	_ = hits
}
