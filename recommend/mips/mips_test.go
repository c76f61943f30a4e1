package mips

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/dawn-ml/dawn/recommend"
)

// skewed draws n vectors with random directions and log-normal norms, as
// trained factor models have (popular items have long vectors).
func skewed(rng *rand.Rand, n, f int, sigma float64) []float64 {
	v := make([]float64, n*f)
	for i := 0; i < n; i++ {
		row := v[i*f : (i+1)*f]
		var s float64
		for j := range row {
			row[j] = rng.NormFloat64()
			s += row[j] * row[j]
		}
		scale := math.Exp(sigma*rng.NormFloat64()) / math.Sqrt(s)
		for j := range row {
			row[j] *= scale
		}
	}
	return v
}

func gaussian(rng *rand.Rand, n, f int) []float64 {
	v := make([]float64, n*f)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	return v
}

// TestExactOnRandomQueries: the index, brute force and Auto agree item for
// item and score for score on 1,000 random queries, with duplicated items
// (exact ties, broken by the smaller id) and both kinds of input.
func TestExactOnRandomQueries(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n, f, nq, k := 3000, 24, 1000, 10
	for name, items := range map[string][]float64{"skewed": skewed(rng, n, f, 1), "gaussian": gaussian(rng, n, f)} {
		for d := 0; d < 200; d++ { // exact ties: copies of other items
			src, dst := rng.IntN(n), rng.IntN(n)
			copy(items[dst*f:(dst+1)*f], items[src*f:(src+1)*f])
		}
		queries := gaussian(rng, nq, f)
		copy(queries[:f], items[5*f:6*f]) // a query equal to an item
		ix := New(items, n, f)
		want := BruteForce(items, n, f, queries, nq, k)
		got := ix.All(queries, nq, k)
		auto, _ := Auto(ix, items, n, f, queries, nq, k)
		pruned, scanned := 0, 0
		var h recommend.TopHeap
		for q := 0; q < nq; q++ {
			if !slices.Equal(got[q], want[q]) || !slices.Equal(auto[q], want[q]) {
				t.Fatalf("%s: query %d: index %v, auto %v, brute force %v", name, q, got[q], auto[q], want[q])
			}
			if len(want[q]) != k {
				t.Fatalf("%d results", len(want[q]))
			}
			_, st := ix.TopK(queries[q*f:(q+1)*f], k, &h)
			pruned += n - st.Exact
			scanned += st.Scanned
		}
		t.Logf("%s: %.1f%% of the positions scanned, %.1f%% of the float64 dot products pruned", name,
			100*float64(scanned)/float64(n*nq), 100*float64(pruned)/float64(n*nq))
		// The norm bound ends the scan early only on skewed norms; the
		// float32 filter leaves few exact products on either input.
		if name == "skewed" && scanned > n*nq/2 {
			t.Errorf("skewed norms: %d of %d positions scanned", scanned, n*nq)
		}
		if pruned < n*nq*9/10 {
			t.Errorf("%s: only %d of %d float64 dot products pruned", name, pruned, n*nq)
		}
	}
}

func TestTiesByItemID(t *testing.T) {
	items := []float64{1, 0, 2, 0, 1, 0, 2, 0} // items 1 and 3 tie at 2, 0 and 2 at 1
	ix := New(items, 4, 2)
	var h recommend.TopHeap
	got, _ := ix.TopK([]float64{1, 0}, 3, &h)
	want := []recommend.Scored{{Item: 1, Score: 2}, {Item: 3, Score: 2}, {Item: 0, Score: 1}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// The benchmark of the acceptance item: exact top-10 for users over
// 100,000 items × 128 dimensions.
const benchItems, benchDims, benchUsers = 100000, 128, 512

func benchData(skew bool) (items, users []float64) {
	rng := rand.New(rand.NewPCG(7, 8))
	if skew {
		items = skewed(rng, benchItems, benchDims, 1)
	} else {
		items = gaussian(rng, benchItems, benchDims)
	}
	return items, gaussian(rng, benchUsers, benchDims)
}

func BenchmarkTopKSkewedIndex(b *testing.B) {
	items, users := benchData(true)
	ix := New(items, benchItems, benchDims)
	for b.Loop() {
		ix.All(users, benchUsers, 10)
	}
}

func BenchmarkTopKSkewedBrute(b *testing.B) {
	items, users := benchData(true)
	for b.Loop() {
		BruteForce(items, benchItems, benchDims, users, benchUsers, 10)
	}
}

func BenchmarkTopKGaussianIndex(b *testing.B) {
	items, users := benchData(false)
	ix := New(items, benchItems, benchDims)
	for b.Loop() {
		ix.All(users, benchUsers, 10)
	}
}

func BenchmarkTopKGaussianBrute(b *testing.B) {
	items, users := benchData(false)
	for b.Loop() {
		BruteForce(items, benchItems, benchDims, users, benchUsers, 10)
	}
}

func BenchmarkTopKGaussianAuto(b *testing.B) {
	items, users := benchData(false)
	ix := New(items, benchItems, benchDims)
	for b.Loop() {
		Auto(ix, items, benchItems, benchDims, users, benchUsers, 10)
	}
}

func TestExcludingEqualsMaskedBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n, f := 2000, 16
	items := skewed(rng, n, f, 1)
	ix := New(items, n, f)
	var h recommend.TopHeap
	for q := 0; q < 200; q++ {
		qv := gaussian(rng, 1, f)
		var skip []int32
		for i := 0; i < n; i++ {
			if rng.Float64() < 0.05 {
				skip = append(skip, int32(i))
			}
		}
		want := maskedBrute(items, n, f, qv, 10, skip)
		got, _ := ix.TopKExcluding(qv, 10, &h, skip)
		if !slices.Equal(got, want) {
			t.Fatalf("query %d: %v, want %v", q, got, want)
		}
	}
}

// The skip bitset comes from a pool shared by every index: alternating two
// catalogue sizes, with skipped ids on word boundaries, must still answer
// as the masked brute force does (no bit left over from an earlier query).
func TestExcludingPooledBitsetAcrossIndexes(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	f := 8
	sizes := []int{130, 1000}
	var ixs []*Index
	var data [][]float64
	for _, n := range sizes {
		items := skewed(rng, n, f, 1)
		data = append(data, items)
		ixs = append(ixs, New(items, n, f))
	}
	var h recommend.TopHeap
	for q := 0; q < 100; q++ {
		which := q % 2
		n, items, ix := sizes[which], data[which], ixs[which]
		qv := gaussian(rng, 1, f)
		skip := []int32{0}
		for _, i := range []int32{63, 64, 127, 128, int32(n - 1)} {
			if rng.Float64() < 0.7 {
				skip = append(skip, i)
			}
		}
		for i := int32(129); i < int32(n-1); i++ {
			if rng.Float64() < 0.1 {
				skip = append(skip, i)
			}
		}
		slices.Sort(skip)
		want := maskedBrute(items, n, f, qv, 5, skip)
		got, _ := ix.TopKExcluding(qv, 5, &h, skip)
		if !slices.Equal(got, want) {
			t.Fatalf("query %d (n=%d): %v, want %v", q, n, got, want)
		}
		if which == 1 {
			// Without a skip list the answer is the plain top k.
			got, _ = ix.TopK(qv, 5, &h)
			if want := maskedBrute(items, n, f, qv, 5, nil); !slices.Equal(got, want) {
				t.Fatalf("query %d no skip: %v, want %v", q, got, want)
			}
		}
	}
}

// maskedBrute is the top k of every item not in the ascending list skip,
// scored one by one.
func maskedBrute(items []float64, n, f int, q []float64, k int, skip []int32) []recommend.Scored {
	var h recommend.TopHeap
	h.Reset(k)
	for i := 0; i < n; i++ {
		if !recommend.HasItem(skip, int32(i)) {
			h.Push(int32(i), Dot(q, items[i*f:(i+1)*f]))
		}
	}
	return h.Sorted()
}

// TestFloat32FilterKeepsNearTies: items that differ from others by less
// than float32 can tell apart (relative 1e-12 to 1e-6, one coordinate or
// the whole vector), and vectors at float32's extremes, still come back
// exactly as brute force ranks them: the filter's error bound, not luck,
// keeps them.
func TestFloat32FilterKeepsNearTies(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, scale := range []float64{1e-25, 1, 1e12, 1e16} { // 1e16: past max32, no filter
		n, f, nq, k := 1500, 40, 300, 10
		items := skewed(rng, n, f, 0.3)
		for i := 0; i < n/2; i++ {
			src, dst := rng.IntN(n), rng.IntN(n)
			d := []float64{1e-12, 1e-9, 1e-7, 1e-6}[rng.IntN(4)]
			for j := 0; j < f; j++ {
				items[dst*f+j] = items[src*f+j]
			}
			if rng.IntN(2) == 0 {
				items[dst*f+rng.IntN(f)] *= 1 + d
			} else {
				for j := 0; j < f; j++ {
					items[dst*f+j] *= 1 + d
				}
			}
		}
		for i := range items {
			items[i] *= scale
		}
		queries := gaussian(rng, nq, f)
		for q := 0; q < 20; q++ { // queries along items, where near-ties are closest
			copy(queries[q*f:(q+1)*f], items[rng.IntN(n)*f:])
		}
		ix := New(items, n, f)
		if (ix.vec32 != nil) != (scale < max32) {
			t.Fatalf("scale %g: float32 filter in use %v", scale, ix.vec32 != nil)
		}
		want := BruteForce(items, n, f, queries, nq, k)
		got := ix.All(queries, nq, k)
		for q := range want {
			if !slices.Equal(got[q], want[q]) {
				t.Fatalf("scale %g query %d: index %v, brute force %v", scale, q, got[q], want[q])
			}
		}
	}
}
