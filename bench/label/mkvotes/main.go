// Command mkvotes writes a synthetic votes file (the Parquet that
// `dawn label apply` writes) with planted LF accuracies and coverages, for
// timing `dawn label fit` at scale.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"

	"github.com/dawn-ml/dawn/label"
)

func main() {
	rows := flag.Int("rows", 1_000_000, "rows")
	lfs := flag.Int("lfs", 50, "labeling functions")
	k := flag.Int("k", 2, "classes")
	seed := flag.Uint64("seed", 1, "random seed")
	out := flag.String("out", "votes.parquet", "output votes file")
	flag.Parse()
	rng := rand.New(rand.NewPCG(*seed, 0))
	acc := make([]float64, *lfs)
	cov := make([]float64, *lfs)
	for j := range acc {
		acc[j] = 0.55 + 0.4*rng.Float64()
		cov[j] = 0.05 + 0.3*rng.Float64()
	}
	x := &label.Matrix{N: *rows, RowPtr: make([]int64, 1, *rows+1)}
	for j := 0; j < *lfs; j++ {
		x.LFs = append(x.LFs, fmt.Sprintf("lf%02d", j))
	}
	for c := 0; c < *k; c++ {
		x.Classes = append(x.Classes, fmt.Sprintf("c%d", c))
	}
	for i := 0; i < *rows; i++ {
		y := rng.IntN(*k)
		for j := 0; j < *lfs; j++ {
			if rng.Float64() >= cov[j] {
				continue
			}
			v := y
			if rng.Float64() >= acc[j] {
				v = (y + 1 + rng.IntN(*k-1)) % *k
			}
			x.LF = append(x.LF, int32(j))
			x.Vote = append(x.Vote, int32(v))
		}
		x.RowPtr = append(x.RowPtr, int64(len(x.LF)))
	}
	if err := label.SaveMatrix(*out, x); err != nil {
		fmt.Fprintln(os.Stderr, "mkvotes:", err)
		os.Exit(1)
	}
}
