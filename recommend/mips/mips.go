// Package mips is exact top-K maximum inner product search over item
// factor vectors: blocked brute force, and an index in the manner of LEMP
// (Teflioudi et al., SIGMOD 2015) that scans items in decreasing norm and
// prunes with Cauchy–Schwarz, both on the whole vector (once |q|·|p| falls
// below the k-th best score no later item can enter) and on the tail of the
// vector after a prefix (the partial dot product plus |q_tail|·|p_tail|
// bounds the rest). Auto picks, as OPTIMUS (Abuzaid et al., ICDE 2019)
// does, whichever of the two is faster on a sample of the queries.
//
// Every method returns exactly the same lists: scores are computed by the
// same dot product, in the same order of operations, and ties are broken by
// the smaller item id (recommend.Better).
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

// prefixDims is how many leading dimensions the tail bound is computed after.
const prefixDims = 16

// slack widens every Cauchy–Schwarz bound so that rounding in the computed
// dot products can never prune an item brute force would keep.
const slack = 1e-9

// Index holds the items sorted by decreasing norm.
type Index struct {
	f            int
	ids          []int32   // position → item id
	vecs         []float64 // position-major copies of the vectors
	norms, tails []float64 // |p| and |p after prefixDims|
	prefix       int
}

// New builds the index over n items of f dimensions (row-major).
func New(items []float64, n, f int) *Index {
	ix := &Index{f: f, ids: make([]int32, n), vecs: make([]float64, n*f), norms: make([]float64, n), tails: make([]float64, n), prefix: min(prefixDims, f)}
	norms := make([]float64, n)
	for i := 0; i < n; i++ {
		v := items[i*f : (i+1)*f]
		norms[i] = math.Sqrt(Dot(v, v))
		ix.ids[i] = int32(i)
	}
	sort.SliceStable(ix.ids, func(a, b int) bool { return norms[ix.ids[a]] > norms[ix.ids[b]] })
	for pos, id := range ix.ids {
		v := items[int(id)*f : int(id+1)*f]
		copy(ix.vecs[pos*f:], v)
		ix.norms[pos] = norms[id]
		t := v[ix.prefix:]
		ix.tails[pos] = math.Sqrt(Dot(t, t))
	}
	return ix
}

// TopK returns the k items with the largest inner product with q, best
// first, and how many full dot products it computed.
func (ix *Index) TopK(q []float64, k int, h *recommend.TopHeap) ([]recommend.Scored, int) {
	return ix.TopKExcluding(q, k, h, nil)
}

// TopKExcluding is TopK leaving out the items of the ascending list skip
// (a user's seen items), so that the pruning works with k, not k + |skip|.
//
// The skip list is turned into a bitset over the item ids (one bit an item,
// from a pool, cleared again before return), so the scan tests membership in
// O(1) rather than by a binary search at every position; and the prefix of
// the tail bound is summed inline (it only decides pruning, and the slack
// covers its rounding), while every score kept is the full Dot.
func (ix *Index) TopKExcluding(q []float64, k int, h *recommend.TopHeap, skip []int32) ([]recommend.Scored, int) {
	f, pf := ix.f, ix.prefix
	qn := math.Sqrt(Dot(q, q))
	qt := math.Sqrt(Dot(q[pf:], q[pf:]))
	qp := q[:pf:pf]
	h.Reset(k)
	var bits []uint64
	if len(skip) > 0 {
		bp := bitsPool.Get().(*[]uint64)
		defer func() {
			for _, id := range skip {
				if id >= 0 && int(id) < len(ix.ids) {
					bits[id>>6] = 0
				}
			}
			bitsPool.Put(bp)
		}()
		if need := (len(ix.ids) + 63) / 64; cap(*bp) < need {
			*bp = make([]uint64, need)
		}
		bits = (*bp)[:(len(ix.ids)+63)/64]
		for _, id := range skip {
			if id >= 0 && int(id) < len(ix.ids) {
				bits[id>>6] |= 1 << (uint(id) & 63)
			}
		}
	}
	full := 0
	for pos, id := range ix.ids {
		if bits != nil && bits[id>>6]&(1<<(uint(id)&63)) != 0 {
			continue
		}
		v := ix.vecs[pos*f : (pos+1)*f : (pos+1)*f]
		if h.Full() {
			kth := h.Min().Score
			if qn*ix.norms[pos]*(1+slack) < kth {
				break // every later item has a smaller norm
			}
			if prefixDot(qp, v[:pf])+qt*ix.tails[pos]+slack*qn*ix.norms[pos] < kth {
				continue
			}
		}
		full++
		h.Push(id, Dot(q, v))
	}
	return h.Sorted(), full
}

// bitsPool holds the skip bitsets of TopKExcluding (all zero when pooled).
var bitsPool = sync.Pool{New: func() any { return new([]uint64) }}

// prefixDot is a plain inner product of two equal-length short vectors,
// used only inside a pruning bound.
func prefixDot(a, b []float64) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
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
