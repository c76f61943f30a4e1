package recommend

import (
	"math"
	"sort"
)

// Metrics is a ranking (and, for rating models, a rating) evaluation.
// The ranking metrics follow Microsoft Recommenders' python_evaluation
// definitions with binary relevance, averaged over the users that are in
// both the test set and the model (n_users):
//
//	precision@k = hits / k
//	recall@k    = hits / |relevant|
//	ndcg@k      = Σ_hits 1/log2(1+rank) / Σ_{r ≤ min(|relevant|, k)} 1/log2(1+r)
//	map@k       = Σ_hits (hits so far / rank) / |relevant|
//
// where relevant are the user's test items and the top k are ranked with
// the user's training items removed.
type Metrics struct {
	K         int      `json:"k"`
	Precision float64  `json:"precision"`
	Recall    float64  `json:"recall"`
	NDCG      float64  `json:"ndcg"`
	MAP       float64  `json:"map"`
	NUsers    int      `json:"n_users"`
	Coverage  float64  `json:"catalog_coverage"` // distinct recommended items / catalogue size
	RMSE      *float64 `json:"rmse,omitempty"`
	MAE       *float64 `json:"mae,omitempty"`
	NRated    int      `json:"n_rated,omitempty"` // test rows with a known user and item (RMSE/MAE)
}

// Evaluate ranks the top k for every test user the model knows and scores
// them against the user's test items (matched by external id, so a test
// file read on its own works). For an explicit mf model it also computes
// RMSE and MAE over the test rows whose user and item the model knows.
func Evaluate(m *Model, test *Interactions, k int) Metrics {
	rel := make(map[int32]map[string]bool)
	var users []int32
	for e := range test.U {
		u, ok := m.UserIndex(test.Users[test.U[e]])
		if !ok {
			continue
		}
		if rel[u] == nil {
			rel[u] = map[string]bool{}
			users = append(users, u)
		}
		rel[u][test.Items[test.I[e]]] = true
	}
	sort.Slice(users, func(a, b int) bool { return users[a] < users[b] })
	type res struct{ p, r, n, ap float64 }
	out := make([]res, len(users))
	recs := make([][]Scored, len(users))
	Parallel(len(users), func(lo, hi int) {
		for q := lo; q < hi; q++ {
			u := users[q]
			top := m.Recommend(int(u), nil, nil, k, true, nil)
			recs[q] = top
			rs := rel[u]
			var hits, dcg, ap float64
			for r, s := range top {
				if rs[m.Items[s.Item]] {
					hits++
					dcg += 1 / math.Log2(float64(r)+2)
					ap += hits / float64(r+1)
				}
			}
			var idcg float64
			for r := 0; r < min(len(rs), k); r++ {
				idcg += 1 / math.Log2(float64(r)+2)
			}
			out[q] = res{hits / float64(k), hits / float64(len(rs)), dcg / idcg, ap / float64(len(rs))}
		}
	})
	mt := Metrics{K: k, NUsers: len(users)}
	covered := map[int32]bool{}
	for q, r := range out {
		mt.Precision += r.p
		mt.Recall += r.r
		mt.NDCG += r.n
		mt.MAP += r.ap
		for _, s := range recs[q] {
			covered[s.Item] = true
		}
	}
	if n := float64(len(users)); n > 0 {
		mt.Precision /= n
		mt.Recall /= n
		mt.NDCG /= n
		mt.MAP /= n
	}
	if m.NItems() > 0 {
		mt.Coverage = float64(len(covered)) / float64(m.NItems())
	}
	if m.Explicit && m.Params.Algorithm == "mf" {
		var se, ae float64
		var n int
		for e := range test.U {
			u, ok1 := m.UserIndex(test.Users[test.U[e]])
			i, ok2 := m.ItemIndex(test.Items[test.I[e]])
			if !ok1 || !ok2 {
				continue
			}
			p, _ := m.PredictRating(int(u), int(i))
			d := p - test.R[e]
			se += d * d
			ae += math.Abs(d)
			n++
		}
		if n > 0 {
			rmse, mae := math.Sqrt(se/float64(n)), ae/float64(n)
			mt.RMSE, mt.MAE, mt.NRated = &rmse, &mae, n
		}
	}
	return mt
}

// Prequential is a replay evaluation: the test events are taken in time
// order (file order when there are no times); for each, the model ranks the
// top k for the user given everything seen so far (training plus the
// replayed events), the event scores a hit when its item is in the top k,
// and the event is then added to the user's history (factor models fold the
// user in again). Users the model has not seen start from an empty history.
type Prequential struct {
	K      int     `json:"k"`
	Events int     `json:"events"`
	HitAtK float64 `json:"hit_rate"` // share of events whose item was in the top k
	NDCG   float64 `json:"ndcg"`     // mean 1/log2(1+rank) of the event's item (0 when missed)
}

// EvaluatePrequential replays at most maxEvents test events (0: all).
func EvaluatePrequential(m *Model, test *Interactions, k, maxEvents int) Prequential {
	ord := make([]int, test.Len())
	for i := range ord {
		ord[i] = i
	}
	if test.T != nil {
		sort.SliceStable(ord, func(a, b int) bool { return test.T[ord[a]] < test.T[ord[b]] })
	}
	if maxEvents > 0 && len(ord) > maxEvents {
		ord = ord[:maxEvents]
	}
	type hist struct {
		items []int32
		vals  []float64
	}
	hs := map[string]*hist{}
	pq := Prequential{K: k}
	for _, e := range ord {
		uid := test.Users[test.U[e]]
		it, known := m.ItemIndex(test.Items[test.I[e]])
		h := hs[uid]
		u, kU := m.UserIndex(uid)
		if h == nil {
			h = &hist{}
			if kU {
				a, v := m.Seen.Row(int(u))
				h.items, h.vals = append([]int32(nil), a...), append([]float64(nil), v...)
			}
			hs[uid] = h
		}
		ui := -1
		if kU {
			ui = int(u)
		}
		items, vals := h.items, h.vals
		if items == nil {
			items, vals = []int32{}, []float64{}
		}
		top := m.Recommend(ui, items, vals, k, true, nil)
		pq.Events++
		if known {
			for r, s := range top {
				if s.Item == it {
					pq.HitAtK++
					pq.NDCG += 1 / math.Log2(float64(r)+2)
					break
				}
			}
			if !HasItem(h.items, it) {
				p := sort.Search(len(h.items), func(q int) bool { return h.items[q] >= it })
				h.items = append(h.items, 0)
				copy(h.items[p+1:], h.items[p:])
				h.items[p] = it
				h.vals = append(h.vals, 0)
				copy(h.vals[p+1:], h.vals[p:])
				h.vals[p] = test.R[e]
			}
		}
	}
	if pq.Events > 0 {
		pq.HitAtK /= float64(pq.Events)
		pq.NDCG /= float64(pq.Events)
	}
	return pq
}
