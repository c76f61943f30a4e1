package main

import (
	"context"
	"fmt"

	"github.com/dawn-ml/dawn/internal/progress"
	"github.com/dawn-ml/dawn/model"
	_ "github.com/dawn-ml/dawn/train" // registers the end-model types
)

const predictUsage = `Usage: dawn predict --model DIR --data FILE --out FILE [--json]

Scores every row of --data with a saved model and writes --out (CSV or
Parquet): the input's columns, then prob_<class> per class and label
(classifiers) or prediction (regression), then stage for cascades. An input
column whose name an output column takes is renamed input_<name>.

Example:
  dawn predict --model spam-model/ --data new_comments.csv --out predictions.csv`

func init() {
	register(&command{name: "predict", summary: "score a data file with a saved model", run: runPredict})
}

func runPredict(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "predict", predictUsage)
	dir := fs.String("model", "", "model `directory`")
	in := fs.String("data", "", "input `file`")
	out := fs.String("out", "", "output `file` (.csv or .parquet)")
	asJSON := fs.Bool("json", false, "print a JSON summary")
	df := addDataFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ropt, err := df.options()
	if err != nil {
		return err
	}
	if *dir == "" || *in == "" || *out == "" {
		return usagef("predict: --model, --data and --out are required")
	}
	m, err := model.Load(*dir)
	if err != nil {
		return err
	}
	bar := newBar(e, "predict: "+*in, progress.FileSize(*in))
	ropt.Progress = func(read, _ int64) { bar.Set(read) }
	n, err := model.PredictFileOptions(ctx, m, *in, *out, ropt)
	bar.Finish()
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, map[string]any{"rows": n, "out": *out, "model_type": m.Info().Type})
	}
	fmt.Fprintf(e.stdout, "wrote %d rows to %s\n", n, *out)
	return nil
}
