package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/dawn-ml/dawn/eval"
	"github.com/dawn-ml/dawn/internal/progress"
	"github.com/dawn-ml/dawn/model"
	"github.com/dawn-ml/dawn/tracking"
)

const evalUsage = `Usage: dawn eval --model DIR --data FILE --gold COLUMN [--tracking-uri URI] [--json]

Predicts every row of --data and scores the predictions against the gold
column: accuracy, precision/recall/F1 per class and macro, ROC AUC and PR AUC
(binary), log loss, a calibration table and the confusion matrix (RMSE, MAE
and R² for regression). With --json, f1 is the positive class's (the second
class) when there are two classes, else the macro F1. With a tracking server
(--tracking-uri or $MLFLOW_TRACKING_URI) and a model whose MLmodel names the
run that trained it, the scores are logged to that run as eval_accuracy,
eval_f1, eval_log_loss, ... (eval_rmse, eval_mae, eval_r2 for regression),
one step per evaluation.

Example:
  dawn eval --model spam-model/ --data test.csv --gold label --json`

func init() {
	register(&command{name: "eval", summary: "evaluate a saved model against gold labels", run: runEval})
}

func runEval(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "eval", evalUsage)
	dir := fs.String("model", "", "model `directory`")
	in := fs.String("data", "", "labeled data `file`")
	gold := fs.String("gold", "", "gold label `column`")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	df := addDataFlags(fs)
	uri := fs.String("tracking-uri", os.Getenv("MLFLOW_TRACKING_URI"), "log the scores to the model's run on this tracking server (default $MLFLOW_TRACKING_URI; none: no logging)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ropt, err := df.options()
	if err != nil {
		return err
	}
	if *dir == "" || *in == "" || *gold == "" {
		return usagef("eval: --model, --data and --gold are required")
	}
	m, err := model.Load(*dir)
	if err != nil {
		return err
	}
	bar := newBar(e, "eval: "+*in, progress.FileSize(*in))
	ropt.Progress = func(read, _ int64) { bar.Set(read) }
	r, err := eval.FileOptions(ctx, m, *in, *gold, ropt)
	bar.Finish()
	if err != nil {
		return err
	}
	runID, err := logEval(ctx, e, *uri, *dir, r)
	if err != nil {
		return err
	}
	if *asJSON {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		var out map[string]any
		if err := json.Unmarshal(b, &out); err != nil {
			return err
		}
		if runID != "" {
			out["run_id"] = runID
		}
		return writeJSON(e.stdout, out)
	}
	if runID != "" {
		defer fmt.Fprintf(e.stdout, "\nlogged to run %s\n", runID)
	}
	w := e.stdout
	fmt.Fprintf(w, "rows %d\n", r.N)
	if r.RMSE != nil {
		fmt.Fprintf(w, "rmse %.6g\nmae  %.6g\n", *r.RMSE, *r.MAE)
		if r.R2 != nil {
			fmt.Fprintf(w, "r2   %.6g\n", *r.R2)
		}
		return nil
	}
	fmt.Fprintf(w, "accuracy %.4f   f1 %.4f   log loss %.4f", r.Accuracy, r.F1, r.LogLoss)
	if r.ROCAUC != nil {
		fmt.Fprintf(w, "   roc auc %.4f   pr auc %.4f", *r.ROCAUC, *r.PRAUC)
	}
	fmt.Fprintln(w)
	if r.Abstained > 0 {
		fmt.Fprintf(w, "abstained %d\n", r.Abstained)
	}
	fmt.Fprintf(w, "\n%-14s %9s %9s %9s %8s\n", "class", "precision", "recall", "f1", "support")
	for _, c := range r.PerClass {
		fmt.Fprintf(w, "%-14s %9.4f %9.4f %9.4f %8d\n", c.Class, c.Precision, c.Recall, c.F1, c.Support)
	}
	fmt.Fprintf(w, "%-14s %9.4f %9.4f %9.4f %8d\n", "macro", r.MacroP, r.MacroR, r.MacroF1, r.N)
	fmt.Fprintf(w, "\nconfusion (rows gold, columns predicted): %s\n", strings.Join(r.Classes, ", "))
	for i, row := range r.Confusion {
		fmt.Fprintf(w, "%-14s", r.Classes[i])
		for _, v := range row {
			fmt.Fprintf(w, " %7d", v)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\ncalibration (top-class confidence)\n%-11s %7s %10s %9s\n", "bin", "rows", "confidence", "accuracy")
	for _, b := range r.Calibrated {
		fmt.Fprintf(w, "%.1f–%.1f    %7d %10.3f %9.3f\n", b.Lo, b.Hi, b.Count, b.Confidence, b.Accuracy)
	}
	return nil
}

// logEval logs an evaluation's scores to the run in the model's MLmodel,
// when there is a tracking server and a run; it returns the run's id.
func logEval(ctx context.Context, e *env, uri, dir string, r *eval.Report) (string, error) {
	if uri == "" {
		return "", nil
	}
	desc, err := model.Read(dir)
	if err != nil || desc.RunID == "" {
		return "", err
	}
	c, err := newTrackingClient(uri)
	if err != nil {
		return "", err
	}
	if _, err := c.GetRun(ctx, desc.RunID); errors.Is(err, tracking.ErrNotFound) || tracking.IsCode(err, tracking.CodeResourceDoesNotExist) {
		fmt.Fprintf(e.stderr, "dawn: eval: the model's run %s is not on %s; scores not logged\n", desc.RunID, uri)
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("eval: run %s at %s: %w", desc.RunID, uri, err)
	}
	m := map[string]float64{"eval_rows": float64(r.N)}
	if r.RMSE != nil {
		m["eval_rmse"], m["eval_mae"] = *r.RMSE, *r.MAE
		if r.R2 != nil {
			m["eval_r2"] = *r.R2
		}
	} else {
		m["eval_accuracy"], m["eval_f1"], m["eval_macro_f1"], m["eval_log_loss"] = r.Accuracy, r.F1, r.MacroF1, r.LogLoss
		if r.ROCAUC != nil {
			m["eval_roc_auc"], m["eval_pr_auc"] = *r.ROCAUC, *r.PRAUC
		}
	}
	// The next step after the evaluations already logged, so a second
	// evaluation (another file) adds to the history instead of racing it.
	step := int64(0)
	if h, err := c.GetMetricHistory(ctx, desc.RunID, "eval_rows"); err == nil {
		step = int64(len(h))
	}
	now := tracking.Int64(time.Now().UnixMilli())
	var ms []tracking.Metric
	for _, k := range slices.Sorted(maps.Keys(m)) {
		ms = append(ms, tracking.Metric{Key: k, Value: tracking.Float(m[k]), Timestamp: now, Step: tracking.Int64(step)})
	}
	if err := c.LogBatch(ctx, desc.RunID, ms, nil, nil); err != nil {
		return "", fmt.Errorf("eval: log to run %s at %s: %w", desc.RunID, uri, err)
	}
	return desc.RunID, nil
}
