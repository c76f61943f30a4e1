// Command prepdata writes the Wrench YouTube spam splits (the snorkel
// tutorial split of the UCI YouTube Spam Collection) as CSV files with
// columns text and label (ham/spam), for the serving benchmarks.
//
//	go run ./bench/serve/prepdata -data $DAWN_DATA -out /tmp/yt
package main

import (
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
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
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "prepdata: -out is required")
		os.Exit(2)
	}
	if err := run(*dataDir, *out); err != nil {
		fmt.Fprintln(os.Stderr, "prepdata:", err)
		os.Exit(1)
	}
}

func run(dataDir, out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
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
		f, err := os.Create(filepath.Join(out, split+".csv"))
		if err != nil {
			return err
		}
		w := csv.NewWriter(f)
		w.Write([]string{"text", "label"})
		for _, id := range ids {
			it := items[strconv.Itoa(id)]
			label := "ham"
			if it.Label == 1 {
				label = "spam"
			}
			w.Write([]string{it.Data.Text, label})
		}
		w.Flush()
		if err := w.Error(); err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}
