// Command recommendbench evaluates every dawn recommender on MovieLens
// ratings with Microsoft Recommenders' protocol: a per-user stratified
// 75/25 split, top-k with training items removed, precision/recall/NDCG/MAP
// at k, for several split seeds, and prints the median of each metric as a
// Markdown table. The ranking models see the interactions as implicit
// events (weight 1); "mf (explicit ALS)" ranks by predicted rating. It
// also reports explicit mf RMSE on a random 80/20 split, and the tuned best
// model (recommend.Tune over every ranking model on a validation split of
// the training data only).
//
//	go run ./bench/recommend -data ratings.csv -seeds 3 -tune 30s
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"sort"
	"time"

	"github.com/dawn-ml/dawn/data"
	"github.com/dawn-ml/dawn/recommend"
)

type row struct {
	Name                   string
	P, R, N, M, Sec        []float64
	Params                 []recommend.Params
	medP, medR, medN, medM float64
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func main() {
	path := flag.String("data", "", "MovieLens ratings.csv (userId, movieId, rating, timestamp)")
	seeds := flag.Int("seeds", 3, "split seeds 1..N")
	k := flag.Int("k", 10, "list length")
	tune := flag.Duration("tune", 30*time.Second, "tuning budget per seed (0: skip)")
	jsonOut := flag.String("json", "", "also write the per-seed results to this JSON file")
	flag.Parse()
	if *path == "" {
		log.Fatal("recommendbench: -data is required")
	}
	cols := recommend.Columns{User: "userId", Item: "movieId", Rating: "rating", Time: "timestamp"}
	x, err := recommend.Read(*path, cols, data.Options{})
	if err != nil {
		log.Fatal(err)
	}
	implicit := recommend.NewInteractions()
	for e := range x.U {
		implicit.Add(x.Users[x.U[e]], x.Items[x.I[e]], 1, x.T[e], true)
	}
	models := []struct {
		name     string
		p        recommend.Params
		explicit bool
	}{
		{"popularity", recommend.Params{Algorithm: "popularity"}, false},
		{"itemknn (cosine)", recommend.Params{Algorithm: "itemknn", Weighting: "cosine"}, false},
		{"itemknn (bm25)", recommend.Params{Algorithm: "itemknn", Weighting: "bm25"}, false},
		{"itemknn (tfidf)", recommend.Params{Algorithm: "itemknn", Weighting: "tfidf"}, false},
		{"sar", recommend.Params{Algorithm: "sar"}, false},
		{"bpr", recommend.Params{Algorithm: "bpr"}, false},
		{"als (implicit)", recommend.Params{Algorithm: "als"}, false},
		{"ease", recommend.Params{Algorithm: "ease"}, false},
		{"mf (explicit ALS)", recommend.Params{Algorithm: "mf"}, true},
	}
	rows := make([]*row, len(models))
	for i, m := range models {
		rows[i] = &row{Name: m.name}
	}
	tuned := &row{Name: fmt.Sprintf("tuned best (auto, --tune %s)", *tune)}
	var rmse, mae []float64
	for s := 1; s <= *seeds; s++ {
		sp, err := recommend.StratifiedSplit(x, 0.25, uint64(s))
		if err != nil {
			log.Fatal(err)
		}
		for i, m := range models {
			src := implicit
			if m.explicit {
				src = x
			}
			tr, te := src.Subset(sp.Train), src.Subset(sp.Test)
			p := m.p
			p.Seed = uint64(s)
			t0 := time.Now()
			fit, err := recommend.Fit(tr, p, m.explicit)
			if err != nil {
				log.Fatal(err)
			}
			mt := recommend.Evaluate(fit, te, *k)
			r := rows[i]
			r.P, r.R, r.N, r.M = append(r.P, mt.Precision), append(r.R, mt.Recall), append(r.N, mt.NDCG), append(r.M, mt.MAP)
			r.Sec = append(r.Sec, time.Since(t0).Seconds())
			fmt.Fprintf(os.Stderr, "seed %d %-20s ndcg@%d %.4f (%.1fs)\n", s, m.name, *k, mt.NDCG, time.Since(t0).Seconds())
		}
		if *tune > 0 {
			tr, te := implicit.Subset(sp.Train), implicit.Subset(sp.Test)
			t0 := time.Now()
			res, err := recommend.Tune(context.Background(), tr, []string{"ease", "als", "bpr", "itemknn", "sar", "popularity"}, false, *tune, uint64(s), nil)
			if err != nil {
				log.Fatal(err)
			}
			fit, err := recommend.Fit(tr, res.Best.Params, false)
			if err != nil {
				log.Fatal(err)
			}
			mt := recommend.Evaluate(fit, te, *k)
			tuned.P, tuned.R, tuned.N, tuned.M = append(tuned.P, mt.Precision), append(tuned.R, mt.Recall), append(tuned.N, mt.NDCG), append(tuned.M, mt.MAP)
			tuned.Sec = append(tuned.Sec, time.Since(t0).Seconds())
			tuned.Params = append(tuned.Params, res.Best.Params)
			fmt.Fprintf(os.Stderr, "seed %d tuned: %d trials, best %+v, test ndcg %.4f\n", s, len(res.Trials), res.Best.Params, mt.NDCG)
		}
		rs, err := recommend.RandomSplit(x, 0.2, uint64(s))
		if err != nil {
			log.Fatal(err)
		}
		fit, err := recommend.Fit(x.Subset(rs.Train), recommend.Params{Algorithm: "mf", Seed: uint64(s)}, true)
		if err != nil {
			log.Fatal(err)
		}
		mt := recommend.Evaluate(fit, x.Subset(rs.Test), *k)
		rmse, mae = append(rmse, *mt.RMSE), append(mae, *mt.MAE)
	}
	if *tune > 0 {
		rows = append(rows, tuned)
	}
	fmt.Printf("| model | precision@%d | recall@%d | NDCG@%d | MAP@%d | fit+eval s |\n|---|---|---|---|---|---|\n", *k, *k, *k, *k)
	for _, r := range rows {
		r.medP, r.medR, r.medN, r.medM = median(r.P), median(r.R), median(r.N), median(r.M)
		fmt.Printf("| %s | %.4f | %.4f | %.4f | %.4f | %.1f |\n", r.Name, r.medP, r.medR, r.medN, r.medM, median(r.Sec))
	}
	fmt.Printf("\nexplicit mf (ALS, defaults), random 80/20 split: RMSE %.4f, MAE %.4f (median of %d seeds; per seed %v)\n", median(rmse), median(mae), *seeds, rmse)
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(map[string]any{"rows": rows, "rmse": rmse, "mae": mae}, "", " ")
		if err := os.WriteFile(*jsonOut, b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
