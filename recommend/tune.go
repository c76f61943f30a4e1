package recommend

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Trial is one hyper-parameter setting tried by Tune, with its validation
// score: NDCG@10 (higher is better), or RMSE in explicit mode (lower is better).
type Trial struct {
	Params  Params  `json:"params"`
	Metric  string  `json:"metric"`
	Value   float64 `json:"value"`
	Seconds float64 `json:"seconds"`
}

// TuneResult is the outcome of Tune.
type TuneResult struct {
	Best   Trial   `json:"best"`
	Trials []Trial `json:"trials"`
}

// Tune searches the hyper-parameters of the algorithms named (random search,
// each algorithm's defaults first, the algorithms taken in turn) on a
// validation split of x: a per-user stratified 75/25 split of the training
// data only, so the test set is never seen. It stops starting trials when
// budget has passed (a trial already running finishes) or ctx ends, and
// calls onTrial (may be nil) after each; every algorithm's defaults are
// tried even when the budget is spent. In explicit mode the score is the
// RMSE of mf; otherwise NDCG@10.
func Tune(ctx context.Context, x *Interactions, algos []string, explicit bool, budget time.Duration, seed uint64, onTrial func(Trial) error) (*TuneResult, error) {
	if len(algos) == 0 {
		return nil, errors.New("recommend: tune: no algorithm to tune")
	}
	sp, err := StratifiedSplit(x, 0.25, seed)
	if err != nil {
		return nil, err
	}
	tr, va := x.Subset(sp.Train), x.Subset(sp.Test)
	rng := newRNG(seed, 99)
	deadline := time.Now().Add(budget)
	res := &TuneResult{}
	metric := "ndcg@10"
	if explicit {
		metric = "rmse"
	}
	better := func(a, b float64) bool {
		if explicit {
			return a < b
		}
		return a > b
	}
	tried := map[string]bool{}
	for n := 0; ; n++ {
		if n >= len(algos) && (time.Now().After(deadline) || ctx.Err() != nil) {
			break
		}
		algo := algos[n%len(algos)]
		p := Params{Algorithm: algo, Seed: seed}
		if n >= len(algos) {
			p = sample(rng, algo, seed)
		}
		p = Defaults(p)
		key := fmt.Sprintf("%+v", p)
		if tried[key] {
			if n > 50*len(algos) && len(tried) < n/50 {
				break // the space is exhausted (e.g. popularity alone)
			}
			continue
		}
		tried[key] = true
		t0 := time.Now()
		m, err := Fit(tr, p, explicit)
		if err != nil {
			return nil, fmt.Errorf("recommend: tune: %w", err)
		}
		mt := Evaluate(m, va, 10)
		v := mt.NDCG
		if explicit {
			if mt.RMSE == nil {
				return nil, errors.New("recommend: tune: explicit mode needs the mf model (RMSE)")
			}
			v = *mt.RMSE
		}
		t := Trial{Params: p, Metric: metric, Value: v, Seconds: time.Since(t0).Seconds()}
		res.Trials = append(res.Trials, t)
		if len(res.Trials) == 1 || better(v, res.Best.Value) {
			res.Best = t
		}
		if onTrial != nil {
			if err := onTrial(t); err != nil {
				return nil, err
			}
		}
	}
	return res, nil
}

func pick[T any](rng *rand.Rand, v ...T) T { return v[rng.IntN(len(v))] }

func logUniform(rng *rand.Rand, lo, hi float64) float64 {
	v := math.Exp(math.Log(lo) + rng.Float64()*(math.Log(hi)-math.Log(lo)))
	return math.Round(v*1e4) / 1e4
}

// sample draws one setting from an algorithm's search space.
func sample(rng *rand.Rand, algo string, seed uint64) Params {
	p := Params{Algorithm: algo, Seed: seed}
	switch algo {
	case "als":
		p.Factors = pick(rng, 32, 64, 128)
		p.Reg = logUniform(rng, 0.01, 50)
		p.Alpha = pick(rng, 1.0, 2, 5, 10, 20, 40)
		p.Iterations = pick(rng, 10, 15, 25)
	case "bpr":
		p.Factors = pick(rng, 32, 64, 128)
		p.LR = logUniform(rng, 0.01, 0.1)
		p.Reg = logUniform(rng, 1e-4, 0.1)
		p.Iterations = pick(rng, 30, 60, 100)
	case "itemknn":
		p.Weighting = pick(rng, "cosine", "bm25", "tfidf")
		p.Neighbours = pick(rng, 20, 50, 100, 200, 400)
	case "ease":
		p.Lambda = logUniform(rng, 10, 3000)
		p.MaxItems = pick(rng, 1000, 2000, 3000)
	case "sar":
		p.HalfLife = pick(rng, 0.0, 7*86400, 30*86400, 180*86400)
	case "mf":
		p.Solver = pick(rng, "als", "sgd")
		p.Factors = pick(rng, 4, 8, 16, 32, 64)
		if p.Solver == "als" {
			p.Reg = logUniform(rng, 0.02, 0.5)
		} else {
			p.Reg = logUniform(rng, 0.005, 0.2)
			p.LR = logUniform(rng, 0.003, 0.03)
		}
		p.Iterations = pick(rng, 10, 20, 30)
	}
	return p
}
