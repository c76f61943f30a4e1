package classic

import "sort"

// jmap is a map from int32 keys that iterates in the order
// java.util.HashMap<Integer, V> does: by bucket (the spread hash modulo the
// table length), and within a bucket by insertion. MacroBase's summarizer
// sorts map entries with stable sorts and breaks ties by that order, so
// reproducing its results needs it. The table grows as HashMap's does
// (doubling past 3/4 full) and, like HashMap, never shrinks, not even on
// clear. (HashMap turns a bucket of 8 or more entries into a tree; with the
// small, dense keys an encoder hands out that does not happen here.)
type jmap[V any] struct {
	m     map[int32]*jentry[V]
	table int // table length; 0 until the first put
	init  int // requested initial capacity (0: the default 16)
	seq   uint64
}

type jentry[V any] struct {
	key int32
	val V
	seq uint64
}

func newJMap[V any](initialCapacity int) *jmap[V] {
	return &jmap[V]{m: map[int32]*jentry[V]{}, init: initialCapacity}
}

// tableSizeFor is HashMap's: the smallest power of two >= c (1 for c <= 1).
func tableSizeFor(c int) int {
	n := 1
	for n < c {
		n <<= 1
	}
	return n
}

func (j *jmap[V]) bucket(k int32) int {
	h := uint32(k)
	return int((h ^ h>>16) & uint32(j.table-1))
}

func (j *jmap[V]) Len() int { return len(j.m) }

func (j *jmap[V]) Get(k int32) (V, bool) {
	e, ok := j.m[k]
	if !ok {
		var zero V
		return zero, false
	}
	return e.val, true
}

func (j *jmap[V]) Has(k int32) bool { _, ok := j.m[k]; return ok }

// Put sets k's value; a new key goes to the end of its bucket.
func (j *jmap[V]) Put(k int32, v V) {
	if e, ok := j.m[k]; ok {
		e.val = v
		return
	}
	if j.table == 0 {
		if j.init > 0 {
			j.table = tableSizeFor(j.init)
		} else {
			j.table = 16
		}
	}
	j.seq++
	j.m[k] = &jentry[V]{key: k, val: v, seq: j.seq}
	if len(j.m) > int(float32(j.table)*0.75) {
		j.table *= 2
	}
}

func (j *jmap[V]) Delete(k int32) { delete(j.m, k) }

// Clear empties the map and keeps its table length, as HashMap.clear does.
func (j *jmap[V]) Clear() { clear(j.m) }

// Keys returns the keys in HashMap iteration order.
func (j *jmap[V]) Keys() []int32 {
	es := j.entries()
	ks := make([]int32, len(es))
	for i, e := range es {
		ks[i] = e.key
	}
	return ks
}

func (j *jmap[V]) entries() []*jentry[V] {
	es := make([]*jentry[V], 0, len(j.m))
	for _, e := range j.m {
		es = append(es, e)
	}
	sort.Slice(es, func(a, b int) bool {
		ba, bb := j.bucket(es[a].key), j.bucket(es[b].key)
		if ba != bb {
			return ba < bb
		}
		return es[a].seq < es[b].seq
	})
	return es
}

// jset is java.util.HashSet<Integer>: a jmap without values.
type jset struct{ jmap[struct{}] }

func newJSet(initialCapacity int) *jset {
	return &jset{jmap[struct{}]{m: map[int32]*jentry[struct{}]{}, init: initialCapacity}}
}

func (s *jset) Add(k int32) { s.Put(k, struct{}{}) }

// singleton is Guava's Sets.newHashSet(k): a HashSet sized for one element.
func singleton(k int32) *jset {
	s := newJSet(2)
	s.Add(k)
	return s
}
