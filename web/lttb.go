package web

import "math"

// LTTB picks threshold indices of the series (x[i], y[i]) with Sveinn
// Steinarsson's Largest-Triangle-Three-Buckets algorithm: the first and
// last points are kept, the rest is cut into threshold-2 buckets and each
// bucket keeps the point that makes the largest triangle with the point
// kept before it and the average of the next bucket. Peaks survive, which
// plain striding loses. x must be non-decreasing; with threshold >= len(x)
// (or < 3) every index is returned. Non-finite y values are kept as they
// are (a NaN point never wins a bucket over a finite one).
func LTTB(x, y []float64, threshold int) []int {
	n := len(x)
	if threshold >= n || threshold < 3 {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	out := make([]int, 0, threshold)
	out = append(out, 0)
	every := float64(n-2) / float64(threshold-2)
	a := 0
	for i := 0; i < threshold-2; i++ {
		// The next bucket's average point.
		ns := int(math.Floor(float64(i+1)*every)) + 1
		ne := min(int(math.Floor(float64(i+2)*every))+1, n)
		var ax, ay float64
		cnt := 0
		for j := ns; j < ne; j++ {
			if isFinite(y[j]) {
				ax += x[j]
				ay += y[j]
				cnt++
			}
		}
		if cnt > 0 {
			ax /= float64(cnt)
			ay /= float64(cnt)
		} else {
			ax, ay = x[min(ns, n-1)], y[min(ns, n-1)]
		}
		// This bucket.
		bs := int(math.Floor(float64(i)*every)) + 1
		be := int(math.Floor(float64(i+1)*every)) + 1
		best, bestArea := bs, -1.0
		px, py := x[a], y[a]
		for j := bs; j < be; j++ {
			area := math.Abs((px-ax)*(y[j]-py) - (px-x[j])*(ay-py))
			if !isFinite(area) {
				area = -0.5 // keep a NaN point only when the bucket has nothing else
			}
			if area > bestArea {
				best, bestArea = j, area
			}
		}
		out = append(out, best)
		a = best
	}
	return append(out, n-1)
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
