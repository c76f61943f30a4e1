package recommend

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"

	"gonum.org/v1/gonum/floats"
)

// Algorithms lists the model names Fit accepts.
var Algorithms = []string{"popularity", "itemknn", "mf", "als", "bpr", "ease", "sar"}

// Params are the hyper-parameters of every model; each model reads the
// ones it uses (see Defaults).
type Params struct {
	Algorithm  string  `json:"algorithm"`
	Factors    int     `json:"factors,omitempty"`    // mf, als, bpr
	Reg        float64 `json:"reg,omitempty"`        // mf, als, bpr: L2 penalty
	Alpha      float64 `json:"alpha,omitempty"`      // als: confidence 1 + alpha·weight
	Iterations int     `json:"iterations,omitempty"` // mf, als: sweeps; bpr: epochs of samples
	LR         float64 `json:"lr,omitempty"`         // mf (sgd), bpr: learning rate
	Solver     string  `json:"solver,omitempty"`     // mf: als or sgd
	CGSteps    int     `json:"cg_steps,omitempty"`   // als: conjugate-gradient steps per solve
	Neighbours int     `json:"neighbours,omitempty"` // itemknn: neighbours kept per item
	Weighting  string  `json:"weighting,omitempty"`  // itemknn: cosine, bm25 or tfidf
	Lambda     float64 `json:"lambda,omitempty"`     // ease: L2 penalty of the item-item weights
	MaxItems   int     `json:"max_items,omitempty"`  // ease: the most popular items modelled (memory max_items² × 8 bytes)
	HalfLife   float64 `json:"half_life,omitempty"`  // sar: affinity half-life in time units (seconds for Unix times); 0: no decay
	Seed       uint64  `json:"seed"`
}

// Defaults returns p with every zero field of its algorithm set to a value
// that does well on MovieLens-like data.
func Defaults(p Params) Params {
	set := func(f *float64, v float64) {
		if *f == 0 {
			*f = v
		}
	}
	seti := func(f *int, v int) {
		if *f == 0 {
			*f = v
		}
	}
	switch p.Algorithm {
	case "mf":
		if p.Solver == "" {
			p.Solver = "als"
		}
		seti(&p.Factors, 16)
		if p.Solver == "sgd" {
			set(&p.Reg, 0.05)
			set(&p.LR, 0.01)
			seti(&p.Iterations, 30)
		} else {
			set(&p.Reg, 0.1)
			seti(&p.Iterations, 15)
		}
	case "als":
		seti(&p.Factors, 64)
		set(&p.Reg, 1)
		set(&p.Alpha, 5)
		seti(&p.Iterations, 15)
		seti(&p.CGSteps, 3)
	case "bpr":
		seti(&p.Factors, 64)
		set(&p.Reg, 0.01)
		set(&p.LR, 0.05)
		seti(&p.Iterations, 60)
	case "itemknn":
		seti(&p.Neighbours, 100)
		if p.Weighting == "" {
			p.Weighting = "cosine"
		}
	case "ease":
		set(&p.Lambda, 200)
		seti(&p.MaxItems, 2000)
	case "sar":
		// Half-life 0: no decay unless asked (30 days is 2592000 seconds).
	}
	return p
}

// Model is a trained recommender. It holds the training ids and the
// training user × item matrix (for seen-item removal and for the models that
// score from a user's history), so it answers on its own once loaded.
type Model struct {
	Params   Params  `json:"params"`
	Explicit bool    `json:"explicit"`
	Cols     Columns `json:"columns"` // the training file's column names
	Users    []string
	Items    []string
	Seen     *CSR // user × item training matrix
	Mean     float64
	UserBias []float64 // mf: rating = Mean + UserBias[u] + UserF[u]·ItemF[i]
	// UserF (users × F) and ItemF (items × F) are the ranking factors: the
	// score of item i for user u is UserF[u]·ItemF[i] (biases are folded
	// in as an extra dimension).
	F            int
	UserF, ItemF []float64
	Pop          []float64 // popularity
	Sim          *CSR      // itemknn, sar: row j holds j's neighbours i with sim(j, i)
	Aff          *CSR      // sar: time-decayed user affinities
	EaseItems    []int32   // ease: modelled items
	EaseB        []float64 // ease: len(EaseItems)² weights, row-major
	easePos      []int32   // item → position in EaseItems, −1 when not modelled
	userIdx      map[string]int32
	itemIdx      map[string]int32
	popOnce      *sync.Once
	gramOnce     *sync.Once
	itemGram     []float64 // YᵀY of ItemF, for fold-in (built on first use)
	popularity   []float64 // cold-start ranking, built on first use
}

// Fit trains the model p names on x. explicit selects rating prediction
// (mf only predicts ratings; the others rank).
func Fit(x *Interactions, p Params, explicit bool) (*Model, error) {
	return FitColumns(x, p, explicit, Columns{User: "user", Item: "item"})
}

// FitColumns is Fit recording the training file's column names, which
// predictions are written under.
func FitColumns(x *Interactions, p Params, explicit bool, cols Columns) (*Model, error) {
	if x.Len() == 0 {
		return nil, ErrEmpty
	}
	p = Defaults(p)
	m := &Model{Params: p, Explicit: explicit, Cols: cols, Users: x.Users, Items: x.Items}
	// Explicit ratings: a re-rating replaces the old one; implicit weights add up.
	m.Seen = x.UserItems(!explicit)
	var err error
	switch p.Algorithm {
	case "popularity":
		m.fitPopularity()
	case "itemknn":
		err = m.fitItemKNN()
	case "mf":
		err = m.fitMF()
	case "als":
		err = m.fitALS()
	case "bpr":
		err = m.fitBPR()
	case "ease":
		err = m.fitEASE()
	case "sar":
		m.fitSAR(x)
	default:
		return nil, fmt.Errorf("recommend: unknown model %q; want one of %s", p.Algorithm, strings.Join(Algorithms, ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("recommend: fit %s: %w", p.Algorithm, err)
	}
	m.index()
	return m, nil
}

func (m *Model) index() {
	m.popOnce = new(sync.Once)
	m.gramOnce = new(sync.Once)
	m.userIdx = make(map[string]int32, len(m.Users))
	for i, u := range m.Users {
		m.userIdx[u] = int32(i)
	}
	m.itemIdx = make(map[string]int32, len(m.Items))
	for i, it := range m.Items {
		m.itemIdx[it] = int32(i)
	}
	if m.EaseItems != nil {
		m.easePos = make([]int32, len(m.Items))
		for i := range m.easePos {
			m.easePos[i] = -1
		}
		for k, it := range m.EaseItems {
			m.easePos[it] = int32(k)
		}
	}
}

// IsFactor reports whether m scores by user and item factor vectors (mf,
// als, bpr), so a user is one vector (UserVector, FoldIn).
func (m *Model) IsFactor() bool { return m.ItemF != nil }

// UserVector is a training user's factor vector (factor models).
func (m *Model) UserVector(u int) []float64 { return m.UserF[u*m.F : (u+1)*m.F] }

// NItems is the size of the catalogue.
func (m *Model) NItems() int { return len(m.Items) }

// UserIndex and ItemIndex map external ids to indices.
func (m *Model) UserIndex(id string) (int32, bool) { i, ok := m.userIdx[id]; return i, ok }
func (m *Model) ItemIndex(id string) (int32, bool) { i, ok := m.itemIdx[id]; return i, ok }

// Scores writes the score of every item for user u into dst (len NItems).
// u is a training user index, or −1 for a user the model has not seen, in
// which case items/vals (the user's history) are used: factor models fold
// the user in with one least-squares solve, history models score from it.
// For a known user, a non-nil history replaces the training one (so a user
// with new events can be re-scored).
func (m *Model) Scores(u int, items []int32, vals []float64, dst []float64) {
	given := items != nil
	if u >= 0 && !given {
		items, vals = m.Seen.Row(u)
	}
	switch m.Params.Algorithm {
	case "popularity":
		copy(dst, m.Pop)
	case "itemknn", "sar":
		for i := range dst {
			dst[i] = 0
		}
		if u >= 0 && !given && m.Aff != nil && u < m.Aff.Rows {
			items, vals = m.Aff.Row(u) // a new history is taken undecayed: its events are recent
		}
		for k, j := range items {
			w := vals[k]
			if m.Params.Algorithm == "itemknn" {
				w = 1
			}
			nb, sims := m.Sim.Row(int(j))
			for q, i := range nb {
				dst[i] += w * sims[q]
			}
		}
	case "ease":
		for i := range dst {
			dst[i] = math.Inf(-1)
		}
		n := len(m.EaseItems)
		row := make([]float64, n)
		for _, j := range items {
			if p := m.easePos[j]; p >= 0 {
				b := m.EaseB[int(p)*n : int(p+1)*n]
				for q := range row {
					row[q] += b[q]
				}
			}
		}
		for q, it := range m.EaseItems {
			dst[it] = row[q]
		}
	default: // factor models
		var x []float64
		if u >= 0 && !given && u < len(m.UserF)/m.F {
			x = m.UserF[u*m.F : (u+1)*m.F]
		} else {
			x = m.FoldIn(items, vals)
		}
		F := m.F
		for i := range dst {
			dst[i] = Dot(x, m.ItemF[i*F:(i+1)*F])
		}
	}
}

// Recommend returns the k best items for user u (see Scores for u, items
// and vals). With excludeSeen the user's history is removed; with
// candidates non-nil only those items are ranked.
func (m *Model) Recommend(u int, items []int32, vals []float64, k int, excludeSeen bool, candidates []int32) []Scored {
	scores := make([]float64, m.NItems())
	m.Scores(u, items, vals, scores)
	if excludeSeen {
		seen := items
		if u >= 0 && seen == nil {
			seen, _ = m.Seen.Row(u)
		}
		for _, j := range seen {
			scores[j] = math.Inf(-1)
		}
	}
	if candidates != nil {
		var h TopHeap
		h.Reset(k)
		for _, c := range candidates {
			if c >= 0 && int(c) < len(scores) {
				h.Push(c, scores[c])
			}
		}
		return h.Sorted()
	}
	return TopK(scores, k)
}

// PredictRating is the predicted rating of item i by user u (explicit mf);
// an unknown user or item falls back to the biases that are known.
func (m *Model) PredictRating(u, i int) (float64, error) {
	if m.Params.Algorithm != "mf" {
		return 0, errors.New("recommend: only the mf model predicts ratings")
	}
	r := m.Mean
	F := m.F
	if u >= 0 {
		r += m.UserBias[u]
	}
	if i >= 0 {
		r += m.ItemF[i*F+F-1] // the item bias dimension
	}
	if u >= 0 && i >= 0 {
		r += Dot(m.UserF[u*F:(u+1)*F-1], m.ItemF[i*F:(i+1)*F-1])
	}
	return r, nil
}

// Similar returns the k items most like item i: by neighbourhood for
// itemknn and sar, by the cosine of their factors for factor models, by the
// learned weights for ease, and by popularity otherwise.
func (m *Model) Similar(i int, k int) []Scored {
	n := m.NItems()
	scores := make([]float64, n)
	switch {
	case m.Sim != nil:
		for q := range scores {
			scores[q] = math.Inf(-1)
		}
		nb, sims := m.Sim.Row(i)
		for q, j := range nb {
			scores[j] = sims[q]
		}
	case m.ItemF != nil:
		F := m.F
		a := m.ItemF[i*F : (i+1)*F]
		na := math.Sqrt(Dot(a, a))
		for j := 0; j < n; j++ {
			b := m.ItemF[j*F : (j+1)*F]
			nb := math.Sqrt(Dot(b, b))
			if na == 0 || nb == 0 {
				scores[j] = 0
				continue
			}
			scores[j] = Dot(a, b) / (na * nb)
		}
	case m.EaseItems != nil:
		for q := range scores {
			scores[q] = math.Inf(-1)
		}
		if p := m.easePos[i]; p >= 0 {
			ne := len(m.EaseItems)
			for q, it := range m.EaseItems {
				scores[it] = m.EaseB[int(p)*ne+q]
			}
		}
	default:
		copy(scores, m.Pop)
	}
	scores[i] = math.Inf(-1)
	return TopK(scores, k)
}

// Dot is the inner product every score in dawn's recommenders uses
// (gonum's assembly kernel, one fixed order of operations, so equal inputs
// give equal scores everywhere). b must be at least as long as a.
func Dot(a, b []float64) float64 { return floats.Dot(a, b[:len(a)]) }

func (m *Model) fitPopularity() {
	m.Pop = make([]float64, m.NItems())
	for _, i := range m.Seen.Idx {
		m.Pop[i]++
	}
}

// itemsByPopularity returns the item indices by descending user count,
// ties by index.
func itemsByPopularity(seen *CSR) []int32 {
	cnt := make([]int, seen.Cols)
	for _, i := range seen.Idx {
		cnt[i]++
	}
	out := make([]int32, seen.Cols)
	for i := range out {
		out[i] = int32(i)
	}
	sort.SliceStable(out, func(a, b int) bool { return cnt[out[a]] > cnt[out[b]] })
	return out
}
