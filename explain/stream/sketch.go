// Package stream explains outliers over an unbounded stream, after
// MacroBase's streaming pipeline: an Adaptable Damped Reservoir keeps a
// recency-biased sample of the metric for the percentile threshold,
// Amortized Maintenance Counters keep decayed heavy-hitter counts of the
// attribute combinations among outliers and inliers, and the explainer
// re-emits MacroBase's KEEP/NEXT/PRUNE explanations every period. Memory is
// bounded by the reservoir capacity and the counters' sizes, whatever the
// stream's length.
package stream

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// Reservoir is the Adaptable Damped Reservoir: Chao's weighted reservoir
// sample whose running weight is decayed periodically, so recent points are
// more likely to enter the sample.
type Reservoir struct {
	cap    int
	sample []float64
	weight float64 // running weight of everything seen (decayed)
	rnd    *rand.Rand
}

// NewReservoir returns a reservoir of the given capacity (MacroBase: 10,000).
func NewReservoir(capacity int, seed uint64) *Reservoir {
	return &Reservoir{cap: capacity, rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Insert offers x with weight 1.
func (r *Reservoir) Insert(x float64) {
	if math.IsNaN(x) {
		return
	}
	r.weight++
	if len(r.sample) < r.cap {
		r.sample = append(r.sample, x)
		return
	}
	if r.rnd.Float64() < float64(r.cap)/r.weight {
		r.sample[r.rnd.IntN(r.cap)] = x
	}
}

// Decay multiplies the running weight by 1-rate: the next points weigh
// relatively more against the sample.
func (r *Reservoir) Decay(rate float64) { r.weight *= 1 - rate }

// Len is the number of points in the sample.
func (r *Reservoir) Len() int { return len(r.sample) }

// Quantile estimates the q-quantile (0..1) of the sample by the same
// position rule as the batch percentile classifier.
func (r *Reservoir) Quantile(q float64) float64 {
	s := slices.Clone(r.sample)
	sort.Float64s(s)
	n := len(s)
	if n == 0 {
		return math.NaN()
	}
	pos := q * float64(n+1)
	if pos < 1 {
		return s[0]
	}
	if pos >= float64(n) {
		return s[n-1]
	}
	f := math.Floor(pos)
	return s[int(f)-1] + (pos-f)*(s[int(f)]-s[int(f)-1])
}

// AMC is the Amortized Maintenance Counter, a heavy-hitters sketch with
// O(1) updates: a new item starts at the largest count evicted so far; decay
// is one global factor applied lazily; Maintain evicts down to the Size
// largest counts. Estimates never undercount, and overcount by at most
// ErrorBound (both in decayed units): 0 <= Count(x) - true(x) <= ErrorBound().
type AMC struct {
	size   int
	counts map[uint64]*amcEntry // by key hash; counts in undecayed units: true = stored * scale
	floor  float64              // largest count evicted, stored units
	scale  float64
	total  float64 // stored units
}

// NewAMC returns a counter keeping about size items between maintenances.
func NewAMC(size int) *AMC {
	return &AMC{size: size, counts: make(map[uint64]*amcEntry, 2*size), scale: 1}
}

type amcEntry struct {
	c   float64
	key string
}

// Hash is the key hash the counter uses (64-bit FNV-1a).
func Hash(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// Observe adds w to item's count.
func (a *AMC) Observe(item string, w float64) {
	a.ObserveHash(Hash([]byte(item)), func() string { return item }, w)
}

// ObserveHash adds w to the count of the item with hash h; key is called
// only when the item is new, to keep its name. Keys are told apart by
// their 64-bit hash alone.
func (a *AMC) ObserveHash(h uint64, key func() string, w float64) {
	w /= a.scale
	a.total += w
	if e := a.counts[h]; e != nil {
		e.c += w
		return
	}
	a.counts[h] = &amcEntry{c: a.floor + w, key: key()}
	// Bound memory within an epoch too.
	if len(a.counts) > 4*a.size {
		a.Maintain()
	}
}

// Decay multiplies every count by 1-rate, in O(1).
func (a *AMC) Decay(rate float64) {
	a.scale *= 1 - rate
	if a.scale < 1e-200 {
		for _, e := range a.counts {
			e.c *= a.scale
		}
		a.floor *= a.scale
		a.total *= a.scale
		a.scale = 1
	}
}

// Maintain ends an epoch: it keeps the items whose count is above the
// (Size+1)-th largest and evicts the rest (all of a tie at the boundary, so
// the outcome does not depend on map order), raising the floor to the
// largest count evicted. O(items), by selection rather than sorting.
func (a *AMC) Maintain() {
	if len(a.counts) <= a.size {
		return
	}
	vals := make([]float64, 0, len(a.counts))
	for _, e := range a.counts {
		vals = append(vals, e.c)
	}
	// t is the (size+1)-th largest count: index size in descending order.
	t := selectDesc(vals, a.size)
	for k, e := range a.counts {
		if e.c <= t {
			if e.c > a.floor {
				a.floor = e.c
			}
			delete(a.counts, k)
		}
	}
}

// selectDesc returns the k-th largest value (0-based) of v, reordering v.
func selectDesc(v []float64, k int) float64 {
	lo, hi := 0, len(v)-1
	for lo < hi {
		p := v[lo+(hi-lo)/2]
		i, j := lo, hi
		for i <= j {
			for v[i] > p {
				i++
			}
			for v[j] < p {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return v[k]
		}
	}
	return v[k]
}

// Count estimates item's decayed count.
func (a *AMC) Count(item string) float64 { return a.CountHash(Hash([]byte(item))) }

// CountHash estimates the count of the item with hash h.
func (a *AMC) CountHash(h uint64) float64 {
	if e := a.counts[h]; e != nil {
		return e.c * a.scale
	}
	return a.floor * a.scale
}

// Tracked reports whether the item is held (not only bounded by the floor).
func (a *AMC) Tracked(item string) bool { _, ok := a.counts[Hash([]byte(item))]; return ok }

// ErrorBound is the most any estimate exceeds the true decayed count.
func (a *AMC) ErrorBound() float64 { return a.floor * a.scale }

// Total is the decayed weight observed.
func (a *AMC) Total() float64 { return a.total * a.scale }

// Len is the number of items held.
func (a *AMC) Len() int { return len(a.counts) }

// Items calls f for every held item and its estimate.
func (a *AMC) Items(f func(item string, count float64)) {
	for _, e := range a.counts {
		f(e.key, e.c*a.scale)
	}
}
