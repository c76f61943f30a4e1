// Package mips is exact top-K maximum inner product search over item
// factor vectors: blocked brute force, and an index in the manner of LEMP
// (Teflioudi et al., SIGMOD 2015) that scans items in decreasing norm and
// prunes with Cauchy–Schwarz (once |q|·|p| falls below the k-th best score
// no later item can enter) and, for the items the norm bound lets through,
// with a float32 copy of the vectors: the float32 inner product plus a
// rigorous bound on its rounding error (ε·|q|·|p|, ε ≈ (f+4)·2⁻²⁴) bounds
// the exact score, so only items that can still enter the top k get the
// float64 product. Auto picks, as OPTIMUS (Abuzaid et al., ICDE 2019)
// does, whichever of index and brute force is faster on a sample of the
// queries.
//
// Every method returns exactly the same lists: the scores kept are computed
// by the same float64 dot product, in the same order of operations, and
// ties are broken by the smaller item id (recommend.Better). The float32
// product only decides what to skip.
package mips

import (
	"math"
	"sort"
	"sync"
	"time"

	"github.com/dawn-ml/dawn/recommend"
)

// Dot is the inner product every method uses (recommend.Dot).
var Dot = recommend.Dot

// slack widens every Cauchy–Schwarz bound so that rounding in the computed
// norms and float64 dot products can never prune an item brute force would
// keep.
const slack = 1e-9

// max32 is the largest vector entry (in absolute value) for which the
// float32 filter is used: products and sums of such entries stay far from
// float32 overflow. Larger inputs are scanned with the norm bound alone.
const max32 = 1e15

// Index holds the items sorted by decreasing norm.
type Index struct {
	f     int
	ids   []int32   // position → item id
	vecs  []float64 // position-major copies of the vectors
	norms []float64 // |p|
	// vec32 is vecs rounded to float32, each row zero-padded to stride32
	// (a multiple of 8, for the kernel); nil when an entry exceeds max32.
	// eps32 and abs32 bound the float32 product's error (see filterBound).
	vec32        []float32
	stride32     int
	eps32, abs32 float64
	maxAbs       float64 // largest |entry| of any item
}

// New builds the index over n items of f dimensions (row-major).
func New(items []float64, n, f int) *Index {
	ix := &Index{f: f, ids: make([]int32, n), vecs: make([]float64, n*f), norms: make([]float64, n)}
	norms := make([]float64, n)
	for i := 0; i < n; i++ {
		v := items[i*f : (i+1)*f]
		norms[i] = math.Sqrt(Dot(v, v))
		ix.ids[i] = int32(i)
	}
	sort.SliceStable(ix.ids, func(a, b int) bool { return norms[ix.ids[a]] > norms[ix.ids[b]] })
	for pos, id := range ix.ids {
		copy(ix.vecs[pos*f:], items[int(id)*f:int(id+1)*f])
		ix.norms[pos] = norms[id]
	}
	for _, x := range ix.vecs {
		ix.maxAbs = max(ix.maxAbs, math.Abs(x))
	}
	if ix.maxAbs <= max32 { // also false for NaN entries
		ix.stride32 = (f + 7) &^ 7
		ix.vec32 = make([]float32, n*ix.stride32)
		for pos := 0; pos < n; pos++ {
			row := ix.vec32[pos*ix.stride32:]
			for j, x := range ix.vecs[pos*f : (pos+1)*f] {
				row[j] = float32(x)
			}
		}
	}
	ix.eps32, ix.abs32 = filterBound(f)
	return ix
}

// filterBound returns ε and α such that for vectors q, p of f entries, each
// at most max32 in absolute value, the float32 inner product d32 of their
// float32 roundings (summed in any order) and the float64 Dot d64 satisfy
//
//	d64 ≤ d32 + ε·|q|·|p| + α·(2 + max|q_i| + max|p_i|).
//
// With u = 2⁻²⁴: rounding each entry, each product and the f − 1 additions
// costs at most (f + 2)·u·Σ|q_i·p_i| to first order, and Σ|q_i·p_i| ≤
// |q|·|p|; the float64 Dot adds at most f·2⁻⁵³·|q|·|p|. Entries and
// products in float32's subnormal range lose up to 2⁻¹⁵⁰ each in absolute
// terms, which α covers. Both are doubled for the higher-order terms.
func filterBound(f int) (eps, abs float64) {
	u := math.Ldexp(1, -24)
	eps = 2*(float64(f)+4)*u + 2*float64(f)*math.Ldexp(1, -53)
	abs = 2 * float64(f+1) * math.Ldexp(1, -150)
	return eps, abs
}

// Stats is the work one query took.
type Stats struct {
	Scanned int // positions reached before the norm bound ended the scan (skipped items included)
	Exact   int // float64 dot products computed (the rest were pruned)
}

// TopK returns the k items with the largest inner product with q, best
// first, and the work it took.
func (ix *Index) TopK(q []float64, k int, h *recommend.TopHeap) ([]recommend.Scored, Stats) {
	return ix.TopKExcluding(q, k, h, nil)
}

// block is how many positions the float32 kernel scores at a time: enough
// to pay for the call, few enough that little is wasted past the place
// where the norm bound ends the scan.
const block = 32

// scratch is the per-query working memory of TopKExcluding, pooled.
type scratch struct {
	bits []uint64  // the skip list as a bitset over item ids; all zero when pooled
	q32  []float32 // the query rounded to float32, zero-padded to stride32
	d32  [block]float32
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// TopKExcluding is TopK leaving out the items of the list skip (a user's
// seen items), so that the pruning works with k, not k + |skip|.
//
// The skip list is turned into a bitset over the item ids (one bit an item,
// pooled, cleared again before return), so the scan tests membership in
// O(1) rather than by a search at every position.
func (ix *Index) TopKExcluding(q []float64, k int, h *recommend.TopHeap, skip []int32) ([]recommend.Scored, Stats) {
	return ix.AppendTopKExcluding(nil, q, k, h, skip)
}

// AppendTopKExcluding is TopKExcluding appending the answer to dst, so a
// server can reuse one buffer across requests.
func (ix *Index) AppendTopKExcluding(dst []recommend.Scored, q []float64, k int, h *recommend.TopHeap, skip []int32) ([]recommend.Scored, Stats) {
	f, n := ix.f, len(ix.ids)
	q = q[:f:f]
	qn := math.Sqrt(Dot(q, q))
	h.Reset(k)
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	var bits []uint64
	if len(skip) > 0 {
		need := (n + 63) / 64
		if cap(sc.bits) < need {
			sc.bits = make([]uint64, need)
		}
		bits = sc.bits[:need]
		for _, id := range skip {
			if id >= 0 && int(id) < n {
				bits[id>>6] |= 1 << (uint(id) & 63)
			}
		}
		defer func() {
			for _, id := range skip {
				if id >= 0 && int(id) < n {
					bits[id>>6] = 0
				}
			}
		}()
	}
	// The float32 filter, when both the items and the query are in range.
	use32 := ix.vec32 != nil
	var qmax float64
	for _, x := range q {
		qmax = max(qmax, math.Abs(x))
	}
	if !(qmax <= max32) {
		use32 = false
	}
	var q32 []float32
	if use32 {
		if cap(sc.q32) < ix.stride32 {
			sc.q32 = make([]float32, ix.stride32)
		}
		q32 = sc.q32[:ix.stride32]
		clear(q32[f:])
		for j, x := range q {
			q32[j] = float32(x)
		}
	}
	eps := ix.eps32 * qn
	abs := ix.abs32 * (2 + qmax + ix.maxAbs)
	st := Stats{Scanned: n}
	b0, b1 := 0, 0 // sc.d32 holds the float32 products of positions b0..b1-1
	for pos, id := range ix.ids {
		if bits != nil && bits[id>>6]&(1<<(uint(id)&63)) != 0 {
			continue
		}
		if h.Full() {
			kth := h.Min().Score
			bound := qn * ix.norms[pos]
			if bound*(1+slack) < kth {
				st.Scanned = pos
				break // every later item has a smaller norm
			}
			if use32 {
				if pos >= b1 {
					b0, b1 = pos, min(pos+block, n)
					dots32(q32, ix.vec32[b0*ix.stride32:b1*ix.stride32], sc.d32[:b1-b0])
				}
				if float64(sc.d32[pos-b0])+eps*ix.norms[pos]+abs < kth {
					continue
				}
			}
		}
		st.Exact++
		h.Push(id, Dot(q, ix.vecs[pos*f:(pos+1)*f:(pos+1)*f]))
	}
	return h.AppendSorted(dst), st
}

// BruteForce scores every item for every query in blocks (a block of items
// stays in cache while a block of queries passes over it) on all cores and
// returns each query's top k.
func BruteForce(items []float64, n, f int, queries []float64, nq, k int) [][]recommend.Scored {
	out := make([][]recommend.Scored, nq)
	const qBlock, iBlock = 32, 512
	nb := (nq + qBlock - 1) / qBlock
	parallelChunks(nb, func(b int) {
		lo, hi := b*qBlock, min((b+1)*qBlock, nq)
		heaps := make([]recommend.TopHeap, hi-lo)
		for i := range heaps {
			heaps[i].Reset(k)
		}
		for i0 := 0; i0 < n; i0 += iBlock {
			i1 := min(i0+iBlock, n)
			for u := lo; u < hi; u++ {
				q := queries[u*f : (u+1)*f]
				h := &heaps[u-lo]
				for i := i0; i < i1; i++ {
					h.Push(int32(i), Dot(q, items[i*f:(i+1)*f]))
				}
			}
		}
		for u := lo; u < hi; u++ {
			out[u] = heaps[u-lo].Sorted()
		}
	})
	return out
}

// All answers every query with the index, on all cores.
func (ix *Index) All(queries []float64, nq, k int) [][]recommend.Scored {
	out := make([][]recommend.Scored, nq)
	const block = 16
	nb := (nq + block - 1) / block
	parallelChunks(nb, func(b int) {
		var h recommend.TopHeap
		for u := b * block; u < min((b+1)*block, nq); u++ {
			out[u], _ = ix.TopK(queries[u*ix.f:(u+1)*ix.f], k, &h)
		}
	})
	return out
}

// Choice says which method Auto used and the sampled costs per query.
type Choice struct {
	Index         bool    `json:"index"`
	IndexPerQuery float64 `json:"index_seconds_per_query"`
	BrutePerQuery float64 `json:"brute_seconds_per_query"`
	Sampled       int     `json:"sampled_queries"`
}

// Auto answers every query by whichever of the index and blocked brute
// force is faster on a sample of the queries (OPTIMUS's cost-based choice);
// the sample's answers are kept, so nothing is computed twice.
func Auto(ix *Index, items []float64, n, f int, queries []float64, nq, k int) ([][]recommend.Scored, Choice) {
	s := min(nq, max(64, nq/50))
	t0 := time.Now()
	a := ix.All(queries[:s*f], s, k)
	ti := time.Since(t0).Seconds() / float64(s)
	t0 = time.Now()
	BruteForce(items, n, f, queries[:s*f], s, k)
	tb := time.Since(t0).Seconds() / float64(s)
	c := Choice{Index: ti < tb, IndexPerQuery: ti, BrutePerQuery: tb, Sampled: s}
	var rest [][]recommend.Scored
	if c.Index {
		rest = ix.All(queries[s*f:], nq-s, k)
	} else {
		rest = BruteForce(items, n, f, queries[s*f:], nq-s, k)
	}
	return append(a, rest...), c
}

// parallelChunks runs fn(0..n-1) on all cores.
func parallelChunks(n int, fn func(i int)) {
	recommend.Parallel(n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			fn(i)
		}
	})
}
