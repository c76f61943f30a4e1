package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/dawn-ml/dawn/data"
	"github.com/dawn-ml/dawn/label"
	"github.com/dawn-ml/dawn/labeling"
	"github.com/dawn-ml/dawn/labelmodel"
	"github.com/dawn-ml/dawn/monitor"
)

// defaultLogSample is how many rows `dawn label run` logs as sample.csv
// (at most labeling.MaxSampleRows).
const defaultLogSample = 1000

// modelFlags are the label-model options fit and run share.
type modelFlags struct {
	method, balance, optimizer string
	deps, fallback             string
	seed                       uint64
	epochs                     int
	lr, l2                     float64
}

func addModelFlags(fs interface {
	StringVar(*string, string, string, string)
	Uint64Var(*uint64, string, uint64, string)
	IntVar(*int, string, int, string)
	Float64Var(*float64, string, float64, string)
}) *modelFlags {
	m := &modelFlags{}
	fs.StringVar(&m.method, "method", labelmodel.Snorkel, "label model: snorkel, majority, dawid-skene or triplet")
	fs.Uint64Var(&m.seed, "seed", defaultSeed, "random seed; the same seed gives the same model")
	fs.IntVar(&m.epochs, "epochs", 0, "snorkel: training epochs (default 100)")
	fs.Float64Var(&m.lr, "lr", 0, "snorkel: learning rate (default 0.01)")
	fs.Float64Var(&m.l2, "l2", 0, "snorkel: l2 penalty towards the initial parameters")
	fs.StringVar(&m.optimizer, "optimizer", "", "snorkel: sgd (default) or adam")
	fs.StringVar(&m.deps, "dependencies", "auto", "snorkel: auto (find LF pairs dependent given the class from the votes, two classes, and leave their overlap out of the fit) or none (conditionally independent LFs, Snorkel v0.10)")
	fs.StringVar(&m.fallback, "fallback", "majority", "snorkel: majority (label by majority vote when the fit makes some LF's vote evidence against its own label) or none (keep the fit)")
	fs.StringVar(&m.balance, "class-balance", "", "snorkel, triplet: class prior as comma-separated probabilities in label order, or 'uniform' (Snorkel's default); default: estimated from the votes by Dawid–Skene EM")
	return m
}

func (m *modelFlags) options(k int) (labelmodel.Options, error) {
	o := labelmodel.Options{Seed: m.seed, Epochs: m.epochs, LR: m.lr, L2: m.l2, Optimizer: m.optimizer}
	var err error
	if o.IndependentLFs, err = isNone("dependencies", m.deps, "auto"); err != nil {
		return o, err
	}
	if o.NoFallback, err = isNone("fallback", m.fallback, "majority"); err != nil {
		return o, err
	}
	if strings.EqualFold(strings.TrimSpace(m.balance), "uniform") {
		o.UniformPrior = true
	} else if m.balance != "" {
		for _, s := range strings.Split(m.balance, ",") {
			p, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				return o, usagef("--class-balance: %q is not a number", s)
			}
			o.ClassBalance = append(o.ClassBalance, p)
		}
		if k > 0 && len(o.ClassBalance) != k { // k 0: the fit checks it
			return o, usagef("--class-balance has %d values for %d classes", len(o.ClassBalance), k)
		}
	}
	return o, nil
}

// isNone reads a flag that is either on (the value on) or "none".
func isNone(flag, v, on string) (bool, error) {
	switch v {
	case on:
		return false, nil
	case "none":
		return true, nil
	}
	return false, usagef("--%s: %q is not %s or none", flag, v, on)
}

// params are the label-model settings a run records: the values used
// (defaults resolved), only those of the chosen method, plus extra.
func (m *modelFlags) params(extra map[string]string) map[string]string {
	p := map[string]string{"method": m.method, "seed": fmt.Sprint(m.seed)}
	o := labelmodel.Options{Epochs: m.epochs, LR: m.lr, L2: m.l2, Optimizer: m.optimizer}.WithDefaults()
	if m.method == labelmodel.Snorkel {
		p["epochs"], p["lr"], p["l2"], p["optimizer"] = fmt.Sprint(o.Epochs), fmt.Sprint(o.LR), fmt.Sprint(o.L2), o.Optimizer
		p["dependencies"], p["fallback"] = m.deps, m.fallback
	}
	if m.method == labelmodel.DawidSkene {
		p["max_iter"], p["tol"] = fmt.Sprint(o.MaxIter), fmt.Sprint(o.Tol)
	}
	switch {
	case m.method != labelmodel.Snorkel && m.method != labelmodel.Triplet:
	case m.balance != "":
		p["class_balance"] = m.balance
	case m.method == labelmodel.Snorkel:
		p["class_balance"] = "estimated"
	default:
		p["class_balance"] = "uniform"
	}
	maps.Copy(p, extra)
	return p
}

func fitModel(ctx context.Context, e *env, x *label.Matrix, mf *modelFlags) (labelmodel.Model, error) {
	opt, err := mf.options(x.K())
	if err != nil {
		return nil, err
	}
	lm, err := labelmodel.New(mf.method, opt)
	if err != nil {
		return nil, usagef("%v", err)
	}
	if err := lm.Fit(ctx, x); err != nil {
		return nil, err
	}
	warnModel(e, lm)
	return lm, nil
}

// printBalance prints the class balance a label model used and where it
// came from.
func printBalance(e *env, lm labelmodel.Model) {
	src := labelmodel.PriorSource(lm)
	if src == "" {
		return
	}
	parts := make([]string, len(lm.Classes()))
	for c, name := range lm.Classes() {
		parts[c] = fmt.Sprintf("%s %.3f", name, lm.ClassBalance()[c])
	}
	fmt.Fprintf(e.stdout, "class balance: %s (%s)\n", strings.Join(parts, ", "), src)
	for _, d := range labelmodel.Dependencies(lm) {
		fmt.Fprintf(e.stdout, "dependent LFs, their overlap left out of the fit: %s\n", d)
	}
	if labelmodel.MajorityFallback(lm) {
		fmt.Fprintln(e.stdout, "labels by majority vote: the fit made an LF's vote evidence against its own label (see the warning; --fallback none keeps the fit)")
	}
}

func describeColumns(oc label.OutputColumns) string {
	return fmt.Sprintf("columns %s, %s, %s = number of LFs that voted", strings.Join(oc.Probs, ", "), oc.Label, oc.Votes)
}

// warnModel prints a fitted label model's warnings on stderr.
func warnModel(e *env, lm labelmodel.Model) {
	for _, w := range labelmodel.Warnings(lm) {
		fmt.Fprintf(e.stderr, "dawn: warning: %s label model: %s\n", lm.Method(), w)
	}
}

// modelSummary is what fit and run report about a fitted label model.
func modelSummary(lm labelmodel.Model) map[string]any {
	m := map[string]any{"class_balance": lm.ClassBalance()}
	if src := labelmodel.PriorSource(lm); src != "" {
		m["class_balance_source"] = src
	}
	if w := labelmodel.Warnings(lm); w != nil {
		m["warnings"] = w
	}
	if d := labelmodel.Dependencies(lm); d != nil {
		m["dependencies"] = d
	}
	if labelmodel.MajorityFallback(lm) {
		m["fallback"] = labelmodel.Majority
	}
	return m
}

func labelFit(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "label fit", `Usage: dawn label fit --votes votes.parquet --method snorkel|majority|dawid-skene|triplet --out model.json [--seed N] [--json]

Fits a label model to the votes of 'dawn label apply', with no ground truth,
and saves it as JSON for 'dawn label predict' and 'dawn label analyze --model'.
The votes may also be a vote matrix made elsewhere: a dense CSV/TSV (a header
of LF names, cells class ids or names, -1 or empty for abstain), a NumPy .npy
array (Snorkel's L_train, -1 for abstain) or a Wrench split (.json, class
names from the label.json beside it); --classes names the class ids.

Example:
  dawn label fit --votes votes.parquet --method snorkel --epochs 500 --seed 123 --out model.json
  dawn label fit --votes L_train.npy --classes ham,spam --out model.json`)
	votes := fs.String("votes", "", "votes: .parquet from 'dawn label apply', .csv/.tsv, .npy or Wrench .json (required)")
	classes := fs.String("classes", "", "for .csv/.npy/.json votes: the class names of ids 0,1,... (default: label.json beside a Wrench file, else 0,1,...)")
	out := fs.String("out", "", "where to save the model: a .json file, or a model directory (needs --lfs and --data) for dawn predict/serve (required)")
	lfs := fs.String("lfs", "", "with a model directory: the LF file the votes came from")
	dataPath := fs.String("data", "", "with a model directory: the data the votes came from (read for its columns only)")
	asJSON := fs.Bool("json", false, "print a JSON summary on stdout")
	mf := addModelFlags(fs)
	df := addDataFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(map[string]string{"--votes": *votes, "--out": *out}); err != nil {
		return err
	}
	var lf *label.File
	var schema *arrow.Schema
	if !labeling.IsJSONPath(*out) {
		if *lfs == "" || *dataPath == "" {
			return usagef("label fit: saving a model directory (%s) needs --lfs and --data; or name a .json file", *out)
		}
		var err error
		if lf, schema, err = lfsAndSchema(*lfs, *dataPath, df); err != nil {
			return err
		}
	}
	vopt := label.VotesOptions{Classes: splitList(*classes)}
	if vopt.Classes == nil && lf != nil {
		vopt.Classes = lf.Labels
	}
	x, _, err := label.ReadVotes(ctx, *votes, vopt)
	if err != nil {
		return err
	}
	start := time.Now()
	lm, err := fitModel(ctx, e, x, mf)
	if err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	if err := labeling.SaveModel(*out, lm, lf, schema, ""); err != nil {
		return err
	}
	if lf != nil { // a model directory: its monitoring reference, as dawn train writes it
		if err := monitor.WriteProfile(ctx, *out, *dataPath, ""); err != nil {
			return err
		}
	}
	sum := label.Analyze(x)
	label.AddLearned(sum, lm.LFAccuracies())
	if *asJSON {
		res := map[string]any{"method": lm.Method(), "rows": x.N, "seconds": secs, "out": *out, "lfs": sum}
		maps.Copy(res, modelSummary(lm))
		return writeJSON(e.stdout, res)
	}
	fmt.Fprintf(e.stdout, "fitted %s label model on %d rows × %d LFs in %.2fs; saved to %s\n", lm.Method(), x.N, x.M(), secs, *out)
	printBalance(e, lm)
	fmt.Fprintln(e.stdout)
	writeAnalysisTable(e.stdout, sum)
	return nil
}

// lfsAndSchema loads an LF file and reads a data file's schema.
func lfsAndSchema(lfsPath, dataPath string, df *dataFlags) (*label.File, *arrow.Schema, error) {
	f, err := label.LoadFile(lfsPath)
	if err != nil {
		return nil, nil, err
	}
	opt, err := df.options()
	if err != nil {
		return nil, nil, err
	}
	r, err := data.Open(dataPath, opt)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	return f, r.Schema(), nil
}

func labelPredict(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "label predict", `Usage: dawn label predict --model model.json (--lfs lfs.yaml --data new.csv | --votes VOTES) --out labels.csv

Applies the LFs to new data and writes its rows with one prob_<class> column
per class, the argmax class in 'label' (empty where the model abstains) and
the number of LFs that voted in 'votes'. With --votes it labels a vote
matrix instead (any format 'dawn label fit' reads) and writes one line per
row: row (0-based, as in the votes), the prob_ columns, label and votes.

Example:
  dawn label predict --model model.json --lfs lfs.yaml --data new.csv --out labels.csv
  dawn label predict --model model.json --votes L_test.npy --out labels.csv`)
	modelPath := fs.String("model", "", "a label model from 'dawn label fit' (required)")
	lfs := fs.String("lfs", "", "the labeling-function YAML file the model was fitted with (required without --votes)")
	dataPath := fs.String("data", "", "the data to label (required without --votes)")
	votesPath := fs.String("votes", "", "label this vote matrix instead of applying LFs to --data")
	out := fs.String("out", "", "where to write the labeled rows: .csv or .parquet (required)")
	tieBreak := addTieBreakFlag(fs, "how to label tied rows")
	seed := addSeedFlag(fs, "--tie-break true-random")
	asJSON := fs.Bool("json", false, "print a JSON summary on stdout")
	df := addDataFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *votesPath != "" {
		if *lfs != "" || *dataPath != "" {
			return usagef("label predict: give --votes or --lfs with --data, not both")
		}
		if err := required(map[string]string{"--model": *modelPath, "--out": *out}); err != nil {
			return err
		}
	} else if err := required(map[string]string{"--model": *modelPath, "--lfs": *lfs, "--data": *dataPath, "--out": *out}); err != nil {
		return err
	}
	policy, err := tieBreak()
	if err != nil {
		return err
	}
	opt, err := df.options()
	if err != nil {
		return err
	}
	w, err := labeling.Predict(ctx, labeling.PredictOptions{Model: *modelPath, LFs: *lfs, Data: *dataPath, Votes: *votesPath,
		Out: *out, DataOptions: opt, TieBreak: policy, Seed: *seed, Progress: barProgress(e)})
	if err != nil {
		return err
	}
	if *votesPath != "" {
		if *asJSON {
			return writeJSON(e.stdout, map[string]any{"rows": w.Rows, "labeled": w.Labeled, "out": *out})
		}
		fmt.Fprintf(e.stdout, "labeled %d of %d rows of %s; written to %s\n", w.Labeled, w.Rows, *votesPath, *out)
		return nil
	}
	if *asJSON {
		return writeJSON(e.stdout, map[string]any{"rows": w.Rows, "labeled": w.Labeled, "out": *out, "columns": w.Columns})
	}
	fmt.Fprintf(e.stdout, "labeled %d of %d rows; written to %s (%s)\n", w.Labeled, w.Rows, *out, describeColumns(w.Columns))
	return nil
}

// barProgress shows each pipeline step's progress as a bar on a terminal.
func barProgress(e *env) labeling.Progress {
	return func(what string) (func(read, size int64), func()) {
		bar, update := fileBar(e, what)
		return update, bar.Finish
	}
}

// readGold is labeling.ReadGold with the data flags; a missing column is
// a usage error.
func readGold(path, column string, classes []string, df *dataFlags) ([]int, error) {
	opt, err := df.options()
	if err != nil {
		return nil, err
	}
	g, err := labeling.ReadGold(path, column, classes, opt)
	return g, goldUsage(err)
}

// goldUsage makes a missing gold column a usage error (exit 2).
func goldUsage(err error) error {
	if errors.Is(err, labeling.ErrNoGoldColumn) {
		return usagef("%v", err)
	}
	return err
}

// checkGoldColumn is labeling.CheckGoldColumn with the data flags.
func checkGoldColumn(path, column string, df *dataFlags) error {
	opt, err := df.options()
	if err != nil {
		return err
	}
	return goldUsage(labeling.CheckGoldColumn(path, column, opt))
}

func labelRun(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "label run", `Usage: dawn label run --lfs lfs.yaml --data train.csv --out labels.csv [--method M] [--valid test.csv --gold COLUMN] [--json]

Applies the LFs, fits the label model, writes the probabilistic labels and
prints the LF analysis. With --valid it also reports the label model's
accuracy on a labeled file (ties and all-abstain rows broken by --tie-break),
its coverage there, its accuracy on covered rows, and F1 of the positive
class (the second label) when there are two classes.

Example:
  dawn label run --lfs lfs.yaml --data train.csv --out labels.csv --valid test.csv --gold CLASS --json`)
	lfs := fs.String("lfs", "", "the labeling-function YAML file (required)")
	dataPath := fs.String("data", "", "the unlabeled training data (required)")
	out := fs.String("out", "", "where to write the labeled rows: .csv or .parquet (required)")
	modelOut := fs.String("model-out", "", "also save the fitted label model: a .json file, or a model directory for dawn predict/serve")
	votesOut := fs.String("votes-out", "", "also save the votes here (.parquet)")
	evalPath := fs.String("valid", "", "a labeled file to evaluate the label model on")
	gold := fs.String("gold", "", "the gold-label column of --valid (class names or ids)")
	tieBreak := addTieBreakFlag(fs, "tied rows in --valid and --out")
	asJSON := fs.Bool("json", false, "print one JSON object on stdout")
	sample := fs.Int("log-sample", defaultLogSample, "with --tracking-uri, log the first N rows of --data as the run's sample.csv (the console's labeling workbench applies LFs to it); 0: none")
	df := addDataFlags(fs)
	mf := addModelFlags(fs)
	tf := addTrackingFlags(fs)
	deprecatedAlias(fs, e.stderr, "eval", "valid")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(map[string]string{"--lfs": *lfs, "--data": *dataPath, "--out": *out}); err != nil {
		return err
	}
	if (*evalPath == "") != (*gold == "") {
		return usagef("label run: --valid and --gold go together")
	}
	if *sample > labeling.MaxSampleRows {
		return usagef("--log-sample: at most %d rows, got %d", labeling.MaxSampleRows, *sample)
	}
	policy, err := tieBreak()
	if err != nil {
		return err
	}
	dopt, err := df.options()
	if err != nil {
		return err
	}
	mopt, err := mf.options(0) // classes unknown until the LF file is read
	if err != nil {
		return err
	}
	lm, err := labelmodel.New(mf.method, mopt)
	if err != nil {
		return usagef("%v", err)
	}
	ro := labeling.RunOptions{LFs: *lfs, Data: *dataPath, Out: *out, ModelOut: *modelOut, VotesOut: *votesOut,
		Valid: *evalPath, Gold: *gold, DataOptions: dopt, Model: lm, TieBreak: policy, Seed: mf.seed, Progress: barProgress(e)}
	if err := ro.Check(); err != nil {
		return goldUsage(err)
	}
	al, err := tf.start(ctx, "dawn label run", mf.params(map[string]string{"tie_break": policy.String(), "lfs_file": filepath.Base(*lfs)}),
		map[string]string{"train": *dataPath, "eval": *evalPath, "lfs": *lfs})
	if err != nil {
		return al.finish(ctx, err)
	}
	if al != nil {
		ro.Tracker, ro.SampleRows = al, *sample
	}
	res, err := labeling.Run(ctx, ro)
	if err == nil {
		err = printLabelRun(e, res, al, ro, *asJSON)
	}
	return al.finish(ctx, goldUsage(err))
}

// printLabelRun prints what labeling.Run did, as text or JSON.
func printLabelRun(e *env, res *labeling.RunResult, al *autolog, o labeling.RunOptions, asJSON bool) error {
	lm, x, f, ev := res.Model, res.Matrix, res.File, res.Eval
	warnModel(e, lm)
	result := map[string]any{
		"method": lm.Method(), "rows": res.Rows, "labeled": res.Labeled, "out": o.Out,
		"apply_seconds": res.ApplySeconds, "fit_seconds": res.FitSeconds, "lfs": res.LFs, "columns": res.Columns,
	}
	maps.Copy(result, modelSummary(lm))
	if ev != nil {
		result["eval"] = ev
		result["tie_break"] = o.TieBreak.String()
	}
	if id := al.runID(); id != "" {
		result["run_id"] = id
	}
	if asJSON {
		return writeJSON(e.stdout, result)
	}
	fmt.Fprintf(e.stdout, "applied %d LFs to %d rows (%.2fs), fitted the %s label model (%.2fs); %d rows labeled, written to %s (%s)\n",
		x.M(), x.N, res.ApplySeconds, lm.Method(), res.FitSeconds, res.Labeled, o.Out, describeColumns(res.Columns))
	printBalance(e, lm)
	fmt.Fprintln(e.stdout)
	writeAnalysisTable(e.stdout, res.LFs)
	if ev != nil {
		fmt.Fprintf(e.stdout, "\nlabel model on %s (%d rows, ties broken by %s): accuracy %.3f, coverage %.3f, accuracy on covered rows %.3f",
			o.Valid, ev.Rows, o.TieBreak, ev.Accuracy, ev.Coverage, ev.CoveredAccuracy)
		if len(f.Labels) == 2 {
			fmt.Fprintf(e.stdout, ", F1 (%s) %.3f", f.Labels[1], ev.F1)
		}
		fmt.Fprintln(e.stdout)
	}
	if id := al.runID(); id != "" {
		fmt.Fprintf(e.stdout, "logged run %s to %s\n", id, al.c.URI())
	}
	return nil
}
