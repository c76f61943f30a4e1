package recommend

import (
	"container/heap"
	"math"
	"sort"
)

// Scored is an item index with its score.
type Scored struct {
	Item  int32
	Score float64
}

// Better reports whether a ranks before b: a higher score, or an equal
// score and a smaller item index. It is the one order every top-K in dawn
// uses, so that the index and brute force agree exactly.
func Better(a, b Scored) bool {
	return a.Score > b.Score || (a.Score == b.Score && a.Item < b.Item)
}

// TopK returns the k best items of scores (NaN and −Inf never), best first.
func TopK(scores []float64, k int) []Scored {
	var h TopHeap
	h.Reset(k)
	for i, s := range scores {
		h.Push(int32(i), s)
	}
	return h.Sorted()
}

// TopHeap keeps the k best (item, score) pairs pushed to it.
type TopHeap struct {
	k int
	h minHeap
}

// Reset empties the heap and sets its capacity.
func (t *TopHeap) Reset(k int) {
	t.k = k
	t.h = t.h[:0]
}

// Full reports whether k items are held.
func (t *TopHeap) Full() bool { return len(t.h) >= t.k }

// Min is the worst held pair (only when Full).
func (t *TopHeap) Min() Scored { return t.h[0] }

// Push offers an item.
func (t *TopHeap) Push(item int32, s float64) {
	if t.k <= 0 || math.IsNaN(s) || math.IsInf(s, -1) {
		return
	}
	c := Scored{item, s}
	if len(t.h) < t.k {
		heap.Push(&t.h, c)
		return
	}
	if Better(c, t.h[0]) {
		t.h[0] = c
		heap.Fix(&t.h, 0)
	}
}

// Sorted returns the held pairs, best first.
func (t *TopHeap) Sorted() []Scored {
	out := append([]Scored(nil), t.h...)
	sort.Slice(out, func(i, j int) bool { return Better(out[i], out[j]) })
	return out
}

type minHeap []Scored

func (h minHeap) Len() int           { return len(h) }
func (h minHeap) Less(i, j int) bool { return Better(h[j], h[i]) }
func (h minHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *minHeap) Push(x any)        { *h = append(*h, x.(Scored)) }
func (h *minHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
