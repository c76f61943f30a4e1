package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/dawn-ml/dawn/data"
	"github.com/dawn-ml/dawn/recommend"
	"github.com/dawn-ml/dawn/tracking"
)

const recommendUsage = `Usage: dawn recommend <split|train|eval|predict> [flags]

Recommendation from interactions (user, item, optional rating or weight,
optional timestamp): split them as Microsoft Recommenders does, train a
model (popularity, itemknn, mf, als, bpr, ease, sar, or auto with --tune),
evaluate it with precision/recall/NDCG/MAP@k, and write top-k lists. The
model directory is served by 'dawn serve' (POST /recommend, /similar,
/interactions).

Example:
  dawn recommend split --data ratings.csv --user userId --item movieId --seed 1 \
      --train-out train.csv --test-out test.csv
  dawn recommend train --data train.csv --user userId --item movieId --implicit --model als --out recs/
  dawn recommend eval --model recs/ --train train.csv --test test.csv --k 10 --json`

func init() {
	register(&command{name: "recommend", summary: "train, evaluate and apply recommenders (clicks or ratings)", run: runRecommend})
}

func runRecommend(ctx context.Context, e *env, args []string) error {
	return dispatch(ctx, e, "recommend", recommendUsage, []subcommand{
		{"split", "split interactions per user, at random or by time", runRecommendSplit},
		{"train", "train a recommender (optionally tuned) and save it", runRecommendTrain},
		{"eval", "evaluate a recommender on held-out interactions", runRecommendEval},
		{"predict", "write the top-k items for a list of users", runRecommendPredict},
	}, args)
}

// interactionFlags are the flags naming the interaction columns.
type interactionFlags struct {
	data, user, item, rating, time string
	implicit                       bool
	df                             *dataFlags
}

func addInteractionFlags(fs *flag.FlagSet) *interactionFlags {
	f := &interactionFlags{df: addDataFlags(fs)}
	fs.StringVar(&f.data, "data", "", "interactions `file` (CSV, TSV, JSONL, Parquet, Arrow)")
	fs.StringVar(&f.user, "user", "", "user id `column`")
	fs.StringVar(&f.item, "item", "", "item id `column`")
	fs.StringVar(&f.rating, "rating", "", "rating `column` (explicit mode), or the weight column with --implicit")
	fs.StringVar(&f.time, "time", "", "timestamp `column` (Unix time or RFC 3339)")
	fs.BoolVar(&f.implicit, "implicit", false, "implicit feedback (clicks, views): events, weighted by --rating when given")
	return f
}

func (f *interactionFlags) cols() recommend.Columns {
	return recommend.Columns{User: f.user, Item: f.item, Rating: f.rating, Time: f.time}
}

func (f *interactionFlags) read(cmd string) (*recommend.Interactions, error) {
	if f.data == "" || f.user == "" || f.item == "" {
		return nil, usagef("recommend %s: --data, --user and --item are required", cmd)
	}
	o, err := f.df.options()
	if err != nil {
		return nil, err
	}
	return recommend.Read(f.data, f.cols(), o)
}

const recommendSplitUsage = `Usage: dawn recommend split --data FILE --user COL --item COL [--time COL]
                            [--by random|time] [--test-fraction 0.25] [--seed N]
                            --train-out FILE --test-out FILE [--json]

Splits every user's interactions into train and test: --by random keeps
round(n × (1 − fraction)) of each user's n events, chosen at random
(Microsoft Recommenders' python_stratified_split); --by time keeps each
user's earliest ones (python_chrono_split; needs --time). Every column of
the input is written, with its type, in the formats the extensions name.

Example:
  dawn recommend split --data ratings.csv --user userId --item movieId --seed 1 \
      --train-out train.csv --test-out test.csv`

func runRecommendSplit(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "recommend split", recommendSplitUsage)
	f := addInteractionFlags(fs)
	by := fs.String("by", "random", "random (per user) or time (per user, earliest to train)")
	frac := fs.Float64("test-fraction", 0.25, "share of each user's events held out")
	seed := fs.Uint64("seed", 1, "random seed")
	trainOut := fs.String("train-out", "", "train `file` to write")
	testOut := fs.String("test-out", "", "test `file` to write")
	asJSON := fs.Bool("json", false, "print the split sizes as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	err := func() error {
		if *trainOut == "" || *testOut == "" {
			return usagef("recommend split: --train-out and --test-out are required")
		}
		x, err := f.read("split")
		if err != nil {
			return err
		}
		var sp recommend.Split
		switch *by {
		case "random":
			sp, err = recommend.StratifiedSplit(x, *frac, *seed)
		case "time":
			if f.time == "" {
				return usagef("recommend split: --by time needs --time COLUMN")
			}
			sp, err = recommend.ChronoSplit(x, *frac)
		default:
			return usagef("recommend split: --by %q: want random or time", *by)
		}
		if err != nil {
			return err
		}
		o, _ := f.df.options()
		rec, err := data.ReadRecord(f.data, o)
		if err != nil {
			return err
		}
		defer rec.Release()
		if int(rec.NumRows()) != x.Len() {
			return fmt.Errorf("recommend split: %s changed while it was read", f.data)
		}
		if err := recommend.WriteRows(*trainOut, rec, sp.Train); err != nil {
			return err
		}
		if err := recommend.WriteRows(*testOut, rec, sp.Test); err != nil {
			return err
		}
		r := map[string]any{"train_rows": len(sp.Train), "test_rows": len(sp.Test), "users": x.NUsers(), "items": x.NItems(),
			"train_out": *trainOut, "test_out": *testOut}
		if *asJSON {
			return writeJSON(e.stdout, r)
		}
		fmt.Fprintf(e.stdout, "train %d rows → %s\ntest  %d rows → %s\nusers %d, items %d\n", len(sp.Train), *trainOut, len(sp.Test), *testOut, x.NUsers(), x.NItems())
		return nil
	}()
	return err
}

const recommendTrainUsage = `Usage: dawn recommend train --data FILE --user COL --item COL [--rating COL | --implicit] [--time COL]
                            --model als|bpr|ease|itemknn|sar|mf|popularity|auto [--tune DURATION]
                            --out DIR [--seed N] [--json]

Trains a recommender and saves it as a model directory. With --rating and
without --implicit the ratings are explicit: mf predicts them (RMSE) and the
ranking models use them as weights. --tune searches the hyper-parameters
(of every model, for auto) on a per-user 75/25 validation split of --data
for the given time, keeps the best by NDCG@10 (RMSE in explicit mode), and
retrains it on all of --data; each trial is logged as a child run when a
tracking server is set. Without --tune, auto is ease (implicit) or mf
(explicit), with defaults that do well on MovieLens-like data.

Examples:
  dawn recommend train --data train.csv --user userId --item movieId --implicit --model als --out recs/
  dawn recommend train --data train.csv --user userId --item movieId --rating rating --model mf --out mf/
  dawn recommend train --data train.csv --user userId --item movieId --implicit --model auto --tune 2m --out best/ --json`

func runRecommendTrain(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "recommend train", recommendTrainUsage)
	f := addInteractionFlags(fs)
	algo := fs.String("model", "auto", "model: "+strings.Join(recommend.Algorithms, ", ")+" or auto")
	tune := fs.Duration("tune", 0, "search hyper-parameters for this long (e.g. 2m)")
	out := fs.String("out", "", "model `directory` to write")
	var p recommend.Params
	fs.IntVar(&p.Factors, "factors", 0, "latent factors (mf, als, bpr)")
	fs.Float64Var(&p.Reg, "reg", 0, "L2 regularisation (mf, als, bpr)")
	fs.Float64Var(&p.Alpha, "alpha", 0, "confidence scale: c = 1 + alpha·weight (als)")
	fs.IntVar(&p.Iterations, "iterations", 0, "ALS sweeps, SGD or BPR epochs")
	fs.Float64Var(&p.LR, "lr", 0, "learning rate (mf with sgd, bpr)")
	fs.StringVar(&p.Solver, "solver", "", "mf solver: als or sgd")
	fs.IntVar(&p.Neighbours, "neighbours", 0, "neighbours per item (itemknn)")
	fs.StringVar(&p.Weighting, "weighting", "", "itemknn weighting: cosine, bm25 or tfidf")
	fs.Float64Var(&p.Lambda, "lambda", 0, "EASE^R L2 penalty")
	fs.IntVar(&p.MaxItems, "max-items", 0, "EASE^R: most popular items modelled (memory 16·N² bytes)")
	fs.Float64Var(&p.HalfLife, "half-life", 0, "SAR affinity half-life in time units (seconds for Unix times); 0 no decay")
	seed := fs.Uint64("seed", 1, "random seed")
	asJSON := fs.Bool("json", false, "print the training report as JSON")
	tf := addTrackingFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	err := func() error {
		if *out == "" {
			return usagef("recommend train: --out is required")
		}
		explicit := f.rating != "" && !f.implicit
		algos := []string{*algo}
		switch {
		case *algo == "auto" && explicit:
			algos = []string{"mf"}
		case *algo == "auto" && *tune > 0:
			algos = []string{"ease", "als", "bpr", "itemknn", "sar", "popularity"}
		case *algo == "auto":
			algos = []string{"ease"}
		default:
			known := false
			for _, a := range recommend.Algorithms {
				known = known || a == *algo
			}
			if !known {
				return usagef("recommend train: --model %q: want one of %s or auto", *algo, strings.Join(recommend.Algorithms, ", "))
			}
		}
		if explicit && *tune > 0 && algos[0] != "mf" {
			return usagef("recommend train: --tune in explicit mode tunes mf by RMSE; use --implicit to tune ranking models")
		}
		x, err := f.read("train")
		if err != nil {
			return err
		}
		p.Algorithm = algos[0]
		p.Seed = *seed
		al, err := tf.start(ctx, "dawn recommend train", map[string]string{"model": *algo, "tune": tune.String(), "seed": fmt.Sprint(*seed),
			"user": f.user, "item": f.item, "rating": f.rating, "implicit": fmt.Sprint(f.implicit)}, map[string]string{"train": f.data})
		if err != nil {
			return al.finish(ctx, err)
		}
		rep := map[string]any{"users": x.NUsers(), "items": x.NItems(), "interactions": x.Len(), "explicit": explicit, "out": *out}
		t0 := time.Now()
		if *tune > 0 {
			n := 0
			res, err := recommend.Tune(ctx, x, algos, explicit, *tune, *seed, func(t recommend.Trial) error {
				n++
				if !*asJSON && isTerminal(e.stderr) {
					fmt.Fprintf(e.stderr, "\rtrial %d: %s %s %.4f   ", n, t.Params.Algorithm, t.Metric, t.Value)
				}
				return logTrial(ctx, al, n, t)
			})
			if !*asJSON && isTerminal(e.stderr) {
				fmt.Fprintln(e.stderr)
			}
			if err != nil {
				return al.finish(ctx, err)
			}
			p = res.Best.Params
			rep["tuning"] = res
		}
		m, err := recommend.FitColumns(x, p, explicit, f.cols())
		if err != nil {
			return al.finish(ctx, err)
		}
		rep["params"] = m.Params
		if al != nil {
			rep["run_id"] = al.runID()
		}
		rep["seconds"] = time.Since(t0).Seconds()
		err = recommend.Save(*out, m, al.runID())
		if err == nil && al != nil {
			err = al.artifact(ctx, *out, "model")
		}
		if err := al.finish(ctx, err); err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(e.stdout, rep)
		}
		fmt.Fprintf(e.stdout, "model        %s → %s\n", m.Params.Algorithm, *out)
		fmt.Fprintf(e.stdout, "interactions %d (%d users, %d items), %s\n", x.Len(), x.NUsers(), x.NItems(), map[bool]string{true: "explicit ratings", false: "implicit"}[explicit])
		if r, ok := rep["tuning"].(*recommend.TuneResult); ok {
			fmt.Fprintf(e.stdout, "tuning       %d trials, best %s %.4f\n", len(r.Trials), r.Best.Metric, r.Best.Value)
		}
		fmt.Fprintf(e.stdout, "time         %.2fs\n", rep["seconds"])
		return nil
	}()
	return err
}

// logTrial records one tuning trial as a child run of the training run.
func logTrial(ctx context.Context, al *autolog, n int, t recommend.Trial) error {
	if al == nil {
		return nil
	}
	run, err := al.c.CreateRun(ctx, al.run.Info.ExperimentID, fmt.Sprintf("trial-%d-%s", n, t.Params.Algorithm),
		tracking.Tag{Key: "mlflow.parentRunId", Value: al.runID()})
	if err != nil {
		return fmt.Errorf("tracking: log trial %d: %w", n, err)
	}
	ps := trialParams(t.Params)
	now := tracking.Int64(time.Now().UnixMilli())
	ms := []tracking.Metric{{Key: "valid_" + strings.ReplaceAll(t.Metric, "@", "_at_"), Value: tracking.Float(t.Value), Timestamp: now},
		{Key: "seconds", Value: tracking.Float(t.Seconds), Timestamp: now}}
	if err := al.c.LogBatch(ctx, run.Info.RunID, ms, ps, nil); err != nil {
		return fmt.Errorf("tracking: log trial %d: %w", n, err)
	}
	return al.c.SetTerminated(ctx, run.Info.RunID, "FINISHED")
}

func trialParams(p recommend.Params) []tracking.Param {
	kv := map[string]string{"algorithm": p.Algorithm, "seed": fmt.Sprint(p.Seed)}
	add := func(k string, v any, zero bool) {
		if !zero {
			kv[k] = fmt.Sprint(v)
		}
	}
	add("factors", p.Factors, p.Factors == 0)
	add("reg", p.Reg, p.Reg == 0)
	add("alpha", p.Alpha, p.Alpha == 0)
	add("iterations", p.Iterations, p.Iterations == 0)
	add("lr", p.LR, p.LR == 0)
	add("solver", p.Solver, p.Solver == "")
	add("neighbours", p.Neighbours, p.Neighbours == 0)
	add("weighting", p.Weighting, p.Weighting == "")
	add("lambda", p.Lambda, p.Lambda == 0)
	add("max_items", p.MaxItems, p.MaxItems == 0)
	add("half_life", p.HalfLife, p.HalfLife == 0)
	var ps []tracking.Param
	for k, v := range kv {
		ps = append(ps, tracking.Param{Key: k, Value: v})
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Key < ps[j].Key })
	return ps
}

const recommendEvalUsage = `Usage: dawn recommend eval --model DIR --test FILE [--train FILE] [--k 10]
                           [--prequential N] [--json]

Ranks the top k items for every test user the model knows, with the items
seen in training removed, and reports Microsoft Recommenders' precision@k,
recall@k, NDCG@k and MAP@k (binary relevance), the number of users and
the catalogue coverage; RMSE and MAE too for an explicit mf model. The
user, item, rating and time columns are those the model was trained with.
--train gives the seen items (default: the model's training data).
--prequential N also replays up to N test events in time order
(recommend, then add the event to the user's history).

Example:
  dawn recommend eval --model recs/ --train train.csv --test test.csv --k 10 --json`

func runRecommendEval(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "recommend eval", recommendEvalUsage)
	dir := fs.String("model", "", "recommender model `directory`")
	trainF := fs.String("train", "", "training interactions `file` (the seen items)")
	testF := fs.String("test", "", "held-out interactions `file`")
	k := fs.Int("k", 10, "list length")
	preq := fs.Int("prequential", 0, "replay up to `N` test events in time order (0: no replay)")
	df := addDataFlags(fs)
	asJSON := fs.Bool("json", false, "print the metrics as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	err := func() error {
		if *dir == "" || *testF == "" {
			return usagef("recommend eval: --model and --test are required")
		}
		if *k < 1 {
			return usagef("recommend eval: --k must be at least 1")
		}
		m, err := recommend.Load(*dir)
		if err != nil {
			return err
		}
		o, err := df.options()
		if err != nil {
			return err
		}
		cols := m.Cols
		if !m.Explicit {
			cols.Rating = "" // implicit: every test event is relevant, weights do not matter
		}
		if *trainF != "" {
			tr, err := recommend.Read(*trainF, m.Cols, o)
			if err != nil {
				return err
			}
			m = m.WithHistory(tr)
		}
		te, err := recommend.Read(*testF, cols, o)
		if err != nil {
			return err
		}
		mt := recommend.Evaluate(m, te, *k)
		ks := fmt.Sprint(*k)
		r := map[string]any{"precision@" + ks: mt.Precision, "recall@" + ks: mt.Recall, "ndcg@" + ks: mt.NDCG, "map@" + ks: mt.MAP,
			"n_users": mt.NUsers, "catalog_coverage": mt.Coverage, "model": m.Params.Algorithm}
		if mt.RMSE != nil {
			r["rmse"], r["mae"], r["n_rated"] = *mt.RMSE, *mt.MAE, mt.NRated
		}
		var pq *recommend.Prequential
		if *preq > 0 {
			v := recommend.EvaluatePrequential(m, te, *k, *preq)
			pq = &v
			r["prequential"] = v
		}
		if *asJSON {
			return writeJSON(e.stdout, r)
		}
		w := e.stdout
		fmt.Fprintf(w, "model %s, %d users, k %d\n", m.Params.Algorithm, mt.NUsers, *k)
		fmt.Fprintf(w, "precision@%d %.4f\nrecall@%d    %.4f\nndcg@%d      %.4f\nmap@%d       %.4f\ncoverage     %.4f\n",
			*k, mt.Precision, *k, mt.Recall, *k, mt.NDCG, *k, mt.MAP, mt.Coverage)
		if mt.RMSE != nil {
			fmt.Fprintf(w, "rmse         %.4f\nmae          %.4f  (%d rated pairs)\n", *mt.RMSE, *mt.MAE, mt.NRated)
		}
		if pq != nil {
			fmt.Fprintf(w, "prequential  %d events, hit rate@%d %.4f, ndcg %.4f\n", pq.Events, *k, pq.HitAtK, pq.NDCG)
		}
		return nil
	}()
	return err
}

const recommendPredictUsage = `Usage: dawn recommend predict --model DIR --users FILE [--user COL] [--k 10]
                              [--exclude-seen=true] --out FILE [--json]

Writes the top k items of every user listed in --users (a file with the
model's user column, or --user COL) to --out with the columns: the user and
item columns under their training names, then rank (1 = best) and score.
A user the model has not seen gets the most popular training items.

Example:
  dawn recommend predict --model recs/ --users users.csv --k 10 --out recs.csv`

func runRecommendPredict(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "recommend predict", recommendPredictUsage)
	dir := fs.String("model", "", "recommender model `directory`")
	usersF := fs.String("users", "", "`file` listing the users")
	userCol := fs.String("user", "", "user `column` of --users (default: the model's)")
	k := fs.Int("k", 10, "items per user")
	exclude := fs.Bool("exclude-seen", true, "leave out the items each user interacted with in training")
	out := fs.String("out", "", "recommendations `file` to write (CSV, Parquet, ... by extension)")
	df := addDataFlags(fs)
	asJSON := fs.Bool("json", false, "print a summary as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	err := func() error {
		if *dir == "" || *usersF == "" || *out == "" {
			return usagef("recommend predict: --model, --users and --out are required")
		}
		if *k < 1 {
			return usagef("recommend predict: --k must be at least 1")
		}
		m, err := recommend.Load(*dir)
		if err != nil {
			return err
		}
		col := *userCol
		if col == "" {
			col = m.Cols.User
		}
		o, err := df.options()
		if err != nil {
			return err
		}
		o.Columns = []string{col}
		rd, err := data.ReadRecord(*usersF, o)
		if err != nil {
			return err
		}
		defer rd.Release()
		var recs []recommend.Rec
		seen := map[string]bool{}
		unknown := 0
		c := rd.Column(0)
		for i := 0; i < int(rd.NumRows()); i++ {
			u := data.FormatValue(c, i)
			if u == "" {
				return &data.Error{File: *usersF, Row: int64(i + 1), Column: col, Err: errors.New("empty user id")}
			}
			if seen[u] {
				continue
			}
			seen[u] = true
			if _, ok := m.UserIndex(u); !ok {
				unknown++
			}
			recs = append(recs, m.RecommendID(u, *k, *exclude)...)
		}
		if err := recommend.WriteRecs(*out, m.Cols.User, m.Cols.Item, recs); err != nil {
			return err
		}
		r := map[string]any{"users": len(seen), "unknown_users": unknown, "rows": len(recs), "out": *out}
		if *asJSON {
			return writeJSON(e.stdout, r)
		}
		fmt.Fprintf(e.stdout, "%d users (%d unknown: most popular items), %d rows → %s\n", len(seen), unknown, len(recs), *out)
		return nil
	}()
	return err
}
