package stream

import (
	"io"
	"strings"
	"testing"
)

func FuzzReader(f *testing.F) {
	for _, s := range []string{"a,b,m\nx,y,1\n", `{"a":"x","b":2,"m":3.5}` + "\n{\"m\":null}\n", "a,m\n\"q\"\"\",\n", "{bad"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rr, err := NewReader(strings.NewReader(s), Fields{Attrs: []string{"a", "b"}, Metrics: []string{"m"}})
		if err != nil {
			return
		}
		x, err := New(Config{Attrs: []string{"a", "b"}, Cutoff: 1, Warmup: 1, Period: 2})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 1000; i++ {
			row, err := rr.Next()
			if err == io.EOF || err != nil {
				break
			}
			if len(row.Values) != 2 {
				t.Fatalf("row with %d values", len(row.Values))
			}
			x.ObserveRow(row)
		}
		x.Explain()
	})
}
