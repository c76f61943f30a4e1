package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dawn-ml/dawn/featurize"
	"github.com/dawn-ml/dawn/internal/progress"
	"github.com/dawn-ml/dawn/monitor"
	"github.com/dawn-ml/dawn/tracking"
	"github.com/dawn-ml/dawn/train"
	"go.yaml.in/yaml/v3"
)

const trainUsage = `Usage: dawn train --data FILE (--target COLUMN | --prob-cols P1,P2,...) --out DIR
                  [--text COLUMNS] [--numeric COLUMNS] [--categorical COLUMNS] [--features FILE.yaml]
                  [--kind logreg|softmax|linreg|mlp] [--valid FILE --gold COLUMN] [--seed N] [--json]

Trains an end model and saves it as a model directory (an MLmodel file, the
featurizer and the weights). Labels are hard (--target) or probabilistic
(--prob-cols, e.g. from 'dawn label run'), trained with the expected
cross-entropy; rows where every LF abstained (0 in the --votes-col column
'dawn label run' writes; in data without it, uniform probabilities or an
empty or -1 label) are dropped unless --keep-abstain. From 100,000 training
rows SGD runs lock-free on all cores (HogWild!); below that, and with
--workers 1, training is deterministic for a --seed.

Unless told (--ngrams, --char-ngrams, --tfidf, --features; --l2), the text
featurization (word 1-2-gram counts; word 1-2-grams, TF-IDF; word unigrams +
character 2-5-grams, TF-IDF) and the L2 penalty (1e-3, 1e-4, 1e-5) are chosen
by validation accuracy on --valid, else on a held-out 20 % of the training
rows (then the chosen setting is refitted on all of them); at most 20,000
rows train each candidate. --search=false skips it.

Examples:
  dawn train --data labeled.csv --text text --prob-cols prob_0,prob_1 --out spam-model/ \
      --valid valid.csv --gold label --seed 1
  dawn train --data train.csv --text text --target label --kind logreg --ngrams 5 --out m/ --json
  dawn train --data houses.csv --numeric rooms,area --categorical town --target price --kind linreg --out m/`

func init() {
	register(&command{name: "train", summary: "train an end model on hard or probabilistic labels", run: runTrain})
}

func runTrain(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "train", trainUsage)
	var s train.Spec
	fs.StringVar(&s.Data, "data", "", "training data `file` (CSV, TSV, JSONL, Parquet, Arrow)")
	fs.StringVar(&s.Target, "target", "", "label `column` (hard labels; the value for linreg)")
	probCols := fs.String("prob-cols", "", "probabilistic label `columns`, one per class, comma-separated")
	fs.StringVar(&s.Weight, "weight", "", "optional per-row weight `column`")
	fs.StringVar(&s.Out, "out", "", "model `directory` to write")
	kind := fs.String("kind", "", "model type: logreg, softmax, linreg or mlp (default logreg, softmax for > 2 classes)")
	text := fs.String("text", "", "text `columns` (hashed word n-grams)")
	numeric := fs.String("numeric", "", "numeric `columns` (standardized)")
	categorical := fs.String("categorical", "", "categorical `columns` (one-hot)")
	hashedCat := fs.String("hashed-categorical", "", "categorical `columns` to hash instead of one-hot")
	featFile := fs.String("features", "", "featurizer config `file` (YAML); replaces --text/--numeric/--categorical")
	ngrams := fs.Int("ngrams", 2, "word n-grams 1..`N` for text columns (giving it, --char-ngrams, --tfidf or --features turns the featurization search off)")
	chars := fs.String("char-ngrams", "", "character n-gram lengths `MIN-MAX`, e.g. 2-4 (default none)")
	lower := fs.Bool("lower", true, "lower-case text")
	tfidf := fs.Bool("tfidf", false, "TF-IDF weight text features")
	bits := fs.Int("bits", featurize.DefaultBits, "hash space 2^`BITS`")
	fs.BoolVar(&s.KeepAbstain, "keep-abstain", false, "keep rows where every LF abstained")
	fs.StringVar(&s.VotesCol, "votes-col", "votes", "the vote-count `column` of 'dawn label run' output: rows where it is 0 are all-abstain (without the column: rows with uniform probabilities or an empty label)")
	fs.StringVar(&s.Valid, "valid", "", "validation `file` for early stopping (needs --gold)")
	fs.StringVar(&s.Gold, "gold", "", "gold label `column` of --valid")
	fs.Float64Var(&s.ValidFrac, "valid-frac", 0, "without --valid: hold out this `fraction` of training rows for early stopping")
	o := &s.Options
	fs.StringVar(&o.Optimizer, "optimizer", "sgd", "sgd (HogWild!), adagrad (HogWild! with per-weight rates; linear models) or lbfgs (full batch, exact)")
	fs.IntVar(&o.Epochs, "epochs", 0, "SGD epochs or L-BFGS iterations (default 30 / 200)")
	fs.Float64Var(&o.LR, "lr", 0, "initial learning rate (default 0.1; 0.01 for linreg)")
	fs.StringVar(&o.Schedule, "schedule", "inverse", "learning-rate schedule: inverse, invsqrt or constant")
	fs.Float64Var(&o.L2, "l2", 1e-4, "L2 penalty (giving it turns the L2 search off)")
	doSearch := fs.Bool("search", true, "choose the text featurization and the L2 penalty not given as flags by validation (on --valid, else a held-out 20 % of the training rows); --search=false uses the defaults as they are")
	fs.Float64Var(&o.L1, "l1", 0, "L1 penalty")
	fs.IntVar(&o.Threads, "workers", 0, "SGD workers (default all cores from 100,000 training rows, 1 below: reproducible for a --seed)")
	fs.IntVar(&o.Hidden, "hidden", 32, "MLP hidden units")
	fs.IntVar(&o.Patience, "patience", 3, "early stopping: epochs without a better validation loss")
	fs.StringVar(&o.Precision, "precision", "", "low-precision SGD weights: int8 or int16 (linear models)")
	seed := addSeedFlag(fs, "shuffling, initialisation and the --valid-frac split")
	fs.StringVar(&s.RunID, "run-id", "", "tracking run id to record in the MLmodel")
	asJSON := fs.Bool("json", false, "print the training report as JSON")
	tf := addTrackingFlags(fs)
	df := addDataFlags(fs)
	deprecatedAlias(fs, e.stderr, "model", "kind")
	deprecatedAlias(fs, e.stderr, "threads", "workers")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ropt, err := df.options()
	if err != nil {
		return err
	}
	s.Read = ropt
	o.Seed = *seed
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	s.RequireVotes = given["votes-col"]
	if *doSearch {
		s.Search.Features = !given["ngrams"] && !given["char-ngrams"] && !given["tfidf"] && !given["features"]
		s.Search.L2 = !given["l2"]
	}
	s.ProbCols = splitList(*probCols)
	switch {
	case s.Data == "":
		return usagef("train: --data is required")
	case s.Out == "":
		return usagef("train: --out is required")
	case s.Target == "" && len(s.ProbCols) == 0:
		return usagef("train: give --target COLUMN or --prob-cols P1,P2,...")
	case s.Target != "" && len(s.ProbCols) > 0:
		return usagef("train: give --target or --prob-cols, not both")
	}
	if *kind != "" {
		k, err := train.ParseKind(*kind)
		if err != nil {
			return usagef("%v", err)
		}
		o.Model = k
	}
	if *featFile != "" {
		b, err := os.ReadFile(*featFile)
		if err != nil {
			return fmt.Errorf("train: %w", err)
		}
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		dec.KnownFields(true)
		if err := dec.Decode(&s.Features); err != nil {
			return fmt.Errorf("train: features file %s: %w", *featFile, err)
		}
	} else {
		cmin, cmax := 0, 0
		if *chars != "" {
			a, b, ok := strings.Cut(*chars, "-")
			var err1, err2 error
			cmin, err1 = strconv.Atoi(a)
			cmax, err2 = strconv.Atoi(b)
			if !ok || err1 != nil || err2 != nil {
				return usagef("train: --char-ngrams %q: want MIN-MAX, e.g. 2-4", *chars)
			}
		}
		for _, c := range splitList(*text) {
			s.Features.Text = append(s.Features.Text, featurize.Text{Column: c, Words: *ngrams, CharMin: cmin, CharMax: cmax, Lower: *lower, TFIDF: *tfidf})
		}
		s.Features.Numeric = splitList(*numeric)
		for _, c := range splitList(*categorical) {
			s.Features.Categorical = append(s.Features.Categorical, featurize.Categorical{Column: c})
		}
		for _, c := range splitList(*hashedCat) {
			s.Features.Categorical = append(s.Features.Categorical, featurize.Categorical{Column: c, Hashed: true})
		}
		s.Features.Bits = *bits
		if len(s.Features.Text)+len(s.Features.Numeric)+len(s.Features.Categorical) == 0 {
			return usagef("train: name the feature columns: --text, --numeric, --categorical or --features")
		}
	}
	// Hyperparameters and the featurization are logged after training,
	// as used (defaults resolved, the search's choice, only those that
	// apply); these describe the data.
	al, err := tf.start(ctx, "dawn train", map[string]string{
		"target": s.Target, "prob_cols": strings.Join(s.ProbCols, ","), "text": *text,
	}, map[string]string{"train": s.Data, "valid": s.Valid})
	if err != nil {
		return al.finish(ctx, err)
	}
	if s.RunID == "" {
		s.RunID = al.runID()
	}
	// Count the work on a terminal. The search's fits come first, then the final fit's epochs (0 epochs
	// given: the default, so that bar counts without a total); the epoch
	// bar starts when the search's is done, so they never draw together.
	var sbar, bar *progress.Bar
	if s.Search.Features || s.Search.L2 {
		n := int64(len(train.SearchL2))
		if !s.Search.L2 {
			n = 1
		}
		if s.Search.Features && len(s.Features.Text) > 0 {
			n *= int64(len(train.SearchGrid))
		}
		sbar = newBar(e, "train: search", n)
		s.Search.Progress = func() { sbar.Add(1) }
	}
	o.Progress = func(train.EpochStat) {
		if bar == nil {
			sbar.Finish()
			bar = newBar(e, "train: epochs", int64(o.Epochs))
		}
		bar.Add(1)
	}
	rep, err := train.Run(ctx, s)
	sbar.Finish()
	bar.Finish()
	if err == nil { // the monitoring reference: the held-out rows when given
		err = monitor.WriteProfile(ctx, rep.Out, cmp.Or(s.Valid, s.Data), cmp.Or(s.Gold, s.Target))
	}
	if err == nil {
		rep.RunID = al.runID()
		err = logTrainRun(ctx, al, rep)
	}
	if err := al.finish(ctx, err); err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, rep)
	}
	fmt.Fprintf(e.stdout, "model       %s → %s\n", rep.Model, rep.Out)
	if len(rep.Classes) > 0 {
		fmt.Fprintf(e.stdout, "classes     %s\n", strings.Join(rep.Classes, ", "))
	}
	fmt.Fprintf(e.stdout, "rows        %d (dropped %d all-abstain)\n", rep.Rows, rep.Dropped)
	fmt.Fprintf(e.stdout, "features    %d\n", rep.Features)
	if sr := rep.Search; sr != nil {
		c := sr.Chosen
		fmt.Fprintf(e.stdout, "search      %d settings scored on %s (%d rows)\n", len(sr.Candidates), sr.Validation, sr.ValidRows)
		fmt.Fprintf(e.stdout, "chosen      %s, l2 %g", c.Features, c.L2)
		if c.LR > 0 {
			fmt.Fprintf(e.stdout, ", lr %g", c.LR)
		}
		if len(rep.Classes) > 0 {
			fmt.Fprintf(e.stdout, " (valid acc. %.4f, loss %.4g)\n", c.ValidAcc, c.ValidLoss)
		} else {
			fmt.Fprintf(e.stdout, " (valid loss %.4g)\n", c.ValidLoss)
		}
	}
	fmt.Fprintf(e.stdout, "epochs      %d (kept epoch %d)\n", rep.Epochs, rep.BestEpoch)
	fmt.Fprintf(e.stdout, "objective   %.6g\n", rep.Objective)
	if rep.ValidLoss != nil {
		fmt.Fprintf(e.stdout, "valid loss  %.6g on %d rows\n", *rep.ValidLoss, rep.ValidRows)
	}
	if rep.ValidAcc != nil {
		fmt.Fprintf(e.stdout, "valid acc.  %.4f\n", *rep.ValidAcc)
	}
	fmt.Fprintf(e.stdout, "time        %.3fs (%.0f rows/s)\n", rep.Seconds, rep.RowsPerSec)
	if rep.RunID != "" {
		fmt.Fprintf(e.stdout, "run         %s\n", rep.RunID)
	}
	return nil
}

// logTrainRun records a training run's metrics, per-epoch losses and the
// model directory under "model".
func logTrainRun(ctx context.Context, al *autolog, rep *train.Report) error {
	if al == nil {
		return nil
	}
	m := map[string]float64{"rows": float64(rep.Rows), "dropped_abstain": float64(rep.Dropped), "objective": rep.Objective,
		"best_epoch": float64(rep.BestEpoch), "seconds": rep.Seconds, "rows_per_second": rep.RowsPerSec}
	if rep.ValidLoss != nil {
		m["valid_loss"] = *rep.ValidLoss
	}
	if rep.ValidAcc != nil {
		m["valid_accuracy"] = *rep.ValidAcc
	}
	if err := al.metrics(ctx, m); err != nil {
		return fmt.Errorf("tracking: log metrics: %w", err)
	}
	// The hyperparameters are known only after defaults are applied.
	for _, k := range slices.Sorted(maps.Keys(rep.Params)) {
		if err := al.c.LogParam(ctx, al.runID(), k, rep.Params[k]); err != nil {
			return fmt.Errorf("tracking: log params: %w", err)
		}
	}
	var hist []tracking.Metric
	now := tracking.Int64(time.Now().UnixMilli())
	for _, h := range rep.History {
		hist = append(hist, tracking.Metric{Key: "epoch_train_loss", Value: tracking.Float(h.TrainLoss), Step: tracking.Int64(h.Epoch), Timestamp: now})
		if h.ValidLoss != 0 {
			hist = append(hist, tracking.Metric{Key: "epoch_valid_loss", Value: tracking.Float(h.ValidLoss), Step: tracking.Int64(h.Epoch), Timestamp: now})
		}
	}
	if len(hist) > 0 {
		if err := al.c.LogBatch(ctx, al.runID(), hist, nil, nil); err != nil {
			return fmt.Errorf("tracking: log history: %w", err)
		}
	}
	if err := al.model(ctx, rep.Out, "model", m); err != nil {
		return fmt.Errorf("tracking: log model: %w", err)
	}
	return nil
}
