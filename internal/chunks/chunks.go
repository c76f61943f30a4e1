// Package chunks splits n items into contiguous ranges for parallel
// workers, numbered so that callers can merge per-range results in a fixed
// order and stay deterministic.
package chunks

import (
	"runtime"
	"sync"
)

// Count is the number of ranges Run uses for n items: at most workers
// (GOMAXPROCS when workers ≤ 0), and one more only per minPer items, so
// small inputs are not split.
func Count(n, workers, minPer int) int {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	return max(1, min(workers, n/minPer+1))
}

// Run calls f on each of Count(n, workers, minPer) contiguous ranges
// [lo, hi) of [0, n), in parallel; t numbers the range.
func Run(n, workers, minPer int, f func(t, lo, hi int)) {
	w := Count(n, workers, minPer)
	if w == 1 {
		f(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	for t := 0; t < w; t++ {
		lo, hi := n*t/w, n*(t+1)/w
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(t, lo, hi)
		}()
	}
	wg.Wait()
}
