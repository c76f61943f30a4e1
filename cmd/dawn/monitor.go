package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/dawn-ml/dawn/artifact/resolve"
	"github.com/dawn-ml/dawn/explain"
	"github.com/dawn-ml/dawn/model"
	"github.com/dawn-ml/dawn/monitor"
	"github.com/dawn-ml/dawn/monitor/report"
	"github.com/dawn-ml/dawn/serve"
)

const monitorUsage = `
Usage: dawn monitor <subcommand> [flags]

Watch a model after it ships: profile the reference data it was built on,
then check windows of current rows for drift, data-quality problems, a fall
in (estimated or realised) accuracy, and the segments that explain them.

Example:
  dawn monitor profile --model spam-model/ --data valid.csv --labels CLASS
  dawn monitor check --model spam-model/ --data today.csv --json
  dawn monitor run --config monitor.yaml --metrics-addr 127.0.0.1:9101
`

func init() {
	register(&command{name: "monitor", summary: "check current data against a model's reference profile (drift, performance, segments)", run: runMonitor})
}

func runMonitor(ctx context.Context, e *env, args []string) error {
	return dispatch(ctx, e, "monitor", monitorUsage, []subcommand{
		{name: "profile", summary: "(re)build a model's reference profile from a data file", run: runMonitorProfile},
		{name: "check", summary: "check one window of rows against the profile", run: runMonitorCheck},
		{name: "run", summary: "follow a prediction log continuously: windows, alerts, notifications, actions (--config monitor.yaml)", run: runMonitorRun},
		{name: "report", summary: "write a self-contained HTML report of a monitor's stored windows (--config monitor.yaml --out report.html)", run: runMonitorReport},
	}, args)
}

const monitorProfileUsage = `
Usage: dawn monitor profile --model DIR --data ref.csv [--labels COL] [--json]

Profiles the reference rows (per column: type, counts, missing rate, a
bounded exact sample of numbers, category and token frequencies, a sample of
texts; the model's outputs on the rows and, with --labels, the calibration
map for performance estimation) and writes monitor_profile.json into the
model directory. Use held-out rows, not the training rows, so that the
calibration is honest.

Example:
  dawn monitor profile --model spam-model/ --data valid.csv --labels CLASS
`

func isHelpOrUsage(err error) bool {
	var ue *usageError
	return errors.As(err, &ue) || errors.Is(err, errHelp)
}

func runMonitorProfile(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "monitor profile", monitorProfileUsage)
	dir := fs.String("model", "", "model `directory`")
	path := fs.String("data", "", "reference data `file` (csv, tsv, jsonl, parquet)")
	df := addDataFlags(fs)
	labels := fs.String("labels", "", "`column` of true classes, for the calibration map")
	text := fs.String("text", "", "columns to treat as free text, comma-separated (default: the model's text features)")
	ignore := fs.String("ignore", "", "columns to leave out, comma-separated")
	seed := addSeedFlag(fs, "the bounded samples")
	jsonOut := fs.Bool("json", false, "print a JSON summary on stdout")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dir == "" || *path == "" {
		return usagef("monitor profile: --model and --data are required")
	}
	err := func() error {
		m, err := model.Load(*dir)
		if err != nil {
			return err
		}
		f, err := readWindow(*path, *labels, df)
		if err != nil {
			return err
		}
		opt := monitor.ProfileOptions{Model: m, Labels: *labels, Ignore: splitList(*ignore), Seed: *seed, Source: *path}
		if *text != "" {
			opt.Text = splitList(*text)
		}
		p, err := monitor.BuildProfile(ctx, f, opt)
		if err != nil {
			return err
		}
		if err := p.Save(*dir); err != nil {
			return err
		}
		if *jsonOut {
			cols := map[string]string{}
			for _, c := range p.Columns {
				cols[c.Name] = string(c.Kind)
			}
			out := map[string]any{"profile": *dir + "/" + monitor.ProfileFile, "rows": p.Rows, "columns": cols}
			if p.Output != nil && p.Output.Accuracy != nil {
				out["reference_accuracy"] = *p.Output.Accuracy
			}
			return writeJSON(e.stdout, out)
		}
		fmt.Fprintf(e.stdout, "profiled %d rows, %d columns into %s/%s\n", p.Rows, len(p.Columns), *dir, monitor.ProfileFile)
		return nil
	}()
	return err
}

// readWindow reads a data file, keeping the labels column (and the other
// columns named, where present) as strings.
func readWindow(path, labels string, df *dataFlags, strs ...string) (*explain.Frame, error) {
	dopt, err := df.options()
	if err != nil {
		return nil, err
	}
	opt := explain.ReadOptions{Data: dopt, Kinds: map[string]explain.Kind{}}
	for _, c := range append(strs, labels) {
		if c != "" {
			opt.Kinds[c] = explain.String
		}
	}
	return explain.ReadFrame(path, opt)
}

const monitorCheckUsage = `
Usage: dawn monitor check --model DIR|models:/NAME@ALIAS --data current.csv [--labels COL] [--labels-file FILE] [--segments a,b] [--json]

Checks one window of current rows against the model's reference profile:
per-column drift (Evidently's defaults: reference of at most 1,000 rows:
KS for numbers with more than 5 values, chi2 for categories, z-test for
binary ones, drift at p < 0.05; larger: Wasserstein distance over the
reference std for numbers, Jensen-Shannon distance for categories, drift
above 0.1; text: a domain classifier's ROC AUC against the 95th percentile
of random scorers), dataset drift when at least half the columns drift,
prediction drift, data quality, CBPE's estimated accuracy (and the realised
one with --labels), and the segments explaining a drift or a rise in errors.
--labels-file joins true classes that arrived apart from the rows (a CSV,
TSV, JSONL or Parquet file, directory or glob with request_id, optionally
request_row, and label) on the rows' request_id (and request_row), as a
prediction log holds them; they fill the --labels column (default
true_label) where a row has none.

Example:
  dawn monitor check --model spam-model/ --data today.csv --labels CLASS --segments country,client_version --json
  dawn monitor check --model spam-model/ --data predlog/ --labels-file labels.csv --json
  dawn monitor check --model spam-model/ --data today.csv --report today.html
  dawn monitor check --model spam-model/ --data today.csv --test CONTENT=domain_classifier --test n=psi --threshold n=0.25
`

type kvFlag map[string]string

func (k kvFlag) String() string { return "" }
func (k kvFlag) Set(v string) error {
	a, b, ok := strings.Cut(v, "=")
	if !ok || a == "" {
		return fmt.Errorf("want COLUMN=VALUE, got %q", v)
	}
	k[a] = b
	return nil
}

func runMonitorCheck(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "monitor check", monitorCheckUsage)
	src := fs.String("model", "", "model `directory`, or models:/NAME/VERSION or models:/NAME@ALIAS")
	tracking := fs.String("tracking-uri", os.Getenv("MLFLOW_TRACKING_URI"), "tracking server `URL` for models:/ URIs")
	path := fs.String("data", "", "current window `file` (csv, tsv, jsonl, parquet)")
	df := addDataFlags(fs)
	labels := fs.String("labels", "", "`column` of true classes, for realised accuracy")
	labelsFile := fs.String("labels-file", "", "`file` (or directory, glob) of request_id[,request_row],label joined on the rows' request ids")
	segments := fs.String("segments", "", "attribute columns segments may use, comma-separated (default: every categorical column)")
	ignore := fs.String("ignore", "", "columns not to check, comma-separated")
	correction := fs.String("correction", "", "adjust p-values across columns: bonferroni or fdr")
	tests := kvFlag{}
	fs.Var(tests, "test", "COLUMN=TEST: ks, chi2, z, wasserstein, jensenshannon, psi, hellinger, anderson (repeatable)")
	thresholds := kvFlag{}
	fs.Var(thresholds, "threshold", "COLUMN=VALUE: drift threshold (p-value or distance) for a column (repeatable)")
	seed := addSeedFlag(fs, "the domain classifier")
	jsonOut := fs.Bool("json", false, "print the report as one JSON object")
	htmlOut := fs.String("report", "", "also write a self-contained HTML report of the window to this `file`")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *src == "" || *path == "" {
		return usagef("monitor check: --model and --data are required")
	}
	if *labelsFile != "" && *labels == "" {
		*labels = "true_label"
	}
	opt := monitor.Options{Labels: *labels, Correction: *correction, Ignore: splitList(*ignore), Seed: *seed,
		Tests: map[string]monitor.Test{}, Thresholds: map[string]float64{}}
	if *segments != "" {
		opt.Segments = splitList(*segments)
	}
	for col, t := range tests {
		tt, err := monitor.ParseTest(t)
		if err != nil {
			return usagef("monitor check: --test %s: %v", col, err)
		}
		opt.Tests[col] = tt
	}
	for col, v := range thresholds {
		var x float64
		if _, err := fmt.Sscan(v, &x); err != nil {
			return usagef("monitor check: --threshold %s=%s: not a number", col, v)
		}
		opt.Thresholds[col] = x
	}
	r, err := func() (*monitor.Report, error) {
		start := time.Now()
		dir, err := modelDir(ctx, *src, *tracking)
		if err != nil {
			return nil, err
		}
		p, err := monitor.LoadProfile(dir)
		if err != nil {
			return nil, err
		}
		if opt.Model, err = model.Load(dir); err != nil {
			return nil, err
		}
		var ids []string
		if *labelsFile != "" {
			ids = []string{monitor.LabelOptions{}.WithDefaults().IDColumn}
		}
		f, err := readWindow(*path, *labels, df, ids...)
		if err != nil {
			return nil, err
		}
		if *labelsFile != "" {
			l, err := monitor.ReadLabels(*labelsFile, monitor.LabelOptions{})
			if err != nil {
				return nil, err
			}
			if f, _, err = l.Join(f, *labels); err != nil {
				return nil, fmt.Errorf("monitor check: --labels-file: %s: %w", *path, err)
			}
		}
		r, err := monitor.Check(ctx, p, f, opt)
		if err != nil || *htmlOut == "" {
			return r, err
		}
		win := report.Window{FirstRow: 1, LastRow: int64(f.Rows), Report: r}
		if err := report.WriteFile(*htmlOut, p, []report.Window{win}, report.Options{Title: "dawn monitor check: " + *path, Model: *src, Generated: start}); err != nil {
			return nil, err
		}
		return r, nil
	}()
	if err != nil {
		return err
	}
	if *jsonOut {
		return writeJSON(e.stdout, r)
	}
	printCheck(e, r)
	return nil
}

// modelDir resolves a model source to a local directory.
func modelDir(ctx context.Context, src, tracking string) (string, error) {
	uri, isURI, err := resolve.ParseModelURI(src)
	if err != nil {
		return "", usagef("%v", err)
	}
	if !isURI {
		return src, nil
	}
	if tracking == "" {
		return "", usagef("monitor: %s needs --tracking-uri (or MLFLOW_TRACKING_URI)", src)
	}
	reg := &serve.Registry{TrackingURI: tracking}
	version, art, err := reg.Resolve(ctx, uri)
	if err != nil {
		return "", err
	}
	return reg.Fetch(ctx, uri.Name, version, art)
}

func printCheck(e *env, r *monitor.Report) {
	w := e.stdout
	verdict := "no dataset drift"
	if r.Drift.DatasetDrift {
		verdict = "DATASET DRIFT"
	}
	fmt.Fprintf(w, "%d rows: %s (%d of %d columns drifted, share %.2f)\n", r.Rows, verdict, r.Drift.Drifted, len(r.Drift.Columns), r.Drift.Share)
	if r.Quality.Empty {
		fmt.Fprintln(w, "the window is empty")
	}
	fmt.Fprintf(w, "%20s  %-17s  %10s  %10s  %9s  %s\n", "column", "test", "statistic", "p_value", "threshold", "drift")
	rows := append([]monitor.ColumnResult(nil), r.Drift.Columns...)
	if r.Prediction != nil {
		rows = append(rows, *r.Prediction)
	}
	for _, c := range rows {
		p := "-"
		if c.PValue != nil {
			p = fmt.Sprintf("%.4g", *c.PValue)
		}
		fmt.Fprintf(w, "%20s  %-17s  %10.4g  %10s  %9.4g  %v\n", c.Column, c.Test, c.Statistic, p, c.Threshold, c.Drift)
		if c.Text != nil && c.Drift {
			fmt.Fprintf(w, "%20s  typical now: %s; before: %s\n", "", strings.Join(c.Text.TypicalCurrent, " "), strings.Join(c.Text.TypicalReference, " "))
		}
	}
	if len(r.Quality.MissingColumns) > 0 {
		fmt.Fprintf(w, "missing columns: %s\n", strings.Join(r.Quality.MissingColumns, ", "))
	}
	for _, q := range r.Quality.Columns {
		if len(q.NewCategories) > 0 || q.OutOfRange > 0 || q.TypeChanged != "" || q.MissingRate > q.RefMissingRate+0.05 {
			fmt.Fprintf(w, "quality %s: missing %.3f (reference %.3f), new categories %v, out of range %d %s\n",
				q.Column, q.MissingRate, q.RefMissingRate, q.NewCategories, q.OutOfRange, q.TypeChanged)
		}
	}
	if est := r.Performance.Estimated; est != nil {
		fmt.Fprintf(w, "estimated accuracy (CBPE) %.3f [%.3f, %.3f]", est.Accuracy, *est.Low, *est.High)
		if r.Performance.Reference != nil {
			fmt.Fprintf(w, ", reference %.3f", *r.Performance.Reference)
		}
		fmt.Fprintln(w)
	}
	if act := r.Performance.Actual; act != nil {
		fmt.Fprintf(w, "realised accuracy %.3f on %d labelled rows\n", act.Accuracy, act.Rows)
	}
	for _, s := range r.Segments {
		keys := make([]string, 0, len(s.Attributes))
		for k := range s.Attributes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + s.Attributes[k]
		}
		fmt.Fprintf(w, "segment (%s) {%s}: support %.3f, risk ratio %.3g [%.3g, %.3g], %g of %g rows\n",
			s.Reason, strings.Join(parts, ", "), s.Support, s.RiskRatio, s.RiskLow, s.RiskHigh, s.Flagged, s.Rows)
	}
}
