package classic

import (
	"math"
	"slices"
	"sort"
)

// itemset is an itemset and its (decayed) count.
type itemset struct {
	items *jset
	count float64
}

// fpNode is a node of the streaming FP-tree.
type fpNode struct {
	item             int32
	count            float64
	next, prev       *fpNode // the header chain of nodes holding the same item
	parent           *fpNode
	children         []*fpNode
	hasChildrenSlice bool // Java's children list exists (possibly empty)
}

func (n *fpNode) hasChildren() bool { return len(n.children) > 0 }

func (n *fpNode) removeChild(c *fpNode) {
	if i := slices.Index(n.children, c); i >= 0 {
		n.children = slices.Delete(n.children, i, i+1)
	}
}

// nodeSet is a set of nodes iterated in insertion order (MacroBase's
// HashSet of nodes iterates by identity hash, which differs run to run;
// its results do not depend on that order).
type nodeSet struct {
	m   map[*fpNode]uint64
	seq uint64
}

func newNodeSet() *nodeSet            { return &nodeSet{m: map[*fpNode]uint64{}} }
func (s *nodeSet) has(n *fpNode) bool { _, ok := s.m[n]; return ok }
func (s *nodeSet) remove(n *fpNode)   { delete(s.m, n) }
func (s *nodeSet) clear()             { clear(s.m) }
func (s *nodeSet) add(n *fpNode) {
	if _, ok := s.m[n]; !ok {
		s.seq++
		s.m[n] = s.seq
	}
}
func (s *nodeSet) list() []*fpNode {
	out := make([]*fpNode, 0, len(s.m))
	for n := range s.m {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return s.m[out[i]] < s.m[out[j]] })
	return out
}

// fpTree is MacroBase's StreamingFPTree, the CPS-tree of its streaming
// FP-growth: transactions are inserted in an item order that drifts as
// counts change, and restructuring re-sorts the unsorted branches.
type fpTree struct {
	root    *fpNode
	counts  *jmap[float64] // frequent items' counts; shared between trees, as in MacroBase
	order   *jmap[int32]   // item → rank by count (0 smallest)
	headers *jmap[*fpNode]
	leaves  *nodeSet
	sorted  *nodeSet
}

func newFPTree() *fpTree {
	return &fpTree{root: &fpNode{item: -1}, counts: newJMap[float64](0), order: newJMap[int32](0),
		headers: newJMap[*fpNode](0), leaves: newNodeSet(), sorted: newNodeSet()}
}

func (t *fpTree) decayWeights(start *fpNode, w float64) {
	if start == t.root {
		for _, e := range t.counts.entries() {
			e.val *= w
		}
	}
	start.count *= w
	for _, c := range start.children {
		t.decayWeights(c, w)
	}
}

func (t *fpTree) mergeChildren(n *fpNode, other []*fpNode) {
	if other == nil {
		return
	}
	if !n.hasChildrenSlice {
		n.children = slices.Clone(other)
		n.hasChildrenSlice = true
		for _, c := range other {
			c.parent = n
		}
		t.leaves.remove(n)
		return
	}
	for _, oc := range other {
		oc.parent = n
		matched := false
		for _, c := range n.children {
			if oc.item == c.item {
				t.removeFromHeaders(oc)
				c.count += oc.count
				t.mergeChildren(c, oc.childrenOrNil())
				matched = true
				break
			}
		}
		if !matched {
			n.children = append(n.children, oc)
		}
	}
}

func (n *fpNode) childrenOrNil() []*fpNode {
	if !n.hasChildrenSlice {
		return nil
	}
	if n.children == nil {
		return []*fpNode{}
	}
	return n.children
}

// insert adds the transaction from full[i] on below n with weight w.
func (t *fpTree) insert(n *fpNode, full []int32, i int, w float64, streaming bool) {
	for {
		if !streaming {
			t.sorted.add(n)
		}
		n.count += w
		if i == len(full) {
			return
		}
		cur := full[i]
		var match *fpNode
		for _, c := range n.children {
			if c.item == cur {
				match = c
				break
			}
		}
		if match == nil {
			match = &fpNode{item: cur, parent: n}
			if !streaming {
				t.sorted.add(match)
			}
			prev, _ := t.headers.Get(cur)
			t.headers.Put(cur, match)
			if prev != nil {
				match.next = prev
				prev.prev = match
			}
			n.children = append(n.children, match)
			n.hasChildrenSlice = true
			if i == len(full)-1 {
				t.leaves.add(match)
			}
			t.leaves.remove(n)
		}
		n, i = match, i+1
	}
}

// support counts the transactions holding every item of the pattern,
// truncating to an int at every step as MacroBase's int accumulator does.
func (t *fpTree) support(pattern *jset) float64 {
	keys := pattern.Keys()
	for _, k := range keys {
		if !t.counts.Has(k) {
			return 0
		}
	}
	sort.SliceStable(keys, func(i, j int) bool { return t.rank(keys[i]) < t.rank(keys[j]) })
	var count int32
	for head, _ := t.headers.Get(keys[0]); head != nil; head = head.next {
		find := len(keys)
		for cur := head; cur != nil; cur = cur.parent {
			if pattern.Has(cur.item) {
				find--
			}
			if find == 0 {
				count = javaInt(float64(count) + head.count)
				break
			}
		}
	}
	return float64(count)
}

// javaInt is Java's (int) cast of a double.
func javaInt(v float64) int32 {
	switch {
	case math.IsNaN(v):
		return 0
	case v >= math.MaxInt32:
		return math.MaxInt32
	case v <= math.MinInt32:
		return math.MinInt32
	}
	return int32(v)
}

func (t *fpTree) rank(k int32) int32 {
	r, _ := t.order.Get(k)
	return r
}

func (t *fpTree) deleteItems(items []int32) {
	for _, it := range items {
		t.counts.Delete(it)
		t.order.Delete(it)
		n, _ := t.headers.Get(it)
		for ; n != nil; n = n.next {
			n.parent.removeChild(n)
			if n.hasChildren() {
				t.mergeChildren(n.parent, n.children)
			}
			t.leaves.remove(n)
		}
		t.headers.Delete(it)
	}
}

func (t *fpTree) updateOrder() {
	t.sorted.clear()
	t.order.Clear()
	es := t.counts.entries()
	sort.SliceStable(es, func(i, j int) bool { return es[i].val < es[j].val })
	for i, e := range es {
		t.order.Put(e.key, int32(i))
	}
}

func (t *fpTree) insertConditionalItems(patterns []itemset, required int32) {
	ic := newJMap[float64](0)
	for _, p := range patterns {
		for _, it := range p.items.Keys() {
			v, _ := ic.Get(it)
			ic.Put(it, v+p.count)
		}
	}
	for _, e := range ic.entries() {
		if e.val >= float64(required) {
			t.counts.Put(e.key, e.val)
		}
	}
	t.updateOrder()
}

// sortTxn orders a transaction by descending rank; while streaming an
// item without a rank takes minus its code (and keeps it, as MacroBase's
// Map.compute does).
func (t *fpTree) sortTxn(txn []int32, streaming bool) {
	rank := func(k int32) int32 {
		if r, ok := t.order.Get(k); ok || !streaming {
			return r
		}
		t.order.Put(k, -k)
		return -k
	}
	sort.SliceStable(txn, func(i, j int) bool { return rank(txn[j]) < rank(txn[i]) })
}

func (t *fpTree) reinsertBranch(pattern *jset, count float64, at *fpNode) {
	var f []int32
	for _, k := range pattern.Keys() {
		if t.counts.Has(k) {
			f = append(f, k)
		}
	}
	t.sortTxn(f, false)
	t.insert(at, f, 0, count, false)
}

// insertStreaming adds one transaction while streaming, counting only the
// items already frequent (MacroBase's "false negative" mode).
func (t *fpTree) insertStreaming(txn []int32) {
	var f []int32
	for _, k := range txn {
		if t.counts.Has(k) {
			f = append(f, k)
		}
	}
	if len(f) == 0 {
		return
	}
	for _, k := range f {
		v, _ := t.counts.Get(k)
		t.counts.Put(k, v+1)
	}
	t.sortTxn(f, true)
	t.insert(t.root, f, 0, 1, true)
}

func (t *fpTree) mine(required int32) []itemset {
	req := float64(required)
	var single, branching []itemset
	cur := t.root
	var branch *fpNode
	var path []*fpNode
	for {
		if cur.count < req {
			break
		}
		if len(cur.children) > 1 {
			branch = cur
			break
		}
		if cur != t.root {
			path = append(path, cur)
		}
		if len(cur.children) == 0 {
			break
		}
		cur = cur.children[0]
	}
	// Every non-empty subset of the single path, in Guava's powerSet order.
	for mask := 1; mask < 1<<len(path); mask++ {
		minSupport := -1.0
		items := newJSet(0)
		for b, n := range path {
			if mask&(1<<b) == 0 {
				continue
			}
			items.Add(n.item)
			if minSupport == -1 || n.count < minSupport {
				minSupport = n.count
			}
		}
		single = append(single, itemset{items, minSupport})
	}
	if branch == nil {
		return single
	}
	mined := map[int32]bool{}
	for _, n := range path {
		mined[n.item] = true
	}
	for _, e := range t.headers.entries() {
		c, _ := t.counts.Get(e.key)
		if mined[e.key] || c < req {
			continue
		}
		branching = append(branching, itemset{singleton(e.key), c})
		var base []itemset
		for cn := e.val; cn != nil; cn = cn.next {
			pat := newJSet(0)
			for w := cn.parent; w != branch.parent && w != t.root; w = w.parent {
				pat.Add(w.item)
			}
			if pat.Len() > 0 {
				base = append(base, itemset{pat, cn.count})
			}
		}
		if len(base) == 0 {
			continue
		}
		ct := newFPTree()
		ct.insertConditionalItems(base, required)
		for _, p := range base {
			ct.reinsertBranch(p.items, p.count, ct.root)
		}
		cond := ct.mine(required)
		for _, is := range cond {
			is.items.Add(e.key)
		}
		branching = append(branching, cond...)
	}
	if len(single) == 0 {
		return branching
	}
	ret := append(append([]itemset{}, single...), branching...)
	for _, i := range single {
		for _, j := range branching {
			c := newJSet(0)
			for _, k := range i.items.Keys() {
				c.Add(k)
			}
			for _, k := range j.items.Keys() {
				c.Add(k)
			}
			ret = append(ret, itemset{c, math.Min(i.count, j.count)})
		}
	}
	return ret
}

func (t *fpTree) removeFromHeaders(n *fpNode) {
	t.leaves.remove(n)
	if n.prev == nil {
		t.headers.Put(n.item, n.next)
	} else {
		n.prev.next = n.next
	}
	if n.next != nil {
		n.next.prev = n.prev
	}
}

// sortByNewOrder re-sorts every branch that was inserted while streaming,
// walking up from its leaves, so the tree is in the current item order.
func (t *fpTree) sortByNewOrder() {
	todo := t.leaves.list()
	removed := map[*fpNode]bool{}
	for i := 0; i < len(todo); i++ {
		leaf := todo[i]
		if leaf == t.root || removed[leaf] || t.sorted.has(leaf) {
			continue
		}
		leafCount := leaf.count
		ins := newJSet(0)
		ins.Add(leaf.item)
		t.removeFromHeaders(leaf)
		removed[leaf] = true
		lowest := t.rank(leaf.item)
		n := leaf.parent
		n.removeChild(leaf)
		for n != t.root {
			r := t.rank(n.item)
			if t.sorted.has(n) && r < lowest {
				break
			} else if r < lowest {
				lowest = r
			}
			ins.Add(n.item)
			n.count -= leafCount
			if n.count == 0 && !n.hasChildren() {
				removed[n] = true
				t.removeFromHeaders(n)
				n.parent.removeChild(n)
			} else if !n.hasChildren() && !t.sorted.has(n) {
				todo = append(todo, n)
			}
			n = n.parent
		}
		n.count -= leafCount
		t.reinsertBranch(ins, leafCount, n)
	}
}

// streamingFPGrowth is MacroBase's StreamingFPGrowth over one fpTree.
type streamingFPGrowth struct {
	fp               *fpTree
	needsRestructure bool
	support          float64
}

func newStreamingFPGrowth(support float64) *streamingFPGrowth {
	return &streamingFPGrowth{fp: newFPTree(), support: support}
}

func (s *streamingFPGrowth) insert(txn []int32) {
	s.needsRestructure = true
	s.fp.insertStreaming(txn)
}

func (s *streamingFPGrowth) restructure(del []int32) {
	s.needsRestructure = false
	s.fp.deleteItems(del)
	s.fp.updateOrder()
	s.fp.sortByNewOrder()
}

// decayAndReset makes items the frequent items (the map is shared, not
// copied), decays the tree and restructures it.
func (s *streamingFPGrowth) decayAndReset(items *jmap[float64], rate float64) {
	var del []int32
	for _, k := range s.fp.order.Keys() {
		if !items.Has(k) {
			del = append(del, k)
		}
	}
	s.fp.counts = items
	s.fp.updateOrder()
	if rate > 0 {
		s.fp.decayWeights(s.fp.root, 1-rate)
	}
	s.restructure(del)
}

func (s *streamingFPGrowth) counts(targets []itemset) []itemset {
	if s.needsRestructure {
		s.restructure(nil)
	}
	out := make([]itemset, len(targets))
	for i, t := range targets {
		out[i] = itemset{t.items, s.fp.support(t.items)}
	}
	return out
}

func (s *streamingFPGrowth) itemsets() []itemset {
	if s.needsRestructure {
		s.restructure(nil)
	}
	return s.fp.mine(javaInt(s.fp.root.count * s.support))
}
