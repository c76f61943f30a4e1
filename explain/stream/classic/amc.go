package classic

import (
	"math"
	"sort"
)

// amc is the Amortized Maintenance Counter of MacroBase's classic
// streaming summarizer: heavy-hitter counts of encoded items that
// over-report, never under-report. Within an epoch every item is counted
// (a new item starts at the largest count evicted at the last epoch's end);
// at the end of an epoch the counts decay and all but the maxSize largest
// are evicted. Decay is lazy: a growing factor scales new observations
// instead of every stored count.
type amc struct {
	counts     *jmap[float64]
	decay      float64 // stored counts are true counts × decay
	total      float64 // sum of observations, also scaled
	maxSize    int
	maxEvicted float64
}

func newAMC(maxSize int) *amc {
	return &amc{counts: newJMap[float64](0), decay: 1, maxSize: maxSize}
}

const decayResetThreshold = math.MaxFloat64 * 0.5

// multiply ends an epoch: it scales every count by `by` and evicts the
// smallest counts beyond maxSize.
func (a *amc) multiply(by float64) {
	a.decay /= by
	if a.decay > decayResetThreshold {
		a.resetDecay()
	}
	if a.counts.Len() > a.maxSize {
		es := a.counts.entries()
		sort.SliceStable(es, func(i, j int) bool { return es[i].val < es[j].val })
		a.maxEvicted = math.SmallestNonzeroFloat64 // MacroBase's Double.MIN_VALUE
		for _, e := range es[:len(es)-a.maxSize] {
			a.counts.Delete(e.key)
			if e.val > a.maxEvicted {
				a.maxEvicted = e.val
			}
		}
	}
}

// all returns the counts map with the decay applied to every entry.
func (a *amc) all() *jmap[float64] {
	a.resetDecay()
	return a.counts
}

func (a *amc) resetDecay() {
	for _, e := range a.counts.entries() {
		e.val /= a.decay
	}
	a.total /= a.decay
	a.decay = 1
}

func (a *amc) observe(item int32, count float64) {
	count *= a.decay
	v, ok := a.counts.Get(item)
	if !ok {
		v = a.maxEvicted + count
		a.total += v
	} else {
		v += count
		a.total += count
	}
	a.counts.Put(item, v)
	if v > decayResetThreshold && a.decay > 1 {
		a.resetDecay()
	}
}

func (a *amc) observeAll(items []int32) {
	for _, it := range items {
		a.observe(it, 1)
	}
}

// totalCount is the (decayed) number of item observations.
func (a *amc) totalCount() float64 { return a.total / a.decay }
