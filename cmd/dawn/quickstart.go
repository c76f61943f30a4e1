package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dawn-ml/dawn/examples"
	"github.com/dawn-ml/dawn/internal/youtube"
)

func init() {
	register(&command{
		name:    "quickstart",
		summary: "label the YouTube spam example end to end and report accuracy",
		run:     quickstart,
	})
}

func quickstart(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "quickstart", `Usage: dawn quickstart [--dir DIR] [--method M] [--json]

Runs dawn's main job on the YouTube Spam Collection with the Snorkel spam
tutorial's split and its seven keyword/regex/length labeling functions:
applies them to the 1,586 unlabeled training comments, fits the label model,
writes probabilistic labels, prints the LF analysis, and scores the label
model on the 250 test comments. The data is read from
$DAWN_DATA/youtube_spam_uci (DAWN_DATA defaults to ../shared/data beside the
repository). The split files, the LF file and the outputs land in --dir.

Example:
  dawn quickstart --dir /tmp/dawn-quickstart`)
	dir := fs.String("dir", "", "folder for the split files, the LF file and the outputs (default: a new temporary folder)")
	method := fs.String("method", "snorkel", "label model: snorkel, majority, dawid-skene or triplet")
	asJSON := fs.Bool("json", false, "print one JSON object on stdout")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	splits, err := youtube.Load(youtube.Dir())
	if err != nil {
		return err
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "dawn-quickstart-")
		if err != nil {
			return err
		}
		*dir = d
	} else if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	if err := splits.WriteSplits(*dir); err != nil {
		return err
	}
	lfs := filepath.Join(*dir, "lfs.yaml")
	if err := os.WriteFile(lfs, examples.YouTubeLFs, 0o644); err != nil {
		return err
	}
	if !*asJSON {
		fmt.Fprintf(e.stdout, "YouTube spam, Snorkel tutorial split: %d train (unlabeled), %d test; files in %s\n\n",
			len(splits.Train), len(splits.Test), *dir)
	}
	runArgs := []string{
		"--lfs", lfs, "--data", filepath.Join(*dir, "train.csv"), "--out", filepath.Join(*dir, "labels.csv"),
		"--model-out", filepath.Join(*dir, "labelmodel.json"), "--votes-out", filepath.Join(*dir, "votes.parquet"),
		"--method", *method, "--valid", filepath.Join(*dir, "test.csv"), "--gold", "CLASS",
	}
	if *asJSON {
		runArgs = append(runArgs, "--json")
	}
	return labelRun(ctx, e, runArgs)
}
