package label

import (
	"context"
	"os"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// whenLF is the expression LF BenchmarkApplyWhen adds to the ten keyword
// and regex LFs of bench/label/lfs10.yaml: a length test and a substring
// test, the common shape of a `when` rule.
const whenLF = `
  - name: when_long_money
    when: 'len(CONTENT) > 60 and CONTENT contains "money"'
    label: spam
`

// BenchmarkApplyWhen compares the ten keyword/regex LFs with the same set
// plus one `when` LF (issue 16: a set with one expression LF within 2× of
// the keyword set's rows/s), and one keyword LF with one `when` LF alone.
func BenchmarkApplyWhen(b *testing.B) {
	src, err := os.ReadFile("../bench/label/lfs10.yaml")
	if err != nil {
		b.Skip("bench/label/lfs10.yaml not found")
	}
	const n = 64 * 1024
	rec := commentBatch(n)
	defer rec.Release()
	var bytes int64
	for i := 0; i < n; i++ {
		bytes += int64(len(rec.Column(0).(*array.String).Value(i)))
	}
	cases := []struct{ name, yaml string }{
		{"lfs10", string(src)},
		{"lfs10+when", string(src) + whenLF},
		{"one-keyword", "labels: [ham, spam]\ntext: CONTENT\nlfs:\n  - name: kw_money\n    keywords: [money]\n    label: spam\n"},
		{"one-when", "labels: [ham, spam]\ntext: CONTENT\nlfs:" + whenLF},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			f, err := ParseFile([]byte(c.yaml), c.name+".yaml")
			if err != nil {
				b.Fatal(err)
			}
			s, err := Compile(f, rec.Schema())
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(bytes)
			b.ReportAllocs()
			for b.Loop() {
				x := &Matrix{LFs: s.Names, Classes: s.Classes, RowPtr: []int64{0}}
				if err := s.ApplyBatch(context.Background(), rec, 0, x, 1); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
