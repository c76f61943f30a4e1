// Package youtube rebuilds the Snorkel spam tutorial's train/dev/valid/test
// files of the YouTube Spam Collection from the raw UCI CSVs and the
// membership list snorkel_tutorial_split.csv (see that directory's
// PROVENANCE.md), with no numpy or scikit-learn random state needed.
package youtube

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/dawn-ml/dawn/data"
)

// Splits are the files WriteSplit writes, each DIR/NAME.csv with columns
// text, label (1 spam, 0 ham), author and video (1..5).
var Splits = []string{"train", "dev", "valid", "test"}

// Dir returns the YouTube data directory: $DAWN_DATA/youtube_spam_uci, with
// DAWN_DATA defaulting to ../shared/data beside the module root (the
// directory holding go.mod, found by walking up from the working directory);
// from a worktree nested deeper, the first ancestor with shared/data. ok is
// false when it is absent.
func Dir() (string, bool) {
	if root := os.Getenv("DAWN_DATA"); root != "" {
		return check(filepath.Join(root, "youtube_spam_uci"))
	}
	wd, _ := os.Getwd()
	module := ""
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil && module == "" {
			module = d
		}
		if module != "" {
			if dir, ok := check(filepath.Join(d, "..", "shared", "data", "youtube_spam_uci")); ok {
				return dir, true
			}
		}
		if filepath.Dir(d) == d {
			return "", false
		}
	}
}

func check(dir string) (string, bool) {
	_, err := os.Stat(filepath.Join(dir, "snorkel_tutorial_split.csv"))
	return dir, err == nil
}

type row struct {
	text, author, label string
	video               int64
}

type member struct {
	split, file string
	order, csv  int
	dev         int
}

func readStrings(path string, cols ...string) ([][]string, error) {
	types := map[string]arrow.DataType{}
	for _, c := range cols {
		types[c] = arrow.BinaryTypes.String
	}
	_, recs, err := data.ReadAll(path, data.Options{Types: types})
	if err != nil {
		return nil, err
	}
	var out [][]string
	for _, rec := range recs {
		idx := make([]int, len(cols))
		for i, c := range cols {
			f := rec.Schema().FieldIndices(c)
			if len(f) == 0 {
				return nil, fmt.Errorf("youtube: %s has no column %s", path, c)
			}
			idx[i] = f[0]
		}
		for r := 0; r < int(rec.NumRows()); r++ {
			vals := make([]string, len(cols))
			for i, j := range idx {
				vals[i] = rec.Column(j).(*array.String).Value(r)
			}
			out = append(out, vals)
		}
		rec.Release()
	}
	return out, nil
}

// WriteSplit writes train.csv, dev.csv, valid.csv and test.csv into outDir
// in the tutorial's row order.
func WriteSplit(dataDir, outDir string) error {
	split, err := readStrings(filepath.Join(dataDir, "snorkel_tutorial_split.csv"), "split", "order", "file", "csv_row", "in_dev", "dev_order")
	if err != nil {
		return err
	}
	files := map[string][][]string{}
	var members []member
	for _, s := range split {
		m := member{split: s[0], file: s[2]}
		var e1, e2, e3 error
		m.order, e1 = strconv.Atoi(s[1])
		m.csv, e2 = strconv.Atoi(s[3])
		m.dev, e3 = strconv.Atoi(s[5])
		if err := errors.Join(e1, e2, e3); err != nil {
			return fmt.Errorf("youtube: split row %v: %w", s, err)
		}
		members = append(members, m)
		if _, ok := files[m.file]; !ok {
			rows, err := readStrings(filepath.Join(dataDir, m.file), "CONTENT", "CLASS", "AUTHOR")
			if err != nil {
				return err
			}
			files[m.file] = rows
		}
	}
	out := map[string][]member{}
	for _, m := range members {
		out[m.split] = append(out[m.split], m)
		if m.dev >= 0 {
			d := m
			d.split, d.order = "dev", m.dev
			out["dev"] = append(out["dev"], d)
		}
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	sch := arrow.NewSchema([]arrow.Field{
		{Name: "text", Type: arrow.BinaryTypes.String},
		{Name: "label", Type: arrow.PrimitiveTypes.Int64},
		{Name: "author", Type: arrow.BinaryTypes.String},
		{Name: "video", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	for _, name := range Splits {
		ms := out[name]
		sort.Slice(ms, func(i, j int) bool { return ms[i].order < ms[j].order })
		b := array.NewRecordBuilder(memory.DefaultAllocator, sch)
		for _, m := range ms {
			rows := files[m.file]
			if m.csv < 0 || m.csv >= len(rows) {
				return fmt.Errorf("youtube: %s has no data row %d", m.file, m.csv)
			}
			r := rows[m.csv]
			lab, err := strconv.ParseInt(r[1], 10, 64)
			if err != nil {
				return fmt.Errorf("youtube: %s row %d: CLASS %q", m.file, m.csv, r[1])
			}
			video, _ := strconv.ParseInt(m.file[7:9], 10, 64) // YoutubeNN-...
			b.Field(0).(*array.StringBuilder).Append(r[0])
			b.Field(1).(*array.Int64Builder).Append(lab)
			b.Field(2).(*array.StringBuilder).Append(r[2])
			b.Field(3).(*array.Int64Builder).Append(video)
		}
		rec := b.NewRecordBatch()
		b.Release()
		w, err := data.Create(filepath.Join(outDir, name+".csv"), sch, data.WriteOptions{})
		if err != nil {
			return err
		}
		if err := w.Write(rec); err != nil {
			w.Abort()
			return err
		}
		rec.Release()
		if err := w.Close(); err != nil {
			return err
		}
	}
	return nil
}
