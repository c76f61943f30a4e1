package main

import (
	"context"
	"fmt"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/dawn-ml/dawn/fuse"
	"github.com/dawn-ml/dawn/internal/progress"
)

const fuseUsage = `Usage: dawn fuse --data claims.csv --object COL --source COL --value COL --out truths.csv [flags]

Data fusion and truth inference: many sources (sites, sensors, annotators)
claim values for the same objects and disagree. dawn fuse infers each
object's true value and each source's accuracy, and ranks the sources
whose removal would change the most fused values (the ones to clean first).

Methods: auto (default: catd for --numeric, slimfast with
--source-features, else ds), majority, wawa, onecoin, ds (Dawid–Skene),
glad, mace, kos (binary claims), slimfast; numeric: mean, median, catd.

With --truth, a seeded --train-fraction of the objects with a known value
may be used for training (ds, onecoin and slimfast use it) and the
accuracy (or MAE/RMSE) is measured on the rest.

Output: truths.csv has the object column, value, confidence and
prob_<value> per value; --sources-out has per source its rank, claims,
accuracy with a 95% interval, disagreements and changes_if_removed.

Example:
  dawn fuse --data answers.csv --object item --source worker --value label \
    --truth gold.csv --source-features workers.csv --out truths.csv --sources-out sources.csv`

func init() {
	register(&command{name: "fuse", summary: "fuse conflicting claims: true values and source reliability (SLiMFast, Dawid–Skene, ...)", run: runFuse})
}

func runFuse(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "fuse", fuseUsage)
	dataPath := fs.String("data", "", "claims file: one row per (object, source, value)")
	df := addDataFlags(fs)
	objCol := fs.String("object", "object", "column naming the object a claim is about")
	srcCol := fs.String("source", "source", "column naming the source making the claim")
	valCol := fs.String("value", "value", "column holding the claimed value")
	numeric := fs.Bool("numeric", false, "values are numbers (methods mean, median, catd)")
	method := fs.String("method", fuse.Auto, "auto, "+strings.Join(fuse.CategoricalMethods, ", ")+", "+strings.Join(fuse.NumericMethods, ", "))
	truthPath := fs.String("truth", "", "file of known true values (object column and --truth-value column)")
	truthVal := fs.String("truth-value", "", "column of --truth holding the true value (default: the --value name)")
	trainFrac := fs.Float64("train-fraction", 0.5, "share of the objects with a known truth that training may use; the rest measure accuracy")
	featPath := fs.String("source-features", "", "file of source features (the --source column plus feature columns), for slimfast")
	featCols := fs.String("features", "", "comma-separated feature columns of --source-features (default: all others)")
	out := fs.String("out", "", "write fused values here (CSV, TSV, Parquet, ... by extension)")
	srcOut := fs.String("sources-out", "", "write the source report here")
	modelOut := fs.String("model-out", "", "save the fitted model as an MLmodel directory that dawn serve answers with")
	seed := fs.Uint64("seed", 1, "seed for the truth split and KOS's start")
	maxIter := fs.Int("max-iter", 0, "EM / message-passing iterations (default 100; KOS and CATD 20)")
	workers := fs.Int("workers", 0, "parallel workers (default: all cores)")
	forceEM := fs.Bool("em", false, "slimfast: learn by EM even when the optimizer would choose ERM")
	forceERM := fs.Bool("erm", false, "slimfast: learn by ERM from the --truth training objects")
	top := fs.Int("top", 10, "sources to print in the 'clean first' list")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dataPath == "" {
		return usagef("fuse: --data is required")
	}
	if *trainFrac < 0 || *trainFrac >= 1 {
		return usagef("fuse: --train-fraction must be in [0, 1), got %v", *trainFrac)
	}
	if *forceEM && *forceERM {
		return usagef("fuse: --em and --erm exclude each other")
	}
	dopt, err := df.options()
	if err != nil {
		return err
	}
	cols := fuse.Columns{Object: *objCol, Source: *srcCol, Value: *valCol}
	var bar *progress.Bar
	c, err := fuse.ReadClaims(*dataPath, fuse.ReadOptions{Data: dopt, Progress: func(read, size int64) {
		if bar == nil {
			bar = newBar(e, "reading "+*dataPath, size)
		}
		bar.Set(read)
	}}, cols, *numeric)
	bar.Finish()
	if err != nil {
		return err
	}
	opt := fuse.Options{Method: *method, Seed: *seed, MaxIter: *maxIter, Workers: *workers, ForceEM: *forceEM, ForceERM: *forceERM}
	var truth *fuse.Truth
	var evalSet []bool
	if *truthPath != "" {
		tv := *truthVal
		if tv == "" {
			tv = *valCol
		}
		if truth, err = fuse.ReadTruth(*truthPath, dopt, *objCol, tv, c); err != nil {
			return err
		}
		var train []int32
		train, evalSet = truth.Split(c, *trainFrac, *seed)
		if !c.Numeric {
			opt.Known = train
		}
	}
	if *featPath != "" {
		var use []string
		if *featCols != "" {
			use = splitList(*featCols)
		}
		f, matched, err := fuse.ReadFeatures(*featPath, dopt, *srcCol, use, c)
		if err != nil {
			return err
		}
		if matched == 0 {
			return fmt.Errorf("fuse: %s: no row names a source of the claims (column %s)", *featPath, *srcCol)
		}
		opt.Features = f
	}
	r, err := fuse.Fit(ctx, c, opt)
	if err != nil {
		return err
	}
	if *out != "" {
		if err := r.WriteTruths(*out, *objCol); err != nil {
			return err
		}
	}
	if *srcOut != "" {
		if err := r.WriteSources(*srcOut, *srcCol); err != nil {
			return err
		}
	}
	if *modelOut != "" {
		if err := r.Save(*modelOut, *objCol, *srcCol, *valCol, ""); err != nil {
			return err
		}
	}
	res := map[string]any{
		"method": r.Method, "n_objects": len(c.Objects), "n_claims": c.N(), "n_sources": len(c.Sources),
		"duplicates": c.Duplicates, "iterations": r.Iters,
	}
	if r.Reason != "" {
		res["reason"] = r.Reason
	}
	var score fuse.Score
	if truth != nil {
		if c.Numeric {
			score = r.ScoreNumeric(truth.Num, evalSet)
			res["mae"], res["rmse"] = score.MAE, score.RMSE
		} else {
			score = r.ScoreCategorical(truth.IDs, evalSet)
			res["accuracy"] = score.Accuracy
		}
		res["n_eval"] = score.Objects
		res["n_truth"] = truth.Known
	}
	reps := r.Sources()
	if *top > 0 && len(reps) > *top {
		reps = reps[:*top]
	}
	for k, v := range map[string]string{"out": *out, "sources_out": *srcOut, "model_out": *modelOut} {
		if v != "" {
			res[k] = v
		}
	}
	if *asJSON {
		list := make([]map[string]any, len(reps))
		for i, s := range reps {
			m := map[string]any{"source": s.Source, "rank": s.Rank, "claims": s.Claims}
			if c.Numeric {
				m["weight"], m["mean_abs_error"] = s.Accuracy, s.Error
			} else {
				m["accuracy"], m["ci_low"], m["ci_high"] = s.Accuracy, s.Low, s.High
				m["disagreements"], m["changes_if_removed"] = s.Disagreements, s.Changes
			}
			list[i] = m
		}
		res["sources_to_clean"] = list
		return writeJSON(e.stdout, res)
	}
	fmt.Fprintf(e.stdout, "fused %d objects from %d claims by %d sources with %s", len(c.Objects), c.N(), len(c.Sources), r.Method)
	if r.Iters > 0 {
		fmt.Fprintf(e.stdout, " (%d iterations)", r.Iters)
	}
	fmt.Fprintln(e.stdout)
	if r.Reason != "" {
		fmt.Fprintf(e.stdout, "why: %s\n", r.Reason)
	}
	if c.Duplicates > 0 {
		fmt.Fprintf(e.stdout, "note: %d repeated (object, source) claims were ignored (the first is kept)\n", c.Duplicates)
	}
	if truth != nil {
		if c.Numeric {
			fmt.Fprintf(e.stdout, "on %d held-out objects with known truth: MAE %.4g, RMSE %.4g\n", score.Objects, score.MAE, score.RMSE)
		} else {
			fmt.Fprintf(e.stdout, "on %d held-out objects with known truth: accuracy %.4f\n", score.Objects, score.Accuracy)
		}
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	if c.Numeric {
		fmt.Fprintln(tw, "rank\tsource\tclaims\tweight\tmean abs error\t")
		for _, s := range reps {
			fmt.Fprintf(tw, "%d\t%s\t%d\t%.3f\t%.4g\t\n", s.Rank, s.Source, s.Claims, s.Accuracy, s.Error)
		}
	} else {
		fmt.Fprintln(tw, "rank\tsource\tclaims\taccuracy\t95% interval\tdisagreements\tchanges if removed\t")
		for _, s := range reps {
			fmt.Fprintf(tw, "%d\t%s\t%d\t%.3f\t%s\t%d\t%d\t\n", s.Rank, s.Source, s.Claims, s.Accuracy, interval(s.Low, s.High), s.Disagreements, s.Changes)
		}
	}
	fmt.Fprintln(e.stdout, "sources to look at first:")
	return tw.Flush()
}

func interval(lo, hi float64) string {
	if math.IsNaN(lo) {
		return "-"
	}
	return fmt.Sprintf("%.3f–%.3f", lo, hi)
}
