package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/dawn-ml/dawn/eval"
	"github.com/dawn-ml/dawn/internal/progress"
	"github.com/dawn-ml/dawn/model"
)

const evalUsage = `Usage: dawn eval --model DIR --data FILE --gold COLUMN [--json]

Predicts every row of --data and scores the predictions against the gold
column: accuracy, precision/recall/F1 per class and macro, ROC AUC and PR AUC
(binary), log loss, a calibration table and the confusion matrix (RMSE, MAE
and R² for regression). With --json, f1 is the positive class's (the second
class) when there are two classes, else the macro F1.

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
	if *asJSON {
		return writeJSON(e.stdout, r)
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
