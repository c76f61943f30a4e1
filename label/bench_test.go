package label

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// commentBatch makes n YouTube-comment-sized rows (about 100 bytes of text)
// from a seeded mix of spammy and ordinary phrases.
func commentBatch(n int) arrow.RecordBatch {
	phrases := []string{"check out my channel", "please subscribe", "love this song", "http://bit.ly/x",
		"this is the best video ever", "plz like", "amazing", "I won money", "my sister sings", "so good",
		"Katy Perry", "views", "who is watching in 2015", "www.example.com", "cash prize $100", "lol"}
	rng := rand.New(rand.NewPCG(7, 8))
	schema := arrow.NewSchema([]arrow.Field{{Name: "CONTENT", Type: arrow.BinaryTypes.String}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	sb := b.Field(0).(*array.StringBuilder)
	buf := make([]byte, 0, 256)
	for i := 0; i < n; i++ {
		buf = buf[:0]
		for len(buf) < 90 {
			buf = append(buf, phrases[rng.IntN(len(phrases))]...)
			buf = append(buf, ' ')
		}
		sb.Append(string(buf))
	}
	return b.NewRecordBatch()
}

func BenchmarkApplyTenLFs(b *testing.B) {
	src, err := os.ReadFile("../bench/label/lfs10.yaml")
	if err != nil {
		b.Skip("bench/label/lfs10.yaml not found")
	}
	f, err := ParseFile(src, "lfs10.yaml")
	if err != nil {
		b.Fatal(err)
	}
	const n = 64 * 1024
	rec := commentBatch(n)
	defer rec.Release()
	s, err := Compile(f, rec.Schema())
	if err != nil {
		b.Fatal(err)
	}
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			var bytes int64
			for i := 0; i < n; i++ {
				bytes += int64(len(rec.Column(0).(*array.String).Value(i)))
			}
			b.SetBytes(bytes)
			for b.Loop() {
				x := &Matrix{LFs: s.Names, Classes: s.Classes, RowPtr: []int64{0}}
				if err := s.ApplyBatch(context.Background(), rec, 0, x, workers); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// Several workers must produce exactly the matrix one worker does.
func TestApplyParallelMatchesSequential(t *testing.T) {
	src, err := os.ReadFile("../bench/label/lfs10.yaml")
	if err != nil {
		t.Skip("bench/label/lfs10.yaml not found")
	}
	f, err := ParseFile(src, "lfs10.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rec := commentBatch(20000)
	defer rec.Release()
	s, err := Compile(f, rec.Schema())
	if err != nil {
		t.Fatal(err)
	}
	apply := func(workers int) *Matrix {
		x := &Matrix{LFs: s.Names, Classes: s.Classes, RowPtr: []int64{0}}
		if err := s.ApplyBatch(context.Background(), rec, 0, x, workers); err != nil {
			t.Fatal(err)
		}
		return x
	}
	one, three := apply(1), apply(3)
	if one.N != 20000 || len(one.LF) == 0 {
		t.Fatalf("%d rows, %d votes", one.N, len(one.LF))
	}
	if fmt.Sprint(one) != fmt.Sprint(three) {
		t.Fatal("3 workers gave a different matrix than 1")
	}
}
