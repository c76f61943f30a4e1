package recommend

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
)

// Hand-worked similarities on three users: u1 {a, b}, u2 {a, b, c}, u3 {a}.
// a has 3 users, b 2, c 1; a·b = 2, a·c = 1, b·c = 1.
func tiny() *Interactions {
	return build([][2]string{{"u1", "a"}, {"u1", "b"}, {"u2", "a"}, {"u2", "b"}, {"u2", "c"}, {"u3", "a"}})
}

func simOf(m *Model, i, j int) float64 {
	nb, v := m.Sim.Row(i)
	for q, n := range nb {
		if int(n) == j {
			return v[q]
		}
	}
	return 0
}

func TestItemKNNCosineHandWorked(t *testing.T) {
	m, err := Fit(tiny(), Params{Algorithm: "itemknn", Weighting: "cosine"}, false)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "cos(a,b)", simOf(m, 0, 1), 2/math.Sqrt(6))
	near(t, "cos(a,c)", simOf(m, 0, 2), 1/math.Sqrt(3))
	near(t, "cos(b,c)", simOf(m, 1, 2), 1/math.Sqrt(2))
	if simOf(m, 0, 0) != 0 {
		t.Error("an item is its own neighbour")
	}
	// u3 saw a: c scores cos(a,c), b scores cos(a,b).
	s := make([]float64, 3)
	m.Scores(2, nil, nil, s)
	near(t, "score(u3,b)", s[1], 2/math.Sqrt(6))
	near(t, "score(u3,c)", s[2], 1/math.Sqrt(3))
	k1, _ := Fit(tiny(), Params{Algorithm: "itemknn", Neighbours: 1}, false)
	if nb, _ := k1.Sim.Row(2); !slices.Equal(nb, []int32{1}) {
		t.Errorf("c's single neighbour %v, want b (cos 0.707 > 0.577)", nb)
	}
}

func TestSARHandWorked(t *testing.T) {
	m, err := Fit(tiny(), Params{Algorithm: "sar"}, false)
	if err != nil {
		t.Fatal(err)
	}
	// Jaccard: |a∩b| / (|a| + |b| − |a∩b|).
	near(t, "jac(a,b)", simOf(m, 0, 1), 2.0/3)
	near(t, "jac(a,c)", simOf(m, 0, 2), 1.0/3)
	near(t, "jac(b,c)", simOf(m, 1, 2), 1.0/2)
	near(t, "jac(a,a)", simOf(m, 0, 0), 1)
	// Time decay: two events one half-life apart weigh 1 and 0.5.
	x := NewInteractions()
	x.Add("u", "a", 1, 100, true)
	x.Add("u", "b", 1, 200, true)
	x.Add("v", "a", 1, 200, true)
	d, _ := Fit(x, Params{Algorithm: "sar", HalfLife: 100}, false)
	if _, v := d.Aff.Row(0); !slices.Equal(v, []float64{0.5, 1}) {
		t.Errorf("decayed affinities %v, want [0.5 1]", v)
	}
}

func TestEASEHandWorked(t *testing.T) {
	// Two items: G = [[a+λ, c], [c, b+λ]]; B_ab = −P_ab/P_bb = c/(a+λ).
	x := tiny()
	m, err := Fit(x, Params{Algorithm: "ease", Lambda: 1, MaxItems: 2}, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.EaseItems, []int32{0, 1}) {
		t.Fatalf("modelled items %v, want the two most popular [0 1]", m.EaseItems)
	}
	// G = [[4, 2], [2, 3]], P = G⁻¹ = [[3, −2], [−2, 4]]/8.
	near(t, "B(a,b)", m.EaseB[0*2+1], 2.0/(3+1))
	near(t, "B(b,a)", m.EaseB[1*2+0], 2.0/(2+1))
	near(t, "B(a,a)", m.EaseB[0], 0)
	s := make([]float64, 3)
	m.Scores(2, nil, nil, s) // u3 saw a
	near(t, "score(u3,b)", s[1], 0.5)
	if !math.IsInf(s[2], -1) {
		t.Errorf("unmodelled item scored %v", s[2])
	}
}

func TestImplicitCGMatchesDirectSolve(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	f, n := 6, 20
	y := randomFactors(rng, n, f, 1)
	items := []int32{1, 4, 7, 19}
	vals := []float64{1, 3, 2, 1}
	alpha, reg := 2.0, 0.5
	yty := gram(y, n, f)
	a := append([]float64(nil), yty...)
	b := make([]float64, f)
	for r := 0; r < f; r++ {
		a[r*f+r] += reg
		yty[r*f+r] += reg
	}
	for k, i := range items {
		yi := y[int(i)*f : int(i+1)*f]
		c := 1 + alpha*vals[k]
		for r := 0; r < f; r++ {
			b[r] += c * yi[r]
			for s := 0; s < f; s++ {
				a[r*f+s] += (c - 1) * yi[r] * yi[s]
			}
		}
	}
	if err := cholSolve(a, b, f); err != nil {
		t.Fatal(err)
	}
	x := make([]float64, f)
	tmp := make([][]float64, 3)
	for i := range tmp {
		tmp[i] = make([]float64, f)
	}
	implicitCG(x, yty, y, f, items, vals, alpha, 3*f, tmp[0], tmp[1], tmp[2])
	for i := range x {
		if math.Abs(x[i]-b[i]) > 1e-8 {
			t.Fatalf("CG %v, direct %v", x, b)
		}
	}
}

// planted builds implicit data with a block structure: users and items in
// g groups; each user clicks a random 40% of its own group's items. Half of
// each user's clicks are held out.
func planted(seed uint64, g, usersPer, itemsPer int) (train, test *Interactions) {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := NewInteractions()
	for gi := 0; gi < g; gi++ {
		for u := 0; u < usersPer; u++ {
			for it := 0; it < itemsPer; it++ {
				if rng.Float64() < 0.4 {
					x.Add(fmt.Sprintf("u%d_%d", gi, u), fmt.Sprintf("i%d_%d", gi, it), 1, 0, false)
				}
			}
		}
	}
	// A few globally popular items in group 0 draw popularity away from the others.
	for u := 0; u < usersPer*g; u++ {
		x.Add(fmt.Sprintf("u%d_%d", u%g, u/g), "i0_0", 1, 0, false)
	}
	sp, _ := StratifiedSplit(x, 0.5, seed)
	return x.Subset(sp.Train), x.Subset(sp.Test)
}

// ownGroup is the share of the top-10 items, over all users, that are in
// the user's own planted group.
func ownGroup(m *Model) float64 {
	var in, n float64
	for u := range m.Users {
		for _, s := range m.Recommend(u, nil, nil, 10, true, nil) {
			n++
			if m.Users[u][1] == m.Items[s.Item][1] {
				in++
			}
		}
	}
	return in / n
}

// TestPlantedRecovery: every personal model recovers the groups (its lists
// hold the user's own group's items), popularity cannot (about 1/g). The
// held-out clicks are a quarter of the unseen own-group items, so
// precision@10 tops out near 0.25.
func TestPlantedRecovery(t *testing.T) {
	train, test := planted(3, 5, 30, 60)
	for _, p := range []Params{
		{Algorithm: "itemknn"}, {Algorithm: "itemknn", Weighting: "bm25"}, {Algorithm: "itemknn", Weighting: "tfidf"},
		{Algorithm: "als", Factors: 8}, {Algorithm: "bpr", Factors: 8, Iterations: 40}, {Algorithm: "ease"}, {Algorithm: "sar"},
	} {
		m, err := Fit(train, p, false)
		if err != nil {
			t.Fatal(err)
		}
		mt := Evaluate(m, test, 10)
		if g := ownGroup(m); g < 0.95 || mt.Precision < 0.2 {
			t.Errorf("%s/%s: %.3f of the lists in the user's group, precision@10 %.3f; want ≥ 0.95 and ≥ 0.2", p.Algorithm, p.Weighting, g, mt.Precision)
		}
	}
	pop, _ := Fit(train, Params{Algorithm: "popularity"}, false)
	if g, mt := ownGroup(pop), Evaluate(pop, test, 10); g > 0.4 || mt.Precision > 0.1 {
		t.Errorf("popularity: %.3f in the user's group, precision@10 %.3f on planted groups, want ≤ 0.4 and ≤ 0.1", g, mt.Precision)
	}
}

// TestPlantedRatings: explicit mf recovers planted biased low-rank ratings
// to within the noise (RMSE 0.1), far better than the global mean.
func TestPlantedRatings(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	nu, ni, k := 200, 150, 3
	P, Q := randomFactors(rng, nu, k, 1), randomFactors(rng, ni, k, 1)
	x := NewInteractions()
	for u := 0; u < nu; u++ {
		for i := 0; i < ni; i++ {
			if rng.Float64() < 0.3 {
				r := 3 + 0.3*float64(u%5-2) + 0.2*float64(i%7-3) + Dot(P[u*k:(u+1)*k], Q[i*k:(i+1)*k]) + 0.1*rng.NormFloat64()
				x.Add(fmt.Sprint(u), fmt.Sprint(i), r, 0, false)
			}
		}
	}
	sp, _ := RandomSplit(x, 0.2, 1)
	tr, te := x.Subset(sp.Train), x.Subset(sp.Test)
	var mean, sd float64
	for _, r := range te.R {
		mean += r
	}
	mean /= float64(te.Len())
	for _, r := range te.R {
		sd += (r - mean) * (r - mean)
	}
	sd = math.Sqrt(sd / float64(te.Len()))
	for _, solver := range []string{"als", "sgd"} {
		p := Params{Algorithm: "mf", Solver: solver, Factors: k, Reg: 0.01, Iterations: 30}
		if solver == "sgd" {
			p.Reg, p.LR, p.Iterations = 0.01, 0.02, 100
		}
		m, err := Fit(tr, p, true)
		if err != nil {
			t.Fatal(err)
		}
		mt := Evaluate(m, te, 10)
		if *mt.RMSE > 0.25 || *mt.RMSE > sd/4 {
			t.Errorf("mf/%s RMSE %.3f on planted ratings (noise 0.1, sd %.3f)", solver, *mt.RMSE, sd)
		}
	}
}

func TestDeterministicAndSaved(t *testing.T) {
	train, test := planted(9, 3, 20, 30)
	for _, algo := range Algorithms {
		p := Params{Algorithm: algo, Seed: 4, Factors: 8, Iterations: 5}
		if algo == "popularity" || algo == "itemknn" || algo == "ease" || algo == "sar" {
			p = Params{Algorithm: algo, Seed: 4}
		}
		a, err := Fit(train, p, algo == "mf")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Fit(train, p, algo == "mf")
		if !slices.Equal(a.UserF, b.UserF) || !slices.Equal(a.ItemF, b.ItemF) {
			t.Errorf("%s: the same seed gave different factors", algo)
		}
		dir := filepath.Join(t.TempDir(), algo)
		if err := Save(dir, a, ""); err != nil {
			t.Fatal(err)
		}
		c, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		for u := 0; u < 5; u++ {
			ra := a.Recommend(u, nil, nil, 5, true, nil)
			rc := c.Recommend(u, nil, nil, 5, true, nil)
			if !slices.Equal(ra, rc) {
				t.Errorf("%s: user %d: saved model recommends %v, trained %v", algo, u, rc, ra)
			}
		}
		if ma, mc := Evaluate(a, test, 10), Evaluate(c, test, 10); ma.NDCG != mc.NDCG {
			t.Errorf("%s: NDCG %v after load, %v before", algo, mc.NDCG, ma.NDCG)
		}
	}
}

// TestFoldIn: a new user whose history is a known user's gets (almost)
// that user's recommendations from the ALS fold-in; one more click changes
// the list.
func TestFoldIn(t *testing.T) {
	train, _ := planted(11, 4, 25, 40)
	m, err := Fit(train, Params{Algorithm: "als", Factors: 8}, false)
	if err != nil {
		t.Fatal(err)
	}
	items, vals := m.Seen.Row(0)
	known := m.Recommend(0, nil, nil, 10, true, nil)
	folded := m.Recommend(-1, items, vals, 10, true, nil)
	same := 0
	for _, a := range known {
		for _, b := range folded {
			if a.Item == b.Item {
				same++
			}
		}
	}
	if same < 8 {
		t.Errorf("fold-in of user 0's own history shares %d of 10 items with user 0's list", same)
	}
}

func TestTune(t *testing.T) {
	train, _ := planted(13, 3, 20, 30)
	n := 0
	res, err := Tune(t.Context(), train, []string{"itemknn", "popularity"}, false, 0, 1, func(Trial) error { n++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	// A zero budget still runs every algorithm's defaults once.
	if len(res.Trials) != 2 || n != 2 {
		t.Fatalf("%d trials, %d callbacks; want 2", len(res.Trials), n)
	}
	if res.Best.Value != max(res.Trials[0].Value, res.Trials[1].Value) {
		t.Errorf("best %+v, trials %+v", res.Best, res.Trials)
	}
}
