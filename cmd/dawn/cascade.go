package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dawn-ml/dawn/cascade"
	"github.com/dawn-ml/dawn/data"
	"github.com/dawn-ml/dawn/internal/progress"
	"github.com/dawn-ml/dawn/model"
)

const cascadeSynopsis = `Usage: dawn cascade <subcommand> [flags]

Cascades put a cheap model trained on an expensive reference model's own
answers in front of it (NoScope): the cheap model answers when it is sure,
the reference only when it is not.

Example:
  dawn cascade build --reference http://127.0.0.1:5001 --data sample.csv --text text --out spam-cascade/
  dawn cascade eval --model spam-cascade/ --reference http://127.0.0.1:5001 --data test.csv`

const cascadeBuildUsage = `Usage: dawn cascade build --reference URL|DIR --data SAMPLE --text COLUMN
       [--cheap-spec FILE] [--target-accuracy 0.99] --out DIR [--seed N] [--json]
       [--confidence 0.95] [--window N] [--nested] [--folds 5] [--ensemble=true] [--holdout 0.3] [--ordered]
       [--workers 4] [--timeout 30s] [--retries 4]

Labels the sample with the reference (an endpoint speaking MLflow's
/invocations protocol, e.g. another 'dawn serve', or a model directory),
trains the cheap model on those answers, and picks the two confidence
thresholds with the cost-based optimizer: the lowest expected cost per input
(the cheap model's measured cost per row, plus the reference's measured cost
per single-row call for the inputs it leaves to the reference) with agreement
>= --target-accuracy on held-out rows of the sample (by default every row,
scored out of fold by a cheap model trained on the other 4/5; --folds 1
holds out one --holdout part). --ordered treats the sample as ordered input
(frames, a stream): the tail is held out and a difference detector that
reuses the previous answer is considered too. Prints the held-out agreement,
reference_fraction and expected_speedup, and saves the cascade as a model
directory for 'dawn serve' and 'dawn predict'.

--confidence 0.95 (the default) demands the target at the one-sided Wilson
upper bound of the held-out disagreement rate, a margin for sampling error
(0: on the held-out rows themselves). With --window N it demands instead
that N new inputs (a test set, a day's traffic) meet the target with that
probability, which needs a lower disagreement rate the smaller N is.
--nested chooses the error budget by nested cross-fitting instead: the
largest budget whose thresholds, chosen without each fold, disagree on that
fold's rows (over all folds) no more often than the margin allows;
thresholds fitted to the held-out rows sit in gaps between their
disagreements, so new inputs disagree more often. It costs K(K-1)/2 more
fits for --folds K.

--cheap-spec FILE names the cheap models to try, in YAML (unknown keys are
errors with their line and the nearest key). Each candidate is trained and
optimized and the cheapest plan is kept; a candidate of several parts is
their blend (the mean of their logits):

  candidates:
    - name: words+chars          # optional; names it in the report
      parts:
        - kind: logreg           # logreg (default), softmax or mlp
          ngrams: 2              # word n-grams up to 2 (default 2; 0: none)
          tfidf: true            # tf-idf weights, L2-normalized
          opt: lbfgs             # sgd, adagrad or lbfgs
          l2: 0.000001           # default 0.0001
        - ngrams: 0
          chars: [2, 4]          # character 2- to 4-grams
          tfidf: true
          augment: true          # also train on fragments of each row

Other keys of a part: bits (feature hash bits), epochs, hidden, lr. Without
--cheap-spec the cheap model is one part: logreg, ngrams 2, bits 16,
l2 0.00001, opt lbfgs, tfidf true. The older --cheap 'KIND,key=value,...'
(parts joined by '+', candidates by ';') still works and is deprecated.

Example:
  dawn cascade build --reference http://127.0.0.1:5001 --data sample.csv \
       --text text --target-accuracy 0.99 --out spam-cascade/ --json
  dawn cascade build --reference http://127.0.0.1:5001 --data sample.csv --text text \
       --cheap-spec cheap.yaml --window 392 --out spam-cascade/`

const cascadeEvalUsage = `Usage: dawn cascade eval --model DIR --reference URL|DIR --data FILE [--batch 1] [--json]

Runs the cascade and the reference alone over --data, --batch rows per call,
and reports their agreement, the fraction the cascade sent to the reference
and the measured end-to-end speedup.

Example:
  dawn cascade eval --model spam-cascade/ --reference http://127.0.0.1:5001 --data test.csv --json`

func init() {
	register(&command{name: "cascade", summary: "build and evaluate model cascades (NoScope)", run: func(ctx context.Context, e *env, args []string) error {
		return dispatch(ctx, e, "cascade", cascadeSynopsis, []subcommand{
			{name: "build", summary: "train a cheap model on a reference's answers and pick thresholds", run: runCascadeBuild},
			{name: "eval", summary: "measure a cascade against its reference", run: runCascadeEval},
		}, args)
	}})
}

// readAll reads a data file into one record batch.

func isURL(s string) bool { return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") }

// openReference opens --reference: a URL becomes a Client sending inputs.
func openReference(ref string, inputs []model.Column, concurrency int, timeout time.Duration, retries int) (model.Model, error) {
	if isURL(ref) {
		return &cascade.Client{URL: ref, Inputs: inputs, Concurrency: concurrency, Timeout: timeout, Retries: retries}, nil
	}
	return model.Load(ref)
}

func runCascadeBuild(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "cascade build", cascadeBuildUsage)
	ref := fs.String("reference", "", "reference endpoint `URL` or model directory")
	sample := fs.String("data", "", "sample `file` to label, train on and hold out from")
	text := fs.String("text", "", "text `columns` the cheap model reads (comma-separated)")
	numeric := fs.String("numeric", "", "numeric `columns` the cheap model reads")
	cheapFile := fs.String("cheap-spec", "", "cheap-model spec `file` (YAML; see --help); default: one word 1-2-gram tf-idf logistic regression")
	cheapInline := fs.String("cheap", "", "deprecated: write the models to a --cheap-spec file; KIND[,key=value...] parts joined by '+', candidates by ';'")
	target := fs.Float64("target-accuracy", 0.99, "agreement with the reference to keep on the held-out part")
	out := fs.String("out", "", "cascade model `directory` to write")
	seed := addSeedFlag(fs, "split and training")
	holdout := fs.Float64("holdout", 0.3, "`fraction` of the sample held out for the optimizer (with --folds 1 or --ordered)")
	confidence := fs.Float64("confidence", 0.95, "demand the target at this one-sided confidence, not just on the held-out sample (0: off)")
	nested := fs.Bool("nested", false, "choose the error budget by nested cross-fitting: the thresholds must keep rows they were not chosen on within the margin")
	window := fs.Int("window", 0, "with --confidence: demand the target on the next `N` inputs, not on the long-run rate (0)")
	ensemble := fs.Bool("ensemble", true, "with --folds K: keep the K fold models, averaged, as the cheap model (the models the thresholds were measured on); false refits one model on all rows")
	folds := fs.Int("folds", 5, "cross-fit the optimizer's scores over `K` folds of the whole sample (1: a single hold-out)")
	ordered := fs.Bool("ordered", false, "the sample is ordered input: hold out its tail and consider a difference detector")
	concurrency := fs.Int("workers", 4, "reference requests in flight")
	timeout := fs.Duration("timeout", 30*time.Second, "per reference request")
	retries := fs.Int("retries", 4, "retries of a failed reference request")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	df := addDataFlags(fs)
	deprecatedAlias(fs, e.stderr, "concurrency", "workers")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *ref == "" || *sample == "" || *out == "":
		return usagef("cascade build: --reference, --data and --out are required")
	case *text == "" && *numeric == "":
		return usagef("cascade build: name the cheap model's inputs with --text (or --numeric)")
	case *target < 0 || *target > 1:
		return usagef("cascade build: --target-accuracy %v must be in [0, 1]", *target)
	case *window < 0:
		return usagef("cascade build: --window %d must be >= 0", *window)
	}
	spec := cascade.DefaultSpec()
	switch {
	case *cheapFile != "" && *cheapInline != "":
		return usagef("cascade build: give --cheap-spec or the deprecated --cheap, not both")
	case *cheapFile != "":
		var err error
		if spec, err = cascade.LoadSpec(*cheapFile); err != nil {
			return err
		}
	case *cheapInline != "":
		fmt.Fprintln(e.stderr, "dawn: --cheap is deprecated; write the cheap models to a YAML file for --cheap-spec (see dawn cascade build --help)")
		var err error
		if spec, err = cascade.ParseInline(*cheapInline); err != nil {
			return usagef("cascade build: %v", err)
		}
	}
	cands, err := spec.Build(splitList(*text), splitList(*numeric))
	if err != nil {
		return usagef("cascade build: %v", err)
	}
	ropt, err := df.options()
	if err != nil {
		return err
	}
	rows, err := data.ReadRecord(*sample, ropt)
	if err != nil {
		return fmt.Errorf("cascade build: %w", err)
	}
	defer rows.Release()
	var inputs []model.Column
	for _, c := range append(splitList(*text), splitList(*numeric)...) {
		typ := "string"
		if slicesContains(splitList(*numeric), c) {
			typ = "double"
		}
		inputs = append(inputs, model.Column{Name: c, Type: typ})
	}
	reference, err := openReference(*ref, inputs, *concurrency, *timeout, *retries)
	if err != nil {
		return fmt.Errorf("cascade build: %w", err)
	}
	var bar *progress.Bar
	c, cheap, rep, err := cascade.Build(ctx, cascade.BuildConfig{Reference: reference, Sample: rows, Candidates: cands,
		Target: *target, HoldOut: *holdout, Ordered: *ordered, Folds: *folds, Ensemble: *ensemble, Confidence: *confidence, Window: *window, Nested: *nested, Seed: *seed,
		Progress: func(stage string, step, steps int) {
			if bar == nil {
				bar = newBar(e, "cascade build: "+stage, int64(steps))
			}
			bar.Describe("cascade build: " + stage)
			bar.Set(int64(step))
		}})
	bar.Finish()
	if err != nil {
		return err
	}
	refURL, refDir := "", ""
	if isURL(*ref) {
		refURL = *ref
	} else {
		refDir = *ref
	}
	if err := cascade.Save(*out, c, cheap, refURL, refDir, rep); err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, struct {
			*cascade.Report
			Out string `json:"out"`
		}{rep, *out})
	}
	fmt.Fprintf(e.stdout, "cascade            → %s\n", *out)
	if rep.Folds > 1 {
		fmt.Fprintf(e.stdout, "sample             %d rows, scored out of fold over %d folds\n", rep.SampleRows, rep.Folds)
	} else {
		fmt.Fprintf(e.stdout, "sample             %d rows (%d train, %d held out)\n", rep.SampleRows, rep.TrainRows, rep.HeldOutRows)
	}
	if len(rep.Candidates) > 1 {
		for _, cp := range rep.Candidates {
			if cp.Plan == nil {
				fmt.Fprintf(e.stdout, "candidate          %s: %s\n", cp.Name, cp.Error)
				continue
			}
			fmt.Fprintf(e.stdout, "candidate          %s: reference_fraction %.4f, expected cost %.3g s\n", cp.Name, cp.Plan.ReferenceFraction, cp.Plan.Cost)
		}
	}
	fmt.Fprintf(e.stdout, "cheap model        %s\n", rep.Cheap)
	fmt.Fprintf(e.stdout, "thresholds         low %.4g, high %.4g", rep.Low, rep.High)
	if rep.DiffThreshold > 0 {
		fmt.Fprintf(e.stdout, ", reuse below distance %.4g", rep.DiffThreshold)
	}
	fmt.Fprintln(e.stdout)
	fmt.Fprintf(e.stdout, "agreement          %.4f (target %.4f; cheap model alone %.4f)\n", rep.Agreement, rep.Target, rep.CheapAgreement)
	if nr := rep.Nested; nr != nil {
		fmt.Fprintf(e.stdout, "nested             budget %d of %d held-out rows: left-out folds agree %.4f, send %.4f to the reference (disagreements by budget %v, allowed %d)\n",
			nr.Budget, rep.HeldOutRows, nr.Agreement, nr.ReferenceFraction, nr.Errors, nr.AllowedErrors)
	}
	fmt.Fprintf(e.stdout, "reference_fraction %.4f\n", rep.ReferenceFraction)
	if rep.DiffThreshold > 0 {
		fmt.Fprintf(e.stdout, "reuse_fraction     %.4f\n", rep.ReuseFraction)
	}
	fmt.Fprintf(e.stdout, "cost per input     cheap %.3g s, reference %.3g s per single-row call (batched: %.3g s and %.3g s per row) → expected %.3g s\n",
		rep.Costs.Cheap, rep.Costs.Reference, rep.Costs.CheapBatch, rep.Costs.ReferenceBatch, rep.Cost)
	if rep.Costs.ReferenceAlone > 0 {
		fmt.Fprintf(e.stdout, "reference alone    %.3g s per single-row call back to back\n", rep.Costs.ReferenceAlone)
	}
	fmt.Fprintf(e.stdout, "expected_speedup   %.2fx\n", rep.Speedup)
	return nil
}

func slicesContains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func runCascadeEval(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "cascade eval", cascadeEvalUsage)
	dir := fs.String("model", "", "cascade model `directory`")
	ref := fs.String("reference", "", "reference endpoint `URL` or model directory")
	in := fs.String("data", "", "input `file`")
	batch := fs.Int("batch", 1, "rows per call")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	df := addDataFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dir == "" || *ref == "" || *in == "" {
		return usagef("cascade eval: --model, --reference and --data are required")
	}
	c, err := model.Load(*dir)
	if err != nil {
		return err
	}
	if c.Info().Type != "cascade" {
		return fmt.Errorf("cascade eval: %s is a %s model, not a cascade", *dir, c.Info().Type)
	}
	reference, err := openReference(*ref, c.Info().Inputs, 4, 30*time.Second, 4)
	if err != nil {
		return err
	}
	ropt, err := df.options()
	if err != nil {
		return err
	}
	rows, err := data.ReadRecord(*in, ropt)
	if err != nil {
		return fmt.Errorf("cascade eval: %w", err)
	}
	defer rows.Release()
	r, err := cascade.Compare(ctx, c, reference, rows, *batch)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, r)
	}
	fmt.Fprintf(e.stdout, "rows               %d (%d per call)\n", r.Rows, r.BatchRows)
	fmt.Fprintf(e.stdout, "agreement          %.4f\n", r.Agreement)
	fmt.Fprintf(e.stdout, "reference_fraction %.4f\n", r.ReferenceFraction)
	fmt.Fprintf(e.stdout, "time               cascade %.3fs, reference alone %.3fs\n", r.CascadeSeconds, r.ReferenceSeconds)
	fmt.Fprintf(e.stdout, "speedup            %.2fx\n", r.Speedup)
	return nil
}
