// Command ytmv compares majority vote with the Snorkel label model on the
// YouTube spam LF sets dawn has: Wrench's precomputed votes of the
// tutorial's ten LFs (fitted on the tutorial's train rows, or on all of
// Wrench's train.json as `dawn label fit --votes train.json` reads it), and
// the tutorial split labeled by examples/youtube/lfs.yaml,
// bench/label/lfs10.yaml and the two LF sets of labeling/testdata (plus any
// LF files named on the command line). Every label model takes its
// default options (the CLI's seed 1) unless the row says otherwise; ties
// are broken by Snorkel's seeded hash; each cell is accuracy over all rows
// (accuracy on the rows some LF votes on). With YTMV_GRID=1 it prints
// instead the mean (and worst) accuracy over seeds 1–5 of a grid of
// Snorkel settings (epochs, prior, l2). From the repository root:
//
//	go run ./bench/label/ytmv
//	YTMV_GRID=1 go run ./bench/label/ytmv
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/dawn-ml/dawn/data"
	"github.com/dawn-ml/dawn/internal/shareddata"
	"github.com/dawn-ml/dawn/internal/youtube"
	"github.com/dawn-ml/dawn/label"
	"github.com/dawn-ml/dawn/labeling"
	"github.com/dawn-ml/dawn/labelmodel"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ytmv:", err, "(set DAWN_DATA to the shared data directory)")
		os.Exit(1)
	}
}

// set is one LF set: its train votes and the labeled splits to score on.
type set struct {
	name  string
	train *label.Matrix
	evals []split
}

type tie struct {
	name   string
	policy labelmodel.TieBreak
	seed   uint64
}

type split struct {
	name string
	x    *label.Matrix
	gold []int
}

func run() error {
	ctx := context.Background()
	var sets []set
	// Wrench's votes.
	wdir := filepath.Join(shareddata.Dir(), "wrench_youtube")
	read := func(name string) (*label.Matrix, []int, error) {
		return label.ReadVotes(ctx, filepath.Join(wdir, name+".json"), label.VotesOptions{})
	}
	trainAll, trainGold, err := read("train")
	if err != nil {
		return err
	}
	tut, err := withoutLabeled(wdir, trainAll)
	if err != nil {
		return err
	}
	_ = trainGold
	valid, validGold, err := read("valid")
	if err != nil {
		return err
	}
	test, testGold, err := read("test")
	if err != nil {
		return err
	}
	wevals := []split{{"valid", valid, validGold}, {"test", test, testGold}}
	sets = append(sets, set{"wrench train.json", trainAll, wevals}, set{"wrench train minus labeled_ids (tutorial train)", tut, wevals})

	dir, err := youtube.TempSplits("ytmv-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	lfsets := []string{"examples/youtube/lfs.yaml", "bench/label/lfs10.yaml",
		"labeling/testdata/youtube_three_lfs.yaml", "labeling/testdata/youtube_word_lfs.yaml"}
	lfsets = append(lfsets, os.Args[1:]...)
	for _, lfs := range lfsets {
		x, f, _, err := labeling.ApplyFile(ctx, lfs, filepath.Join(dir, "train.csv"), data.Options{}, 0, nil)
		if err != nil {
			return err
		}
		st := set{name: lfs, train: x}
		for _, sp := range []string{"dev", "valid", "test", "train"} {
			path := filepath.Join(dir, sp+".csv")
			ex, _, _, err := labeling.ApplyFile(ctx, lfs, path, data.Options{}, 0, nil)
			if err != nil {
				return err
			}
			g, err := labeling.ReadGold(path, "CLASS", f.Labels, data.Options{})
			if err != nil {
				return err
			}
			st.evals = append(st.evals, split{sp, ex, g})
		}
		sets = append(sets, st)
	}
	type cfg struct {
		name, method string
		opt          labelmodel.Options
	}
	cfgs := []cfg{
		{"majority", labelmodel.Majority, labelmodel.Options{}},
		{"snorkel v0.10 (uniform, independent, fit kept, seed 0)", labelmodel.Snorkel, labelmodel.Options{UniformPrior: true, IndependentLFs: true, NoFallback: true}},
		{"snorkel default", labelmodel.Snorkel, labelmodel.Options{}},
		{"snorkel default, fit kept (--fallback none)", labelmodel.Snorkel, labelmodel.Options{NoFallback: true}},
		{"snorkel uniform", labelmodel.Snorkel, labelmodel.Options{UniformPrior: true}},
		{"snorkel indep", labelmodel.Snorkel, labelmodel.Options{IndependentLFs: true}},
		{"snorkel 500", labelmodel.Snorkel, labelmodel.Options{Epochs: 500}},
		{"dawid-skene", labelmodel.DawidSkene, labelmodel.Options{}},
		{"triplet", labelmodel.Triplet, labelmodel.Options{}},
	}
	if os.Getenv("YTMV_GRID") != "" {
		return grid(ctx, sets)
	}
	for _, st := range sets {
		fmt.Printf("## %s: %d train rows\n", st.name, st.train.N)
		fmt.Print("model")
		for _, e := range st.evals {
			fmt.Printf(" | %s (%d)", e.name, e.x.N)
		}
		fmt.Println()
		for _, c := range cfgs {
			for _, seed := range []uint64{1, 123} {
				if c.method != labelmodel.Snorkel && seed != 1 {
					continue
				}
				if strings.HasSuffix(c.name, "seed 0)") {
					if seed != 1 {
						continue
					}
					seed = 0
				}
				c.opt.Seed = seed
				lm, err := fitted(ctx, c.method, c.opt, st.train)
				if err != nil {
					return err
				}
				ties := []tie{{"", labelmodel.TieRandom, 0}}
				if c.method == labelmodel.Majority {
					ties = append(ties, tie{", ties abstain", labelmodel.TieAbstain, 0})
					for s := uint64(0); s < 5; s++ {
						ties = append(ties, tie{fmt.Sprintf(", ties true-random %d", s), labelmodel.TieTrueRandom, s})
					}
				}
				for _, tb := range ties {
					fmt.Printf("%s seed %d%s", c.name, seed, tb.name)
					for _, e := range st.evals {
						ev, err := score(lm, e, tb.policy, tb.seed)
						if err != nil {
							return err
						}
						fmt.Printf(" | %.3f (%.3f)", ev.Accuracy, ev.CoveredAccuracy)
					}
					if c.method == labelmodel.Snorkel {
						fmt.Printf(" | %d contradictions", contradictions(lm))
					}
					fmt.Println()
				}
			}
		}
	}
	return nil
}

// withoutLabeled drops from Wrench's train votes the rows labeled_ids.json
// lists (the tutorial's dev rows, which Wrench duplicates into train).
func withoutLabeled(dir string, x *label.Matrix) (*label.Matrix, error) {
	b, err := os.ReadFile(filepath.Join(dir, "train.json"))
	if err != nil {
		return nil, err
	}
	var items map[string]json.RawMessage
	if err := json.Unmarshal(b, &items); err != nil {
		return nil, err
	}
	ids := make([]int, 0, len(items))
	for id := range items {
		n, err := strconv.Atoi(id)
		if err != nil {
			return nil, fmt.Errorf("train.json: id %q", id)
		}
		ids = append(ids, n)
	}
	slices.Sort(ids)
	var labeled struct {
		IDs []string `json:"labeled_ids"`
	}
	b, err = os.ReadFile(filepath.Join(dir, "labeled_ids.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &labeled); err != nil {
		return nil, err
	}
	skip := map[int]bool{}
	for _, id := range labeled.IDs {
		n, err := strconv.Atoi(id)
		if err != nil {
			return nil, fmt.Errorf("labeled_ids.json: id %q", id)
		}
		skip[n] = true
	}
	dense := x.Dense()
	var rows [][]int
	for r, id := range ids {
		if !skip[id] {
			rows = append(rows, dense[r])
		}
	}
	return label.FromDense(rows, x.M(), x.LFs, x.Classes, x.K())
}

// contradictions counts the fit's warnings that an LF's vote is evidence
// against its own label.
func contradictions(lm labelmodel.Model) int {
	var n int
	for _, w := range labelmodel.Warnings(lm) {
		if strings.Contains(w, "evidence against") {
			n++
		}
	}
	return n
}

// grid prints, for each Snorkel setting, the mean accuracy over seeds 1–5
// on each set's splits, beside majority vote's.
func grid(ctx context.Context, sets []set) error {
	type cfg struct {
		name string
		opt  labelmodel.Options
	}
	var cfgs []cfg
	for _, ep := range []int{100, 300, 1000} {
		for _, uni := range []bool{false, true} {
			for _, l2 := range []float64{0, 0.1, 1} {
				cfgs = append(cfgs, cfg{fmt.Sprintf("epochs %d uniform %v l2 %g", ep, uni, l2), labelmodel.Options{Epochs: ep, UniformPrior: uni, L2: l2}})
			}
		}
	}
	for _, st := range sets {
		fmt.Printf("## %s\n", st.name)
		mv, err := fitted(ctx, labelmodel.Majority, labelmodel.Options{}, st.train)
		if err != nil {
			return err
		}
		fmt.Print("majority")
		for _, e := range st.evals {
			ev, err := score(mv, e, labelmodel.TieRandom, 0)
			if err != nil {
				return err
			}
			fmt.Printf(" | %s %.3f", e.name, ev.Accuracy)
		}
		fmt.Println()
		for _, c := range cfgs {
			sum := make([]float64, len(st.evals))
			mn := make([]float64, len(st.evals))
			for i := range mn {
				mn[i] = 1
			}
			for seed := uint64(1); seed <= 5; seed++ {
				c.opt.Seed = seed
				lm, err := fitted(ctx, labelmodel.Snorkel, c.opt, st.train)
				if err != nil {
					return err
				}
				for i, e := range st.evals {
					ev, err := score(lm, e, labelmodel.TieRandom, 0)
					if err != nil {
						return err
					}
					sum[i] += ev.Accuracy / 5
					mn[i] = min(mn[i], ev.Accuracy)
				}
			}
			fmt.Print(c.name)
			for i, e := range st.evals {
				fmt.Printf(" | %s %.3f (min %.3f)", e.name, sum[i], mn[i])
			}
			fmt.Println()
		}
	}
	return nil
}

// score predicts e with lm, ties broken by policy, and scores it.
func score(lm labelmodel.Model, e split, policy labelmodel.TieBreak, seed uint64) (labelmodel.Eval, error) {
	pred, err := lm.Predict(e.x, policy, seed)
	if err != nil {
		return labelmodel.Eval{}, err
	}
	return labelmodel.Evaluate(e.x, pred, e.gold)
}

// fitted returns a label model of method fitted on x.
func fitted(ctx context.Context, method string, opt labelmodel.Options, x *label.Matrix) (labelmodel.Model, error) {
	lm, err := labelmodel.New(method, opt)
	if err != nil {
		return nil, err
	}
	return lm, lm.Fit(ctx, x)
}
