package recommend

import (
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"
)

// itemSimilarity computes, for every item j, its similarity to every item
// that shares a user with it, from the item × user matrix w, keeping the
// best keep neighbours per item (0: all). kind is "dot" (the weighted
// co-occurrence itself), "cosine" or "jaccard" (on binary co-occurrence).
// With self false an item is not its own neighbour.
func itemSimilarity(itemUsers, userItems *CSR, kind string, keep int, self bool) *CSR {
	ni := itemUsers.Rows
	norms := make([]float64, ni)
	for i := 0; i < ni; i++ {
		_, v := itemUsers.Row(i)
		switch kind {
		case "cosine":
			norms[i] = math.Sqrt(Dot(v, v))
		case "jaccard":
			norms[i] = float64(len(v))
		}
	}
	type rowOut struct {
		idx []int32
		val []float64
	}
	out := make([]rowOut, ni)
	Parallel(ni, func(lo, hi int) {
		acc := make([]float64, ni)
		var touched []int32
		var h TopHeap
		for j := lo; j < hi; j++ {
			touched = touched[:0]
			us, uv := itemUsers.Row(j)
			for q, u := range us {
				its, iv := userItems.Row(int(u))
				a := uv[q]
				if kind == "jaccard" {
					a = 1
				}
				for r, i := range its {
					b := iv[r]
					if kind == "jaccard" {
						b = 1
					}
					if acc[i] == 0 {
						touched = append(touched, i)
					}
					acc[i] += a * b
				}
			}
			n := keep
			if n <= 0 {
				n = len(touched)
			}
			h.Reset(n)
			for _, i := range touched {
				s := acc[i]
				acc[i] = 0
				if !self && int(i) == j {
					continue
				}
				switch kind {
				case "cosine":
					if d := norms[i] * norms[j]; d > 0 {
						s /= d
					} else {
						s = 0
					}
				case "jaccard":
					s /= norms[i] + norms[j] - s
				}
				if s > 0 {
					h.Push(i, s)
				}
			}
			best := h.Sorted()
			sort.Slice(best, func(a, b int) bool { return best[a].Item < best[b].Item })
			ro := rowOut{idx: make([]int32, len(best)), val: make([]float64, len(best))}
			for k, s := range best {
				ro.idx[k], ro.val[k] = s.Item, s.Score
			}
			out[j] = ro
		}
	})
	sim := &CSR{Rows: ni, Cols: ni, Ptr: make([]int, ni+1)}
	for j, ro := range out {
		sim.Idx = append(sim.Idx, ro.idx...)
		sim.Val = append(sim.Val, ro.val...)
		sim.Ptr[j+1] = len(sim.Idx)
	}
	return sim
}

// fitItemKNN is item-item nearest neighbours (as implicit's ItemItem
// models): cosine on the raw item × user matrix, or the dot product of the
// BM25- (K1 1.2, B 0.75) or TF-IDF-weighted matrix; a user's score for i
// sums the similarities of i to the user's items.
func (m *Model) fitItemKNN() error {
	iu := m.Seen.Transpose()
	for i := range iu.Val { // neighbourhoods of presence, not of rating size
		iu.Val[i] = 1
	}
	kind := "dot"
	switch m.Params.Weighting {
	case "cosine":
		kind = "cosine"
	case "bm25":
		bm25Weight(iu, 1.2, 0.75)
	case "tfidf":
		tfidfWeight(iu)
	default:
		return fmt.Errorf("itemknn weighting %q: want cosine, bm25 or tfidf", m.Params.Weighting)
	}
	m.Sim = itemSimilarity(iu, iu.Transpose(), kind, m.Params.Neighbours, false)
	return nil
}

// userCounts is the number of items of each user (column) of an item × user matrix.
func userCounts(iu *CSR) []float64 {
	c := make([]float64, iu.Cols)
	for _, u := range iu.Idx {
		c[u]++
	}
	return c
}

// bm25Weight weights an item × user matrix in place: idf per user, length
// normalisation per item, as Okapi BM25 with items as documents.
func bm25Weight(iu *CSR, k1, b float64) {
	n := float64(iu.Rows)
	df := userCounts(iu)
	var total float64
	for _, v := range iu.Val {
		total += v
	}
	avg := total / n
	for i := 0; i < iu.Rows; i++ {
		us, v := iu.Row(i)
		var rowSum float64
		for _, x := range v {
			rowSum += x
		}
		ln := (1 - b) + b*rowSum/avg
		for q, u := range us {
			idf := math.Log(n) - math.Log1p(df[u])
			v[q] = v[q] * (k1 + 1) / (k1*ln + v[q]) * idf
		}
	}
}

// tfidfWeight weights an item × user matrix in place: sqrt(tf) × idf.
func tfidfWeight(iu *CSR) {
	n := float64(iu.Rows)
	df := userCounts(iu)
	for i := 0; i < iu.Rows; i++ {
		us, v := iu.Row(i)
		for q, u := range us {
			v[q] = math.Sqrt(v[q]) * (math.Log(n) - math.Log1p(df[u]))
		}
	}
}

// fitSAR is Microsoft's Smart Adaptive Recommendations: Jaccard similarity
// of item co-occurrence, times each user's affinity (the sum of the user's
// weights, each decayed by 2^(−age/half-life) against the latest time).
func (m *Model) fitSAR(x *Interactions) {
	iu := m.Seen.Transpose()
	m.Sim = itemSimilarity(iu, m.Seen, "jaccard", 0, true)
	if x.T == nil || m.Params.HalfLife <= 0 {
		m.Aff = m.Seen
		return
	}
	var latest int64 = math.MinInt64
	for _, t := range x.T {
		latest = max(latest, t)
	}
	dec := make([]float64, x.Len())
	for e, t := range x.T {
		dec[e] = x.R[e] * math.Exp2(-float64(latest-t)/m.Params.HalfLife)
	}
	m.Aff = buildCSR(x.NUsers(), x.NItems(), x.U, x.I, dec, true)
}

// fitEASE is Steck's EASE^R: B = I − P·diag(1/diag(P)) with P = (XᵀX +
// λI)⁻¹, on the binary user × item matrix restricted to the MaxItems most
// popular items (the inverse is dense: MaxItems² × 8 bytes, twice).
func (m *Model) fitEASE() error {
	ord := itemsByPopularity(m.Seen)
	n := min(m.Params.MaxItems, len(ord))
	keep := append([]int32(nil), ord[:n]...)
	sort.Slice(keep, func(a, b int) bool { return keep[a] < keep[b] })
	pos := make([]int32, m.Seen.Cols)
	for i := range pos {
		pos[i] = -1
	}
	for k, it := range keep {
		pos[it] = int32(k)
	}
	g := make([]float64, n*n)
	var sel []int32
	for u := 0; u < m.Seen.Rows; u++ {
		items, _ := m.Seen.Row(u)
		sel = sel[:0]
		for _, it := range items {
			if p := pos[it]; p >= 0 {
				sel = append(sel, p)
			}
		}
		for _, a := range sel {
			row := g[int(a)*n : int(a+1)*n]
			for _, b := range sel {
				row[b]++
			}
		}
	}
	for i := 0; i < n; i++ {
		g[i*n+i] += m.Params.Lambda
	}
	var ch mat.Cholesky
	if !ch.Factorize(mat.NewSymDense(n, g)) {
		return fmt.Errorf("XᵀX + λI is not positive definite (λ = %v)", m.Params.Lambda)
	}
	var inv mat.SymDense
	if err := ch.InverseTo(&inv); err != nil {
		return fmt.Errorf("invert the item Gram matrix: %w", err)
	}
	b := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			if i != j {
				b[i*n+j] = -inv.At(i, j) / inv.At(j, j)
			}
		}
	}
	m.EaseItems, m.EaseB = keep, b
	return nil
}
