// Command mkcomments writes a CSV of N rows drawn at random (seeded) from
// the YouTube Spam Collection files, for the labeling benchmarks.
package main

import (
	"encoding/csv"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
)

func main() {
	rows := flag.Int("rows", 1_000_000, "rows to write")
	out := flag.String("out", "comments.csv", "output CSV")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	var header []string
	var pool [][]string
	for _, path := range flag.Args() {
		f, err := os.Open(path)
		if err != nil {
			fail(err)
		}
		recs, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			fail(fmt.Errorf("%s: %w", path, err))
		}
		header = recs[0]
		pool = append(pool, recs[1:]...)
	}
	if len(pool) == 0 {
		fail(fmt.Errorf("no input rows; pass the Youtube0*.csv files"))
	}
	f, err := os.Create(*out)
	if err != nil {
		fail(err)
	}
	w := csv.NewWriter(f)
	w.Write(header)
	rng := rand.New(rand.NewPCG(*seed, 0))
	for i := 0; i < *rows; i++ {
		w.Write(pool[rng.IntN(len(pool))])
	}
	w.Flush()
	if err := w.Error(); err != nil {
		fail(err)
	}
	if err := f.Close(); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "mkcomments:", err)
	os.Exit(1)
}
