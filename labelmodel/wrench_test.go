package labelmodel

import (
	"github.com/dawn-ml/dawn/internal/shareddata"

	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/dawn-ml/dawn/label"
)

func dataDir(t testing.TB) string { return shareddata.Dir() }

// wrenchSplit reads one Wrench split (train.json, test.json, ...) as a
// label matrix and gold labels, in id order. For "train" the rows listed in
// labeled_ids.json (Wrench's copy of the tutorial's dev rows, duplicated
// from train) are left out, giving the tutorial's train split.
func wrenchSplit(t testing.TB, dataset, split string) (*label.Matrix, []int) {
	t.Helper()
	dir := filepath.Join(dataDir(t), dataset)
	b, err := os.ReadFile(filepath.Join(dir, split+".json"))
	if os.IsNotExist(err) {
		t.Skipf("Wrench data %s absent (set DAWN_DATA to the shared data folder): %v", dir, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	var items map[string]struct {
		Label      int   `json:"label"`
		WeakLabels []int `json:"weak_labels"`
	}
	if err := json.Unmarshal(b, &items); err != nil {
		t.Fatalf("%s/%s.json: %v", dir, split, err)
	}
	var classes map[string]string
	lb, err := os.ReadFile(filepath.Join(dir, "label.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(lb, &classes); err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(classes))
	for id, name := range classes {
		c, err := strconv.Atoi(id)
		if err != nil || c < 0 || c >= len(names) {
			t.Fatalf("label.json: bad class id %q", id)
		}
		names[c] = name
	}
	skip := map[string]bool{}
	if split == "train" {
		var labeled struct {
			IDs []string `json:"labeled_ids"`
		}
		b, err := os.ReadFile(filepath.Join(dir, "labeled_ids.json"))
		if err == nil {
			err = json.Unmarshal(b, &labeled)
		}
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, id := range labeled.IDs {
			skip[id] = true
		}
	}
	ids := make([]int, 0, len(items))
	for id := range items {
		if skip[id] {
			continue
		}
		n, err := strconv.Atoi(id)
		if err != nil {
			t.Fatalf("%s: bad id %q", split, id)
		}
		ids = append(ids, n)
	}
	slices.Sort(ids)
	rows := make([][]int, len(ids))
	gold := make([]int, len(ids))
	var m int
	for r, id := range ids {
		it := items[strconv.Itoa(id)]
		rows[r], gold[r] = it.WeakLabels, it.Label
		m = len(it.WeakLabels)
	}
	x, err := label.FromDense(rows, m, nil, names, len(names))
	if err != nil {
		t.Fatal(err)
	}
	return x, gold
}

func accuracy(pred, gold []int) float64 {
	var ok int
	for i, p := range pred {
		if p == gold[i] {
			ok++
		}
	}
	return float64(ok) / float64(len(gold))
}

// f1 is the F1 score of class pos.
func f1(pred, gold []int, pos int) float64 {
	var tp, fp, fn float64
	for i, p := range pred {
		switch {
		case p == pos && gold[i] == pos:
			tp++
		case p == pos:
			fp++
		case gold[i] == pos:
			fn++
		}
	}
	if tp == 0 {
		return 0
	}
	return 2 * tp / (2*tp + fp + fn)
}

func fitPredict(t testing.TB, method string, opt Options, train, test *label.Matrix) []int {
	t.Helper()
	m, err := New(method, opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Fit(t.Context(), train); err != nil {
		t.Fatal(err)
	}
	pred, err := m.Predict(test, TieRandom, 0)
	if err != nil {
		t.Fatal(err)
	}
	return pred
}

// TestWrenchYouTube reproduces the figures in docs/ref/snorkel.md on
// Wrench's precomputed votes of the spam tutorial's ten LFs.
func TestWrenchYouTube(t *testing.T) {
	train, _ := wrenchSplit(t, "wrench_youtube", "train")
	test, gold := wrenchSplit(t, "wrench_youtube", "test")
	if train.N != 1586 || test.N != 250 {
		t.Fatalf("train %d rows, test %d; want the tutorial's 1586 and 250", train.N, test.N)
	}
	for _, tc := range []struct {
		name   string
		method string
		opt    Options
		min    float64 // test accuracy at least
		exact  bool
	}{
		{"majority", Majority, Options{UniformPrior: true}, 0.840, true},
		{"snorkel-100", Snorkel, Options{UniformPrior: true, Seed: 123, Epochs: 100}, 0.840, false},
		{"snorkel-500", Snorkel, Options{UniformPrior: true, Seed: 123, Epochs: 500}, 0.864, false},
		// Wrench: DS 83.2, FlyingSquid 76.8.
		{"dawid-skene", DawidSkene, Options{UniformPrior: true}, 0.832, false},
		{"triplet", Triplet, Options{UniformPrior: true}, 0.768, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			acc := accuracy(fitPredict(t, tc.method, tc.opt, train, test), gold)
			t.Logf("%s: test accuracy %.3f", tc.name, acc)
			if tc.exact && acc != tc.min {
				t.Errorf("test accuracy %.4f, want exactly %.3f", acc, tc.min)
			}
			if acc < tc.min-1e-9 {
				t.Errorf("test accuracy %.4f, want at least %.3f", acc, tc.min)
			}
		})
	}
}

// TestWrenchSMS checks Wrench's SMS majority-vote F1 (23.97), which needs
// Snorkel's hash-based random tie-break, and records the other methods.
func TestWrenchSMS(t *testing.T) {
	train, _ := wrenchSplit(t, "wrench_sms", "train")
	test, gold := wrenchSplit(t, "wrench_sms", "test")
	for _, tc := range []struct {
		name   string
		method string
		opt    Options
	}{
		{"majority", Majority, Options{UniformPrior: true}},
		{"snorkel", Snorkel, Options{UniformPrior: true, Seed: 123}},
		{"dawid-skene", DawidSkene, Options{UniformPrior: true}},
		{"triplet", Triplet, Options{UniformPrior: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pred := fitPredict(t, tc.method, tc.opt, train, test)
			f := f1(pred, gold, 1)
			t.Logf("%s: test F1 %.2f, accuracy %.3f", tc.name, 100*f, accuracy(pred, gold))
			if tc.method == Majority && math.Round(f*10000) != 2397 {
				t.Errorf("majority F1 %.4f, want 23.97 (Wrench)", 100*f)
			}
		})
	}
}

// TestWrenchYouTubeDefaults: with dawn's default settings (prior estimated
// from the votes, dependencies detected, majority fallback) the Snorkel
// model does not lose to majority vote on Wrench's YouTube votes on the
// valid split, for five seeds. The test split is logged, not asserted: there
// the default is one row short of majority (0.836 against 0.840) for most
// seeds and four rows short for seed 42, the rows no LF votes on getting
// the estimated prior (0.546 ham; the test split has 0.476) where majority
// vote flips Snorkel's hash coin (bench/label/results/youtube-majority.txt).
func TestWrenchYouTubeDefaults(t *testing.T) {
	train, _ := wrenchSplit(t, "wrench_youtube", "train")
	valid, validGold := wrenchSplit(t, "wrench_youtube", "valid")
	test, testGold := wrenchSplit(t, "wrench_youtube", "test")
	score := func(m Model, x *label.Matrix, gold []int) Eval {
		t.Helper()
		pred, err := m.Predict(x, TieRandom, 0)
		if err != nil {
			t.Fatal(err)
		}
		e, err := Evaluate(x, pred, gold)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	mv, err := New(Majority, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := mv.Fit(t.Context(), train); err != nil {
		t.Fatal(err)
	}
	mvValid, mvTest := score(mv, valid, validGold), score(mv, test, testGold)
	for _, seed := range []uint64{1, 2, 3, 42, 123} {
		m, err := New(Snorkel, Options{Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Fit(t.Context(), train); err != nil {
			t.Fatal(err)
		}
		v, te := score(m, valid, validGold), score(m, test, testGold)
		t.Logf("seed %d: valid %.3f (majority %.3f); test %.3f, covered rows %.3f (majority %.3f, %.3f)",
			seed, v.Accuracy, mvValid.Accuracy, te.Accuracy, te.CoveredAccuracy, mvTest.Accuracy, mvTest.CoveredAccuracy)
		if v.Accuracy < mvValid.Accuracy {
			t.Errorf("seed %d: valid accuracy %.3f below majority's %.3f", seed, v.Accuracy, mvValid.Accuracy)
		}
	}
}
