// Command ytdeps compares label models on the Snorkel spam tutorial's
// YouTube split with the tutorial's seven LFs (examples/youtube/lfs.yaml):
// accuracy on the valid and test splits (ties broken by Snorkel's seeded
// hash) of majority vote and of the Snorkel label model fitted without and
// with the LF dependencies detected from the train votes. The choice
// between them is made on the valid split only; test is printed for the
// record. From the repository root:
//
//	go run ./bench/label/ytdeps
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dawn-ml/dawn/data"
	"github.com/dawn-ml/dawn/internal/youtube"
	"github.com/dawn-ml/dawn/label"
	"github.com/dawn-ml/dawn/labeling"
	"github.com/dawn-ml/dawn/labelmodel"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ytdeps:", err, "(set DAWN_DATA to the shared data directory)")
		os.Exit(1)
	}
}

func run() error {
	ctx := context.Background()
	dir, err := youtube.TempSplits("ytdeps-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	lfs := "examples/youtube/lfs.yaml"
	x, _, _, err := labeling.ApplyFile(ctx, lfs, filepath.Join(dir, "train.csv"), data.Options{}, 0, nil)
	if err != nil {
		return err
	}
	st, err := labelmodel.ComputeStats(ctx, x, labelmodel.StatsOptions{})
	if err != nil {
		return err
	}
	for _, dp := range labelmodel.DetectDependencies(st) {
		fmt.Printf("# detected: %s phi %.3f z %.1f (votes %s, %s)\n", x.LFs[dp.A]+"~"+x.LFs[dp.B], dp.Phi, dp.Z, x.Classes[dp.VoteA], x.Classes[dp.VoteB])
	}
	fmt.Println("model | valid accuracy | test accuracy | dependencies used")
	for _, c := range []struct {
		name, method string
		opt          labelmodel.Options
	}{
		{"majority", labelmodel.Majority, labelmodel.Options{}},
		{"snorkel, independent LFs (v0.10), fit kept", labelmodel.Snorkel, labelmodel.Options{IndependentLFs: true, NoFallback: true}},
		{"snorkel, independent LFs, uniform prior, fit kept", labelmodel.Snorkel, labelmodel.Options{IndependentLFs: true, UniformPrior: true, NoFallback: true}},
		{"snorkel, independent LFs, majority fallback", labelmodel.Snorkel, labelmodel.Options{IndependentLFs: true}},
		{"snorkel, detected dependencies (default)", labelmodel.Snorkel, labelmodel.Options{}},
		{"snorkel, detected dependencies, uniform prior", labelmodel.Snorkel, labelmodel.Options{UniformPrior: true}},
	} {
		c.opt.Seed = 1
		lm, err := labelmodel.New(c.method, c.opt)
		if err != nil {
			return err
		}
		if err := lm.Fit(ctx, x); err != nil {
			return err
		}
		var acc [2]float64
		for i, split := range []string{"valid.csv", "test.csv"} {
			ev, err := labeling.Evaluate(ctx, lm, lfs, filepath.Join(dir, split), "CLASS", data.Options{}, labelmodel.TieRandom, 1, label.Analyze(x), nil)
			if err != nil {
				return err
			}
			acc[i] = ev.Accuracy
		}
		deps := strings.Join(labelmodel.Dependencies(lm), "; ")
		if deps == "" {
			deps = "-"
		}
		fmt.Printf("%s | %.3f | %.3f | %s\n", c.name, acc[0], acc[1], deps)
		for _, w := range labelmodel.Warnings(lm) {
			fmt.Printf("#   warning: %s\n", w)
		}
	}
	return nil
}
