package recommend

import (
	"path/filepath"
	"testing"

	"github.com/dawn-ml/dawn/data"
	"github.com/dawn-ml/dawn/internal/shareddata"
)

func readMovieLens(tb testing.TB, cols Columns) *Interactions {
	tb.Helper()
	dir := shareddata.Require(tb, "movielens-latest-small")
	x, err := Read(filepath.Join(dir, "ratings.csv"), cols, data.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return x
}

// BenchmarkALSIteration is one implicit ALS sweep (users then items), 64
// factors, 3 CG steps, on all of ml-latest-small (100,836 ratings).
func BenchmarkALSIteration(b *testing.B) {
	x := readMovieLens(b, Columns{User: "userId", Item: "movieId"})
	m, err := Fit(x, Params{Algorithm: "als", Factors: 64, Iterations: 1}, false)
	if err != nil {
		b.Fatal(err)
	}
	iu := m.Seen.Transpose()
	for b.Loop() {
		m.ALSIteration(iu)
	}
}

// TestMovieLens checks the acceptance ordering on ml-latest-small (one
// seed): implicit ALS and BPR well above popularity and explicit ALS, EASE
// at least 20% above item-kNN and popularity, explicit mf RMSE ≤ 0.90 on
// a random 80/20 split.
func TestMovieLens(t *testing.T) {
	if testing.Short() {
		t.Skip("ml-latest-small models take ~15 s")
	}
	x := readMovieLens(t, Columns{User: "userId", Item: "movieId", Rating: "rating"})
	imp := NewInteractions()
	for e := range x.U {
		imp.Add(x.Users[x.U[e]], x.Items[x.I[e]], 1, 0, false)
	}
	sp, _ := StratifiedSplit(x, 0.25, 1)
	ndcg := map[string]float64{}
	for _, a := range []string{"popularity", "itemknn", "als", "bpr", "ease"} {
		m, err := Fit(imp.Subset(sp.Train), Params{Algorithm: a, Seed: 1}, false)
		if err != nil {
			t.Fatal(err)
		}
		ndcg[a] = Evaluate(m, imp.Subset(sp.Test), 10).NDCG
	}
	m, _ := Fit(x.Subset(sp.Train), Params{Algorithm: "mf", Seed: 1}, true)
	ndcg["mf"] = Evaluate(m, x.Subset(sp.Test), 10).NDCG
	t.Logf("NDCG@10: %v", ndcg)
	for _, a := range []string{"als", "bpr"} {
		if ndcg[a] < 1.2*ndcg["popularity"] || ndcg[a] < 5*ndcg["mf"] {
			t.Errorf("%s NDCG@10 %.4f not well above popularity %.4f and explicit ALS %.4f", a, ndcg[a], ndcg["popularity"], ndcg["mf"])
		}
	}
	if ndcg["ease"] < 1.2*ndcg["itemknn"] || ndcg["ease"] < 1.2*ndcg["popularity"] {
		t.Errorf("ease NDCG@10 %.4f not 20%% above itemknn %.4f and popularity %.4f", ndcg["ease"], ndcg["itemknn"], ndcg["popularity"])
	}
	rs, _ := RandomSplit(x, 0.2, 1)
	mf, _ := Fit(x.Subset(rs.Train), Params{Algorithm: "mf", Seed: 1}, true)
	if r := *Evaluate(mf, x.Subset(rs.Test), 10).RMSE; r > 0.90 {
		t.Errorf("explicit mf RMSE %.4f on a random 80/20 split, want ≤ 0.90", r)
	} else {
		t.Logf("explicit mf RMSE %.4f", r)
	}
}
