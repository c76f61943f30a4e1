// Package youtube builds the Snorkel spam tutorial's split of the YouTube
// Spam Collection (train 1,586 unlabeled rows, dev 100, valid 120, test 250)
// from the raw UCI files and the membership list snorkel_tutorial_split.csv
// in $DAWN_DATA/youtube_spam_uci. The quickstart, tests and benchmarks use
// it; the data itself is never committed.
package youtube

import (
	"github.com/dawn-ml/dawn/internal/shareddata"

	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// Dir returns the YouTube data directory, youtube_spam_uci under the shared
// data folder (see package shareddata).
func Dir() string { return filepath.Join(shareddata.Dir(), "youtube_spam_uci") }

// Header is the column layout of every split file.
var Header = []string{"COMMENT_ID", "AUTHOR", "DATE", "CONTENT", "CLASS", "VIDEO"}

// Splits are the tutorial's four splits, rows in tutorial order, each row
// laid out as Header.
type Splits struct {
	Train, Dev, Valid, Test [][]string
}

// Load reads the raw files and the split list from dir.
func Load(dir string) (*Splits, error) {
	files := map[string][][]string{}
	names, err := filepath.Glob(filepath.Join(dir, "Youtube0*.csv"))
	if err != nil || len(names) == 0 {
		return nil, fmt.Errorf("youtube: no Youtube0*.csv files in %s; set DAWN_DATA to the folder holding youtube_spam_uci/", dir)
	}
	sort.Strings(names)
	for v, name := range names {
		rows, err := readCSV(name)
		if err != nil {
			return nil, err
		}
		for i := range rows {
			rows[i] = append(rows[i], strconv.Itoa(v+1))
		}
		files[filepath.Base(name)] = rows
	}
	split, err := readCSV(filepath.Join(dir, "snorkel_tutorial_split.csv"))
	if err != nil {
		return nil, err
	}
	type placed struct {
		order int
		row   []string
	}
	buckets := map[string][]placed{}
	for i, r := range split {
		if len(r) != 7 {
			return nil, fmt.Errorf("youtube: snorkel_tutorial_split.csv row %d has %d fields, want 7", i+1, len(r))
		}
		order, err1 := strconv.Atoi(r[1])
		csvRow, err2 := strconv.Atoi(r[3])
		devOrder, err3 := strconv.Atoi(r[6])
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, fmt.Errorf("youtube: snorkel_tutorial_split.csv row %d: %w", i+1, err)
		}
		rows, ok := files[r[2]]
		if !ok || csvRow < 0 || csvRow >= len(rows) {
			return nil, fmt.Errorf("youtube: snorkel_tutorial_split.csv row %d names %s row %d, which does not exist", i+1, r[2], csvRow)
		}
		row := rows[csvRow]
		buckets[r[0]] = append(buckets[r[0]], placed{order, row})
		if r[5] == "1" {
			buckets["dev"] = append(buckets["dev"], placed{devOrder, row})
		}
	}
	get := func(name string) [][]string {
		b := buckets[name]
		sort.Slice(b, func(i, j int) bool { return b[i].order < b[j].order })
		out := make([][]string, len(b))
		for i, p := range b {
			out[i] = p.row
		}
		return out
	}
	s := &Splits{Train: get("train"), Dev: get("dev"), Valid: get("valid"), Test: get("test")}
	if len(s.Train) != 1586 || len(s.Dev) != 100 || len(s.Valid) != 120 || len(s.Test) != 250 {
		return nil, fmt.Errorf("youtube: split sizes %d/%d/%d/%d, want 1586/100/120/250", len(s.Train), len(s.Dev), len(s.Valid), len(s.Test))
	}
	return s, nil
}

func readCSV(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("youtube: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	if _, err := r.Read(); err != nil {
		return nil, fmt.Errorf("youtube: %s: %w", path, err)
	}
	var rows [][]string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("youtube: %s: %w", path, err)
		}
		rows = append(rows, rec)
	}
}

// WriteCSV writes rows with Header to path.
func WriteCSV(path string, rows [][]string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write(Header)
	w.WriteAll(rows)
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WriteSplits writes train.csv, dev.csv, valid.csv and test.csv into dir.
func (s *Splits) WriteSplits(dir string) error {
	for name, rows := range map[string][][]string{"train": s.Train, "dev": s.Dev, "valid": s.Valid, "test": s.Test} {
		if err := WriteCSV(filepath.Join(dir, name+".csv"), rows); err != nil {
			return fmt.Errorf("youtube: %w", err)
		}
	}
	return nil
}

// TempSplits loads the split from Dir and writes train.csv, dev.csv,
// valid.csv and test.csv into a new temporary folder; remove it with
// os.RemoveAll when done.
func TempSplits(pattern string) (dir string, err error) {
	s, err := Load(Dir())
	if err != nil {
		return "", err
	}
	dir, err = os.MkdirTemp("", pattern)
	if err != nil {
		return "", fmt.Errorf("youtube: %w", err)
	}
	if err := s.WriteSplits(dir); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}
