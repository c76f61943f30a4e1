package explain

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// FPOptions configure the FP-growth explainer, MacroBase's
// FPGrowthSummarizer. The metric is always the risk ratio.
type FPOptions struct {
	MinSupport float64 // MacroBase's default 0.1
	MinRatio   float64 // MacroBase's default 3
	// Combinations allows itemsets of several attributes (MacroBase's
	// useAttributeCombinations, on by default there).
	Combinations bool
}

// FPGrowth explains outliers the way MacroBase's FP-growth summarizer does:
// single items need outlier count >= floor(minSupport·O) and a risk ratio
// above MinRatio; itemsets are mined by FP-growth over the outlier rows
// restricted to those items, an itemset with the same count as a superset
// just before it is dropped, and combinations must reach MinRatio against
// the inliers. Explanations come by outlier count, then size, descending.
func FPGrowth(attrs []*Column, labels Labels, opt FPOptions) (*Result, error) {
	if math.IsNaN(opt.MinSupport) || opt.MinSupport < 0 || opt.MinSupport > 1 {
		return nil, fmt.Errorf("explain: min support %v: want a fraction in [0, 1]", opt.MinSupport)
	}
	if len(attrs) == 0 {
		return nil, fmt.Errorf("explain: no attribute columns")
	}
	if labels.Outlier == nil {
		return nil, fmt.Errorf("explain: FP-growth takes per-row outlier flags, not counts")
	}
	rows := attrs[0].Len()
	for _, c := range attrs {
		if c.Len() != rows {
			return nil, fmt.Errorf("explain: column %q has %d rows, column %q has %d", c.Name, c.Len(), attrs[0].Name, rows)
		}
	}
	if err := labels.validate(rows); err != nil {
		return nil, err
	}
	// Items are (column, code) pairs numbered densely.
	base := make([]int32, len(attrs)+1)
	for c, col := range attrs {
		base[c+1] = base[c] + int32(len(col.Dict))
	}
	nItems := int(base[len(attrs)])
	oc, ic := make([]float64, nItems), make([]float64, nItems)
	var O, I float64
	for r := 0; r < rows; r++ {
		if labels.Outlier[r] {
			O++
		} else {
			I++
		}
	}
	for c, col := range attrs {
		for r, k := range col.Codes {
			if k < 0 {
				continue
			}
			if labels.Outlier[r] {
				oc[base[c]+k]++
			} else {
				ic[base[c]+k]++
			}
		}
	}
	res := &Result{Metric: RiskRatio, Outliers: O, Total: O + I}
	for _, c := range attrs {
		res.Attributes = append(res.Attributes, c.Name)
	}
	if O == 0 {
		return res, nil
	}
	itemCol := func(it int32) (int, int32) {
		c := sort.Search(len(attrs), func(i int) bool { return base[i+1] > it })
		return c, it - base[c]
	}
	emit := func(items []int32, o, ratio float64, n float64) {
		e := Explanation{Values: make([]string, len(attrs)), Order: len(items), Support: o / O, Ratio: ratio, OutlierCount: o, TotalCount: n}
		for _, it := range items {
			c, k := itemCol(it)
			e.Values[c] = attrs[c].Dict[k]
		}
		res.Explanations = append(res.Explanations, e)
	}
	required := float64(int64(O * opt.MinSupport))
	ok := make([]bool, nItems)
	for it := 0; it < nItems; it++ {
		if oc[it] > 0 && oc[it] >= required && riskRatio(ic[it], oc[it], I, O) > opt.MinRatio {
			ok[it] = true
		}
	}
	if !opt.Combinations || len(attrs) == 1 {
		for it := 0; it < nItems; it++ {
			if ok[it] {
				emit([]int32{int32(it)}, oc[it], riskRatio(ic[it], oc[it], I, O), oc[it]+ic[it])
			}
		}
		sortByCount(res.Explanations)
		return res, nil
	}
	// Distinct restricted transactions with their counts, for both sides.
	txOut, txIn := map[string]*txn{}, map[string]*txn{}
	buf := make([]int32, 0, len(attrs))
	for r := 0; r < rows; r++ {
		buf = buf[:0]
		for c, col := range attrs {
			if k := col.Codes[r]; k >= 0 && ok[base[c]+k] {
				buf = append(buf, base[c]+k)
			}
		}
		if len(buf) == 0 {
			continue
		}
		m := txIn
		if labels.Outlier[r] {
			m = txOut
		}
		key := string(int32Bytes(buf))
		t := m[key]
		if t == nil {
			t = &txn{items: slices.Clone(buf)}
			m[key] = t
		}
		t.count++
	}
	var sets []itemset
	mineFP(sortedTxns(txOut), required, nil, func(items []int32, count float64) {
		s := slices.Clone(items)
		slices.Sort(s)
		sets = append(sets, itemset{s, count})
	})
	sort.Slice(sets, func(i, j int) bool {
		a, b := sets[i], sets[j]
		if a.count != b.count {
			return a.count > b.count
		}
		if len(a.items) != len(b.items) {
			return len(a.items) > len(b.items)
		}
		return slices.Compare(a.items, b.items) < 0
	})
	inTx := sortedTxns(txIn)
	var prev []int32
	prevCount := -1.0
	for _, s := range sets {
		if s.count == prevCount && prev != nil && subset(s.items, prev) {
			continue
		}
		prev, prevCount = s.items, s.count
		if len(s.items) == 1 {
			it := s.items[0]
			emit(s.items, s.count, riskRatio(ic[it], s.count, I, O), s.count+ic[it])
			continue
		}
		var in float64
		for _, t := range inTx {
			if subset(s.items, t.items) {
				in += t.count
			}
		}
		if ratio := riskRatio(in, s.count, I, O); ratio >= opt.MinRatio {
			emit(s.items, s.count, ratio, s.count+in)
		}
	}
	sortByCount(res.Explanations)
	return res, nil
}

type txn struct {
	items []int32 // ascending
	count float64
}

type itemset struct {
	items []int32
	count float64
}

func sortedTxns(m map[string]*txn) []*txn {
	out := make([]*txn, 0, len(m))
	for _, t := range m {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return slices.Compare(out[i].items, out[j].items) < 0 })
	return out
}

// subset reports whether sorted a is contained in sorted b.
func subset(a, b []int32) bool {
	j := 0
	for _, x := range a {
		for j < len(b) && b[j] < x {
			j++
		}
		if j == len(b) || b[j] != x {
			return false
		}
		j++
	}
	return true
}

func int32Bytes(v []int32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		b[4*i], b[4*i+1], b[4*i+2], b[4*i+3] = byte(x), byte(x>>8), byte(x>>16), byte(x>>24)
	}
	return b
}

func sortByCount(es []Explanation) {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].OutlierCount != es[j].OutlierCount {
			return es[i].OutlierCount > es[j].OutlierCount
		}
		return es[i].Order > es[j].Order
	})
}

// fpNode is a node of an FP-tree.
type fpNode struct {
	item     int32
	count    float64
	parent   *fpNode
	children map[int32]*fpNode
	link     *fpNode // next node holding the same item
}

// mineFP emits every itemset with count >= minCount among the weighted
// transactions, extending suffix (FP-growth: build the tree of frequent
// items, then recurse on each item's conditional pattern base).
func mineFP(txns []*txn, minCount float64, suffix []int32, emit func([]int32, float64)) {
	freq := map[int32]float64{}
	for _, t := range txns {
		for _, it := range t.items {
			freq[it] += t.count
		}
	}
	var items []int32
	for it, c := range freq {
		if c >= minCount && c > 0 {
			items = append(items, it)
		}
	}
	if len(items) == 0 {
		return
	}
	// Most frequent first along a path; ties by item id.
	sort.Slice(items, func(i, j int) bool {
		if freq[items[i]] != freq[items[j]] {
			return freq[items[i]] > freq[items[j]]
		}
		return items[i] < items[j]
	})
	rank := make(map[int32]int, len(items))
	for i, it := range items {
		rank[it] = i
	}
	root := &fpNode{children: map[int32]*fpNode{}}
	heads := make(map[int32]*fpNode, len(items))
	path := make([]int32, 0, 8)
	for _, t := range txns {
		path = path[:0]
		for _, it := range t.items {
			if _, ok := rank[it]; ok {
				path = append(path, it)
			}
		}
		sort.Slice(path, func(i, j int) bool { return rank[path[i]] < rank[path[j]] })
		n := root
		for _, it := range path {
			ch := n.children[it]
			if ch == nil {
				ch = &fpNode{item: it, parent: n, children: map[int32]*fpNode{}, link: heads[it]}
				heads[it] = ch
				n.children[it] = ch
			}
			ch.count += t.count
			n = ch
		}
	}
	// Least frequent first, as FP-growth walks the header table bottom-up.
	for i := len(items) - 1; i >= 0; i-- {
		it := items[i]
		set := append([]int32{it}, suffix...)
		emit(set, freq[it])
		var base []*txn
		for n := heads[it]; n != nil; n = n.link {
			var prefix []int32
			for p := n.parent; p != nil && p.parent != nil; p = p.parent {
				prefix = append(prefix, p.item)
			}
			if len(prefix) > 0 {
				slices.Sort(prefix)
				base = append(base, &txn{items: prefix, count: n.count})
			}
		}
		if len(base) > 0 {
			mineFP(base, minCount, set, emit)
		}
	}
}
