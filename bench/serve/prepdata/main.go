// Command prepdata writes the Wrench YouTube spam splits (the snorkel
// tutorial split of the UCI YouTube Spam Collection) as CSV files with
// columns text and label (ham/spam), for the serving benchmarks: train.csv,
// valid.csv and test.csv (the tutorial's split by video), and, with
// -sample F, sample.csv and holdout.csv: the 1,956 comments of all splits
// shuffled with -seed and cut at F.
//
//	go run ./bench/serve/prepdata -data $DAWN_DATA -out /tmp/yt -sample 0.8
package main

import (
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

type item struct {
	Label int `json:"label"`
	Data  struct {
		Text string `json:"text"`
	} `json:"data"`
}

func main() {
	dataDir := flag.String("data", "../shared/data", "the shared data directory ($DAWN_DATA)")
	out := flag.String("out", "", "output directory")
	sample := flag.Float64("sample", 0, "also write sample.csv/holdout.csv, this fraction of all comments in the sample")
	seed := flag.Uint64("seed", 1, "shuffle seed for -sample")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "prepdata: -out is required")
		os.Exit(2)
	}
	if err := run(*dataDir, *out, *sample, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "prepdata:", err)
		os.Exit(1)
	}
}

func writeCSV(path string, rows [][]string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"text", "label"})
	w.WriteAll(rows)
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func run(dataDir, out string, sample float64, seed uint64) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var all [][]string
	for _, split := range []string{"train", "valid", "test"} {
		b, err := os.ReadFile(filepath.Join(dataDir, "wrench_youtube", split+".json"))
		if err != nil {
			return err
		}
		var items map[string]item
		if err := json.Unmarshal(b, &items); err != nil {
			return fmt.Errorf("%s.json: %w", split, err)
		}
		ids := make([]int, 0, len(items))
		for k := range items {
			id, err := strconv.Atoi(k)
			if err != nil {
				return fmt.Errorf("%s.json: id %q", split, k)
			}
			// train ids 1586.. repeat the tutorial's dev rows: skip them.
			if split == "train" && id >= 1586 {
				continue
			}
			ids = append(ids, id)
		}
		sort.Ints(ids)
		var rows [][]string
		for _, id := range ids {
			it := items[strconv.Itoa(id)]
			label := "ham"
			if it.Label == 1 {
				label = "spam"
			}
			rows = append(rows, []string{it.Data.Text, label})
		}
		if err := writeCSV(filepath.Join(out, split+".csv"), rows); err != nil {
			return err
		}
		all = append(all, rows...)
	}
	if sample > 0 {
		rand.New(rand.NewPCG(seed, 1)).Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		k := int(sample * float64(len(all)))
		if err := writeCSV(filepath.Join(out, "sample.csv"), all[:k]); err != nil {
			return err
		}
		if err := writeCSV(filepath.Join(out, "holdout.csv"), all[k:]); err != nil {
			return err
		}
	}
	return nil
}
