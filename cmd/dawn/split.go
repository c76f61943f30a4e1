package main

import (
	"context"
	"fmt"

	"github.com/dawn-ml/dawn/data"
)

func init() {
	register(&command{name: "split", summary: "split a data file into train/valid/test (random, stratified or by group; seeded)", run: runSplit})
}

func runSplit(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "split", `Usage: dawn split --data FILE --train-out TRAIN [--valid-out VALID --valid-frac F] [--test-out TEST --test-frac F]
                  [--stratify COLUMN | --group COLUMN] [--seed N] [--json]

Cuts a data file into a training part and optional validation and test parts,
reproducibly: the same file, flags and --seed give the same parts. Random by
default; --stratify COLUMN keeps each value of COLUMN (a gold label) in the
same proportion in every part; --group COLUMN keeps all rows that share a
value (e.g. a user or a video) in one part. Each part keeps the input's row
order and columns; outputs are written by extension (CSV, TSV, JSONL,
Parquet, Arrow) through a temporary file and a rename. The whole file is held
in memory.

Example:
  dawn split --data sms.tsv --stratify Label --valid-frac 0.15 --test-frac 0.15 \
      --train-out train.csv --valid-out valid.csv --test-out test.csv --seed 1`)
	dataPath := fs.String("data", "", "the data file to split (required)")
	trainOut := fs.String("train-out", "", "where to write the training part (required)")
	validOut := fs.String("valid-out", "", "where to write the validation part")
	testOut := fs.String("test-out", "", "where to write the test part")
	validFrac := fs.Float64("valid-frac", 0, "fraction of the rows for --valid-out (default 0.15 when --valid-out is given)")
	testFrac := fs.Float64("test-frac", 0, "fraction of the rows for --test-out (default 0.15 when --test-out is given)")
	stratify := fs.String("stratify", "", "keep the proportions of this column's values in every part")
	group := fs.String("group", "", "keep the rows sharing a value of this column in one part")
	seed := fs.Uint64("seed", 1, "random seed")
	asJSON := fs.Bool("json", false, "print a JSON summary on stdout")
	df := addDataFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(map[string]string{"--data": *dataPath, "--train-out": *trainOut}); err != nil {
		return err
	}
	fracs := []float64{*validFrac, *testFrac}
	outs := []string{*trainOut, *validOut, *testOut}
	for i, name := range []string{"valid", "test"} {
		switch {
		case outs[i+1] == "" && fracs[i] != 0:
			return usagef("split: --%s-frac needs --%s-out", name, name)
		case outs[i+1] != "" && fracs[i] == 0:
			fracs[i] = 0.15
		}
	}
	opt, err := df.options()
	if err != nil {
		return err
	}
	sch, recs, err := data.ReadAll(*dataPath, opt)
	if err != nil {
		return err
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	part, err := data.Split(*dataPath, recs, data.SplitSpec{Fractions: fracs, Stratify: *stratify, Group: *group, Seed: *seed})
	if err != nil {
		return usagef("%v", err)
	}
	writers := make([]*data.Writer, len(outs))
	defer func() {
		for _, w := range writers {
			if w != nil {
				w.Abort()
			}
		}
	}()
	for i, p := range outs {
		if p == "" {
			continue
		}
		if writers[i], err = data.Create(p, sch, data.WriteOptions{}); err != nil {
			return err
		}
	}
	counts, err := data.WriteParts(recs, part, writers)
	if err != nil {
		return err
	}
	for _, w := range writers {
		if w != nil {
			if err := w.Close(); err != nil {
				return err
			}
		}
	}
	names := []string{"train", "valid", "test"}
	if *asJSON {
		res := map[string]any{"rows": len(part), "seed": *seed}
		for i, n := range names {
			if outs[i] != "" {
				res[n] = map[string]any{"out": outs[i], "rows": counts[i]}
			}
		}
		return writeJSON(e.stdout, res)
	}
	for i, n := range names {
		if outs[i] != "" {
			fmt.Fprintf(e.stdout, "%-5s %6d rows → %s\n", n, counts[i], outs[i])
		}
	}
	return nil
}
