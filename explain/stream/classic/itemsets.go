package classic

import (
	"math"
	"sort"
)

// riskRatio is MacroBase's legacy risk ratio of an item seen exposedOut
// times among outliers and exposedIn times among inliers, with its
// correction term (z = 2 standard errors; MacroBase's second term is
// 1/(N−n) after its own simplification). A missing count is 0.
func riskRatio(exposedIn, exposedOut, totalIn, totalOut float64) (rr, correction float64) {
	exposed := exposedIn + exposedOut
	unexposed := totalIn + totalOut - exposed
	unexposedOut := totalOut - exposedOut
	unexposedIn := totalIn - exposedIn
	switch {
	case exposed == 0, exposedOut == 0, unexposed == 0:
		return 0, 0
	case unexposedOut == 0:
		return math.Inf(1), 0
	}
	correction = 2 * math.Sqrt((exposedIn/exposedOut)/exposed+(unexposedIn/unexposedIn)/unexposed)
	return (exposedOut / exposed) / (unexposedOut / unexposed), correction
}

// emergingItemsets is MacroBase's ExponentiallyDecayingEmergingItemsets:
// heavy-hitter counts of single items among outliers and inliers, and
// streaming FP-trees of the combinations of the items that were
// interesting at the last period's end.
type emergingItemsets struct {
	inliers, outliers       float64
	minSupport, minRatio    float64
	decayRate               float64
	outCounts, inCounts     *amc
	outPatterns, inPatterns *streamingFPGrowth
	dims                    int
	combinations            bool
}

func newEmergingItemsets(inSize, outSize int, minSupport, minRatio, decayRate float64, dims int, combinations bool) *emergingItemsets {
	return &emergingItemsets{minSupport: minSupport, minRatio: minRatio, decayRate: decayRate,
		outCounts: newAMC(outSize), inCounts: newAMC(inSize),
		outPatterns: newStreamingFPGrowth(minSupport), inPatterns: newStreamingFPGrowth(0),
		dims: dims, combinations: combinations}
}

func (e *emergingItemsets) tracksPatterns() bool { return !e.combinations || e.dims > 1 }

func (e *emergingItemsets) updateModels(decay bool) {
	if !e.combinations || e.dims == 1 {
		return
	}
	out, in := e.outCounts.all(), e.inCounts.all()
	required := float64(javaInt(e.outCounts.totalCount() * e.minSupport))
	interesting := newJMap[float64](0)
	for _, oc := range out.entries() {
		if oc.val < required {
			continue
		}
		if ic, ok := in.Get(oc.key); ok {
			if rr, _ := riskRatio(ic, oc.val, e.inCounts.totalCount(), e.outCounts.totalCount()); rr < e.minRatio {
				continue
			}
		}
		interesting.Put(oc.key, oc.val)
	}
	rate := 0.0
	if decay {
		rate = e.decayRate
	}
	// One map, shared by both trees, as in MacroBase.
	e.outPatterns.decayAndReset(interesting, rate)
	e.inPatterns.decayAndReset(interesting, rate)
}

// markPeriod decays the counts and rebuilds the trees' frequent items.
func (e *emergingItemsets) markPeriod() {
	e.outCounts.multiply(1 - e.decayRate)
	e.inCounts.multiply(1 - e.decayRate)
	e.updateModels(true)
}

func (e *emergingItemsets) markOutlier(attrs []int32) {
	e.outliers++
	e.outCounts.observeAll(attrs)
	if e.tracksPatterns() {
		e.outPatterns.insert(attrs)
	}
}

func (e *emergingItemsets) markInlier(attrs []int32) {
	e.inliers++
	e.inCounts.observeAll(attrs)
	if e.tracksPatterns() {
		e.inPatterns.insert(attrs)
	}
}

// result is one reported itemset: its items, support (outlier count over
// the outlier counter's total), count and corrected risk ratio.
type result struct {
	items            []int32
	support, records float64
	inlierRecords    float64
	ratio            float64
}

func (e *emergingItemsets) singleItemsets() []result {
	required := e.outCounts.totalCount() * e.minSupport
	in, out := e.inCounts.all(), e.outCounts.all()
	var ret []result
	for _, oc := range out.entries() {
		if oc.val < required {
			continue
		}
		ic, _ := in.Get(oc.key)
		rr, corr := riskRatio(ic, oc.val, e.inCounts.totalCount(), e.outCounts.totalCount())
		if ratio := rr - corr; ratio > e.minRatio {
			ret = append(ret, result{items: []int32{oc.key}, support: oc.val / e.outCounts.totalCount(), records: oc.val, inlierRecords: ic, ratio: ratio})
		}
	}
	return ret
}

func (e *emergingItemsets) itemsets() []result {
	ret := e.singleItemsets()
	if !e.combinations || e.dims == 1 {
		return ret
	}
	iwc := e.outPatterns.itemsets()
	sort.SliceStable(iwc, func(i, j int) bool {
		if iwc[i].count != iwc[j].count {
			return iwc[i].count > iwc[j].count
		}
		return iwc[i].items.Len() > iwc[j].items.Len()
	})
	var check []itemset
	var prev *jset
	prevCount := -1.0
	for _, is := range iwc {
		if is.count == prevCount && prev != nil && subset(is.items, prev) {
			continue
		}
		prevCount, prev = is.count, is.items
		if is.items.Len() != 1 {
			check = append(check, is)
		}
	}
	inl := e.inPatterns.counts(check)
	for i, ic := range inl {
		oc := check[i]
		rr, corr := riskRatio(ic.count, oc.count, e.inCounts.totalCount(), e.outCounts.totalCount())
		if ratio := rr - corr; ratio >= e.minRatio {
			ret = append(ret, result{items: oc.items.Keys(), support: oc.count / e.outCounts.totalCount(), records: oc.count, inlierRecords: ic.count, ratio: ratio})
		}
	}
	sort.SliceStable(ret, func(i, j int) bool {
		if ret[i].records != ret[j].records {
			return ret[i].records > ret[j].records
		}
		return len(ret[i].items) > len(ret[j].items)
	})
	return ret
}

// subset reports whether every key of a is in b.
func subset(a, b *jset) bool {
	for k := range a.m {
		if !b.Has(k) {
			return false
		}
	}
	return true
}
