package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/dawn-ml/dawn/internal/progress"
	"github.com/dawn-ml/dawn/label"
	"github.com/dawn-ml/dawn/labeling"
)

const labelSynopsis = `Usage: dawn label <subcommand> [flags]

Data programming (Snorkel): write labeling functions (LFs) in a YAML file,
apply them to unlabeled data, and let a label model learn how far to trust
each one, with no ground truth.

Example (the whole pipeline in one command):
  dawn label run --lfs lfs.yaml --data train.csv --out labels.csv --valid test.csv --gold CLASS`

func init() {
	register(&command{
		name:    "label",
		summary: "labeling functions and label models (Snorkel's data programming)",
		run: func(ctx context.Context, e *env, args []string) error {
			return dispatch(ctx, e, "label", labelSynopsis, labelSubcommands(), args)
		},
	})
}

func labelSubcommands() []subcommand {
	return []subcommand{
		{"apply", "apply the LFs to a data file and save the votes", labelApply},
		{"analyze", "LF coverage, overlaps, conflicts, accuracy", labelAnalyze},
		{"inspect", "print the rows an LF fires on, gets wrong, conflicts on; uncovered and uncertain rows", labelInspect},
		{"fit", "fit a label model on saved votes", labelFit},
		{"predict", "label new data with a fitted label model", labelPredict},
		{"run", "apply, fit, write labels and report, in one go", labelRun},
	}
}

// applyLFs runs labeling.ApplyFile with a progress bar on a terminal.
func applyLFs(ctx context.Context, e *env, lfsPath, dataPath string, df *dataFlags, workers int) (*label.Matrix, *label.File, *arrow.Schema, error) {
	opt, err := df.options()
	if err != nil {
		return nil, nil, nil, err
	}
	bar, progress := fileBar(e, "applying LFs to "+dataPath)
	defer bar.Finish()
	return labeling.ApplyFile(ctx, lfsPath, dataPath, opt, workers, progress)
}

// fileBar returns a bar, made on the first call of progress, for a
// pipeline step that reports bytes read of a file's size.
func fileBar(e *env, what string) (*lazyBar, func(read, size int64)) {
	b := &lazyBar{}
	return b, func(read, size int64) {
		if b.bar == nil {
			b.bar = newBar(e, what, size)
		}
		b.bar.Set(read)
	}
}

type lazyBar struct{ bar *progress.Bar }

func (b *lazyBar) Finish() { b.bar.Finish() }

func labelApply(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "label apply", `Usage: dawn label apply --lfs lfs.yaml --data train.csv --out votes.parquet [--json]

Applies every labeling function to every row in one parallel pass and saves
the sparse label matrix (one row per vote) as Parquet for 'dawn label fit'.

Example:
  dawn label apply --lfs lfs.yaml --data train.csv --out votes.parquet`)
	lfs := fs.String("lfs", "", "the labeling-function YAML file (required)")
	dataPath := fs.String("data", "", "the data to label: .csv, .tsv, .jsonl, .parquet or .arrow (required)")
	out := fs.String("out", "", "where to write the votes (.parquet, required)")
	workers := fs.Int("workers", 0, "goroutines labeling rows (default: all cores)")
	asJSON := fs.Bool("json", false, "print a JSON summary on stdout")
	df := addDataFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(map[string]string{"--lfs": *lfs, "--data": *dataPath, "--out": *out}); err != nil {
		return err
	}
	start := time.Now()
	x, _, _, err := applyLFs(ctx, e, *lfs, *dataPath, df, *workers)
	if err != nil {
		return err
	}
	if err := label.SaveMatrix(*out, x); err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	if *asJSON {
		return writeJSON(e.stdout, map[string]any{"rows": x.N, "lfs": x.M(), "votes": len(x.LF), "out": *out, "seconds": secs})
	}
	fmt.Fprintf(e.stdout, "applied %d LFs to %d rows in %.2fs (%.0f rows/s): %d votes written to %s\n",
		x.M(), x.N, secs, float64(x.N)/secs, len(x.LF), *out)
	return nil
}

func labelAnalyze(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "label analyze", `Usage: dawn label analyze --lfs lfs.yaml --votes votes.parquet [--data dev.csv --gold COLUMN] [--model model.json] [--json]

Prints each LF's polarity, coverage, overlaps and conflicts over the votes
(Snorkel's LFAnalysis). With a labeled dev file it also applies the LFs there
and adds correct, incorrect and empirical accuracy; with a fitted label model
it adds each LF's learned accuracy.

Example:
  dawn label analyze --lfs lfs.yaml --votes votes.parquet --data dev.csv --gold CLASS`)
	lfs := fs.String("lfs", "", "the labeling-function YAML file (required)")
	votes := fs.String("votes", "", "votes from 'dawn label apply' (required)")
	dev := fs.String("data", "", "a labeled file to measure empirical accuracy on")
	gold := fs.String("gold", "", "the gold-label column of --data (class names or ids)")
	modelPath := fs.String("model", "", "a label model from 'dawn label fit', for learned accuracies")
	asJSON := fs.Bool("json", false, "print JSON on stdout")
	df := addDataFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(map[string]string{"--lfs": *lfs, "--votes": *votes}); err != nil {
		return err
	}
	if (*dev == "") != (*gold == "") {
		return usagef("label analyze: --data and --gold go together")
	}
	x, err := label.LoadMatrix(ctx, *votes)
	if err != nil {
		return err
	}
	f, err := label.LoadFile(*lfs)
	if err != nil {
		return err
	}
	if err := sameLFs(f, x, *lfs, *votes); err != nil {
		return err
	}
	sum := label.Analyze(x)
	if *dev != "" {
		dx, _, _, err := applyLFs(ctx, e, *lfs, *dev, df, 0)
		if err != nil {
			return err
		}
		g, err := readGold(*dev, *gold, f.Labels, df)
		if err != nil {
			return err
		}
		if err := label.AddGold(sum, dx, g); err != nil {
			return err
		}
	}
	if *modelPath != "" {
		lm, err := labeling.LoadModel(*modelPath)
		if err != nil {
			return err
		}
		label.AddLearned(sum, lm.LFAccuracies())
	}
	return printAnalysis(e, sum, *asJSON)
}

// sameLFs checks that the votes were made by this LF file.
func sameLFs(f *label.File, x *label.Matrix, lfsPath, votesPath string) error {
	names := make([]string, len(f.LFs))
	for i, s := range f.LFs {
		names[i] = s.Name
	}
	if strings.Join(names, "\x00") != strings.Join(x.LFs, "\x00") {
		return fmt.Errorf("%s was made by other LFs (%s) than %s has (%s); re-run 'dawn label apply'",
			votesPath, strings.Join(x.LFs, ", "), lfsPath, strings.Join(names, ", "))
	}
	return nil
}

func printAnalysis(e *env, sum []label.LFSummary, asJSON bool) error {
	if asJSON {
		return writeJSON(e.stdout, map[string]any{"lfs": sum})
	}
	writeAnalysisTable(e.stdout, sum)
	return nil
}

func writeAnalysisTable(w io.Writer, sum []label.LFSummary) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	hasGold, hasLearned := false, false
	for _, s := range sum {
		hasGold = hasGold || s.Correct != nil
		hasLearned = hasLearned || s.LearnedAccuracy != nil
	}
	head := "LF\tpolarity\tcoverage\toverlaps\tconflicts"
	if hasGold {
		head += "\tcorrect\tincorrect\temp. acc."
	}
	if hasLearned {
		head += "\tlearned acc."
	}
	fmt.Fprintln(tw, head+"\t")
	for _, s := range sum {
		fmt.Fprintf(tw, "%s\t%s\t%.3f\t%.3f\t%.3f", s.Name, strings.Join(s.PolarityNames, ","), s.Coverage, s.Overlaps, s.Conflicts)
		if hasGold {
			fmt.Fprintf(tw, "\t%d\t%d\t%.3f", *s.Correct, *s.Incorrect, *s.EmpiricalAccuracy)
		}
		if hasLearned {
			if s.LearnedAccuracy != nil {
				fmt.Fprintf(tw, "\t%.3f", *s.LearnedAccuracy)
			} else {
				fmt.Fprint(tw, "\t-")
			}
		}
		fmt.Fprintln(tw, "\t")
	}
	tw.Flush()
}

// required reports the first empty required flag.
func required(flags map[string]string) error {
	var missing []string
	for name, v := range flags {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sortStrings(missing)
		return usagef("missing %s; see --help for an example", strings.Join(missing, ", "))
	}
	return nil
}
