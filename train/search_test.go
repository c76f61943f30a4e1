package train

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/dawn-ml/dawn/data"
	"github.com/dawn-ml/dawn/featurize"
	"github.com/dawn-ml/dawn/model"
)

// charSignal writes n rows whose words are all different random strings;
// the class is whether a row's text contains the bigram "xq" (in three
// of its six words). Word
// n-grams cannot generalize (no word repeats), character n-grams can.
func charSignal(t *testing.T, path string, n int, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 9))
	letters := "abcdefghijklmnoprstuvwyz" // no q or x: "xq" only where planted
	var b strings.Builder
	b.WriteString("text,label\n")
	for i := range n {
		spam := i%2 == 0
		var words []string
		for range 6 {
			w := make([]byte, 6)
			for k := range w {
				w[k] = letters[r.IntN(len(letters))]
			}
			words = append(words, string(w))
		}
		for k := range words[:3] {
			if spam {
				w := []byte(words[k])
				p := r.IntN(len(w) - 1)
				w[p], w[p+1] = 'x', 'q'
				words[k] = string(w)
			}
		}
		fmt.Fprintf(&b, "%s,%v\n", strings.Join(words, " "), map[bool]string{true: "spam", false: "ham"}[spam])
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSearchChoosesCharNgrams(t *testing.T) {
	dir := t.TempDir()
	trainF, validF := filepath.Join(dir, "train.csv"), filepath.Join(dir, "valid.csv")
	charSignal(t, trainF, 400, 1)
	charSignal(t, validF, 200, 2)
	for _, withValid := range []bool{true, false} {
		t.Run(fmt.Sprint("valid file ", withValid), func(t *testing.T) {
			s := Spec{Data: trainF, Target: "label", Out: filepath.Join(dir, fmt.Sprint("m", withValid)),
				Search:  Search{Features: true, L2: true},
				Options: Options{Threads: 1, Seed: 1}}
			s.Features.Text = []featurize.Text{{Column: "text", Words: 2, Lower: true}}
			if withValid {
				s.Valid, s.Gold = validF, "label"
			}
			rep, err := Run(t.Context(), s)
			if err != nil {
				t.Fatal(err)
			}
			sr := rep.Search
			if sr == nil || len(sr.Candidates) != len(SearchGrid)*len(SearchL2) {
				t.Fatalf("search report %+v", sr)
			}
			if sr.Chosen.Features != "words 1 + chars 2-5, tf-idf" || sr.Chosen.ValidAcc < 0.9 {
				t.Errorf("chose %+v; want the char n-grams with validation accuracy ≥ 0.9", sr.Chosen)
			}
			for _, c := range sr.Candidates {
				if strings.HasPrefix(c.Features, "words 1-2") && c.ValidAcc > 0.75 {
					t.Errorf("word features reached %.3f on data with no word-level signal", c.ValidAcc)
				}
			}
			if withValid && (sr.ValidRows != 200 || !strings.Contains(sr.Validation, "valid.csv")) {
				t.Errorf("scored on %d rows of %q, want the 200 of the validation file", sr.ValidRows, sr.Validation)
			}
			if !withValid && (sr.ValidRows != 80 || sr.TrainRows != 320) {
				t.Errorf("held out %d and trained on %d rows, want 80 and 320", sr.ValidRows, sr.TrainRows)
			}
			// The model and the params record what was chosen.
			if rep.Params["char_ngrams"] != "2-5" || rep.Params["tfidf"] != "true" || rep.Params["ngrams"] != "1" || rep.Params["l2"] != fmt.Sprint(sr.Chosen.L2) {
				t.Errorf("params %v do not match the choice %+v", rep.Params, sr.Chosen)
			}
			mm, err := model.Load(s.Out)
			if err != nil {
				t.Fatal(err)
			}
			m := mm.(*Model)
			if tx := m.Feat.Config.Text[0]; tx.CharMin != 2 || tx.CharMax != 5 || !tx.TFIDF || tx.Words != 1 || !tx.Lower {
				t.Errorf("saved featurizer %+v", tx)
			}
			if !withValid && rep.Rows != 400 {
				t.Errorf("final fit on %d rows, want all 400", rep.Rows)
			}
		})
	}
}

// Without a search the features and penalty are the Spec's.
func TestNoSearchKeepsSpec(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "train.csv")
	charSignal(t, f, 100, 3)
	s := Spec{Data: f, Target: "label", Out: filepath.Join(dir, "m"), Options: Options{Threads: 1, Seed: 1, L2: 0.01}}
	s.Features.Text = []featurize.Text{{Column: "text", Words: 2, Lower: true}}
	rep, err := Run(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Search != nil || rep.Params["l2"] != "0.01" || rep.Params["ngrams"] != "2" || rep.Params["char_ngrams"] != "" {
		t.Errorf("search %+v, params %v", rep.Search, rep.Params)
	}
}

func TestSampleBlocks(t *testing.T) {
	f := filepath.Join(t.TempDir(), "d.csv")
	charSignal(t, f, 3000, 4)
	_, recs, err := data.ReadAll(f, data.Options{BatchSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer release(recs)
	total := 0
	for _, r := range recs {
		total += int(r.NumRows())
	}
	small, rows := sampleBlocks(recs, 10000, 1)
	if len(rows) != total || !slices.IsSorted(rows) || rows[len(rows)-1] != total-1 {
		t.Errorf("below the bound: %d rows of %d", len(rows), total)
	}
	release(small)
	for _, seed := range []uint64{1, 2} {
		got, rows := sampleBlocks(recs, 1000, seed)
		n := 0
		for _, r := range got {
			n += int(r.NumRows())
		}
		if n != len(rows) || n > 1000 || n < 1000-256 || !slices.IsSorted(rows) {
			t.Errorf("seed %d: %d rows (%d listed), want ≤ 1000 in order", seed, n, len(rows))
		}
		// The slices hold the rows they claim: compare the text.
		want := texts(recs)
		have := texts(got)
		for i, r := range rows {
			if have[i] != want[r] {
				t.Fatalf("seed %d: sampled row %d is not data row %d", seed, i, r)
			}
		}
		release(got)
	}
}

func texts(recs []arrow.RecordBatch) []string {
	var out []string
	for _, r := range recs {
		c := r.Column(0)
		for i := range c.Len() {
			out = append(out, c.ValueStr(i))
		}
	}
	return out
}

// MaxRows bounds the rows the candidates see; the final fit sees them all.
func TestSearchBound(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "train.csv")
	charSignal(t, f, 1000, 5)
	s := Spec{Data: f, Target: "label", Out: filepath.Join(dir, "m"), Search: Search{Features: true, L2: true, MaxRows: 512},
		Options: Options{Seed: 1}}
	s.Features.Text = []featurize.Text{{Column: "text", Words: 2, Lower: true}}
	rep, err := Run(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	sr := rep.Search
	n := sr.TrainRows + sr.ValidRows // whole blocks of 256 rows: 1000 = 3×256 + 232
	if n > 512 || n < 512-256 || !strings.Contains(sr.Validation, fmt.Sprintf("%d-row sample", n)) || rep.Rows != 1000 {
		t.Errorf("search on %d+%d rows (%q), final fit on %d; want at most 512 sampled rows and all 1000", sr.TrainRows, sr.ValidRows, sr.Validation, rep.Rows)
	}
	if rep.Params["threads"] != "1" {
		t.Errorf("threads %s below ParallelMinRows, want 1", rep.Params["threads"])
	}
}
