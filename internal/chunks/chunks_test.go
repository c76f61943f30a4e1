package chunks

import (
	"sync/atomic"
	"testing"
)

func TestRunCoversEveryItemOnce(t *testing.T) {
	for _, tc := range []struct{ n, workers, minPer, want int }{
		{0, 4, 256, 1}, {255, 4, 256, 1}, {256, 4, 256, 2}, {10000, 4, 256, 4}, {10000, 2, 1024, 2}, {3000, 8, 1024, 3},
	} {
		if got := Count(tc.n, tc.workers, tc.minPer); got != tc.want {
			t.Errorf("Count(%d, %d, %d) = %d, want %d", tc.n, tc.workers, tc.minPer, got, tc.want)
		}
		seen := make([]atomic.Int32, tc.n)
		Run(tc.n, tc.workers, tc.minPer, func(_, lo, hi int) {
			for i := lo; i < hi; i++ {
				seen[i].Add(1)
			}
		})
		for i := range seen {
			if seen[i].Load() != 1 {
				t.Fatalf("n=%d: item %d seen %d times", tc.n, i, seen[i].Load())
			}
		}
	}
}
