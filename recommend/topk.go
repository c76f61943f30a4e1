package recommend

import (
	"math"
	"slices"
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

// TopHeap keeps the k best (item, score) pairs pushed to it. It is a
// binary min-heap on Better, sifted by hand rather than through
// container/heap, whose Push boxes every pair into an interface (an
// allocation a push while the heap fills).
type TopHeap struct {
	k int
	h []Scored
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
		t.h = append(t.h, c)
		t.up(len(t.h) - 1)
		return
	}
	if Better(c, t.h[0]) {
		t.h[0] = c
		t.down(0)
	}
}

// up moves h[j] towards the root while it is worse than its parent.
func (t *TopHeap) up(j int) {
	h := t.h
	for j > 0 {
		p := (j - 1) / 2
		if !Better(h[p], h[j]) {
			break
		}
		h[p], h[j] = h[j], h[p]
		j = p
	}
}

// down moves h[j] towards the leaves while a child is worse than it.
func (t *TopHeap) down(j int) {
	h := t.h
	n := len(h)
	for {
		c := 2*j + 1
		if c >= n {
			return
		}
		if r := c + 1; r < n && Better(h[c], h[r]) {
			c = r // the worse child
		}
		if !Better(h[j], h[c]) {
			return
		}
		h[j], h[c] = h[c], h[j]
		j = c
	}
}

// Sorted returns the held pairs, best first, in a new slice.
func (t *TopHeap) Sorted() []Scored { return t.AppendSorted(nil) }

// AppendSorted appends the held pairs, best first, to dst.
func (t *TopHeap) AppendSorted(dst []Scored) []Scored {
	n := len(dst)
	dst = append(dst, t.h...)
	slices.SortFunc(dst[n:], func(a, b Scored) int {
		if Better(a, b) {
			return -1
		}
		if Better(b, a) {
			return 1
		}
		return 0
	})
	return dst
}
