package classic

import (
	"container/heap"

	"github.com/dawn-ml/dawn/internal/javarand"
)

// reservoir is MacroBase's FlexibleDampedReservoir, A-Chao's weighted
// reservoir sample (Chao 1982; MacroBase's Adaptable Damped Reservoir) with
// exponential damping: every insert adds its weight to a running count, an
// item enters a full reservoir with probability capacity·weight/count,
// replacing a uniformly drawn slot, and advancing a period multiplies the
// running count by (1 − bias), so recent items weigh more. An item whose
// probability would exceed 1 is held aside as overweight until the count
// catches up. The random draws follow MacroBase's java.util.Random calls.
type reservoir[T any] struct {
	items      []T
	capacity   int
	bias       float64
	running    float64
	rnd        *javarand.Random
	overweight overweightHeap[T]
}

func newReservoir[T any](capacity int, bias float64, seed int64) *reservoir[T] {
	return &reservoir[T]{capacity: capacity, bias: bias, rnd: javarand.New(seed)}
}

type weighted[T any] struct {
	item   T
	weight float64
}

// overweightHeap is a binary min-heap on weight; container/heap sifts
// exactly as java.util.PriorityQueue does, so equal weights come out in
// the same order and the backing array iterates the same.
type overweightHeap[T any] []weighted[T]

func (h overweightHeap[T]) Len() int           { return len(h) }
func (h overweightHeap[T]) Less(i, j int) bool { return h[i].weight < h[j].weight }
func (h overweightHeap[T]) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *overweightHeap[T]) Push(x any)        { *h = append(*h, x.(weighted[T])) }
func (h *overweightHeap[T]) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (r *reservoir[T]) updateOverweight() {
	for r.overweight.Len() > 0 {
		ow := r.overweight[0]
		if float64(r.capacity)*ow.weight/r.running > 1 {
			return
		}
		heap.Pop(&r.overweight)
		r.insert(ow.item, ow.weight)
	}
}

// sample returns the reservoir's contents. Without overweight items it is
// the reservoir itself (callers may reorder it, as MacroBase's do); with
// them, they and a shuffled fill of the others.
func (r *reservoir[T]) sample() []T {
	r.updateOverweight()
	if r.overweight.Len() == 0 {
		return r.items
	}
	out := make([]T, 0, r.capacity)
	for _, w := range r.overweight {
		out = append(out, w.item)
	}
	javarand.Shuffle(r.items, r.rnd)
	return append(out, r.items[:min(len(r.items), r.capacity-len(out))]...)
}

func (r *reservoir[T]) advancePeriod() {
	d := 1 - r.bias
	r.running *= d
	for i := range r.overweight {
		r.overweight[i].weight *= d
	}
}

func (r *reservoir[T]) add(x T) { r.insert(x, 1) }

func (r *reservoir[T]) insert(x T, weight float64) {
	r.running += weight
	r.updateOverweight()
	if len(r.items) < r.capacity {
		r.items = append(r.items, x)
		return
	}
	p := float64(r.capacity) * weight / r.running
	if p > 1 {
		heap.Push(&r.overweight, weighted[T]{x, weight})
	} else if r.rnd.Float64() < p {
		r.items[r.rnd.Intn(int32(r.capacity))] = x
	}
}

// periodic runs a task every period calls, as MacroBase's tuple-based
// Periodic does: on the call after each full period.
type periodic struct {
	prev   float64
	calls  int
	period float64
	task   func()
}

func (p *periodic) tick() {
	p.calls++
	if p.period < 0 {
		return
	}
	for p.prev+p.period < float64(p.calls) {
		p.task()
		p.prev += p.period
	}
}
