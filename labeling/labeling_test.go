package labeling

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/data"
	"github.com/dawn-ml/dawn/label"
	"github.com/dawn-ml/dawn/labelmodel"
)

func write(t *testing.T, path, s string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Majority vote over a hand-written vote matrix: the labels, the vote
// counts and the tie (abstained with the abstain policy) are worked by hand.
func TestPredictVotesMajority(t *testing.T) {
	dir := t.TempDir()
	votes := write(t, filepath.Join(dir, "votes.csv"), "a,b,c\nspam,spam,ham\nham,,\n,,\nspam,ham,\n")
	x, _, err := label.ReadVotes(context.Background(), votes, label.VotesOptions{Classes: []string{"ham", "spam"}})
	if err != nil {
		t.Fatal(err)
	}
	lm, err := labelmodel.New(labelmodel.Majority, labelmodel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := lm.Fit(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "model.json")
	if err := SaveModel(model, lm, nil, nil, ""); err != nil {
		t.Fatal(err)
	}
	back, err := LoadModel(model)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "labels.csv")
	policy, _ := labelmodel.ParseTieBreak("abstain")
	rows, labeled, err := PredictVotes(context.Background(), back, votes, out, policy, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Row 0: 2 spam, 1 ham → spam; row 1: ham; row 2: no votes; row 3: a tie.
	if rows != 4 || labeled != 2 {
		t.Fatalf("rows %d labeled %d, want 4 and 2", rows, labeled)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if lines[0] != "row,prob_ham,prob_spam,label,votes" {
		t.Fatalf("header %q", lines[0])
	}
	for i, want := range []string{",spam,3", ",ham,1", ",,0", ",,2"} {
		if !strings.HasSuffix(lines[i+1], want) || !strings.HasPrefix(lines[i+1], string(rune('0'+i))+",") {
			t.Errorf("line %d = %q, want row %d ending %q", i+1, lines[i+1], i, want)
		}
	}
	if _, err := LoadModel(filepath.Join(dir, "absent.json")); err == nil {
		t.Error("absent model loaded")
	}
}

// WriteLabels keeps every input column, adds the label columns under names
// that do not clash with a gold column called label, and leaves no file
// behind when the LFs do not fit the data.
func TestWriteLabels(t *testing.T) {
	dir := t.TempDir()
	lfs := write(t, filepath.Join(dir, "lfs.yaml"), "labels: [ham, spam]\ntext: text\nlfs:\n  - name: kw_money\n    keywords: [money]\n    label: spam\n  - name: kw_song\n    keywords: [song]\n    label: ham\n")
	dataPath := write(t, filepath.Join(dir, "d.csv"), "text,label\nwin money now,spam\nnice song,ham\nhello,ham\n")
	f, err := label.LoadFile(lfs)
	if err != nil {
		t.Fatal(err)
	}
	lm, _ := fitMajority(t)
	out := filepath.Join(dir, "labels.csv")
	policy, _ := labelmodel.ParseTieBreak("abstain")
	var calls int
	w, err := WriteLabels(context.Background(), f, lfs, dataPath, out, lm, WriteOptions{TieBreak: policy, Progress: func(read, size int64) { calls++ }})
	if err != nil {
		t.Fatal(err)
	}
	if w.Rows != 3 || w.Labeled != 2 || calls == 0 {
		t.Fatalf("%+v, %d progress calls", w, calls)
	}
	b, _ := os.ReadFile(out)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if !strings.HasPrefix(lines[0], "text,label,") || w.Columns.Label == "label" {
		t.Fatalf("header %q, label column %q", lines[0], w.Columns.Label)
	}
	if !strings.HasSuffix(lines[1], ",spam,1") || !strings.HasSuffix(lines[2], ",ham,1") || !strings.HasSuffix(lines[3], ",,0") {
		t.Errorf("rows %q", lines[1:])
	}
	bad := write(t, filepath.Join(dir, "bad.yaml"), "labels: [ham, spam]\ntext: body\nlfs:\n  - name: kw\n    keywords: [x]\n    label: spam\n")
	fb, err := label.LoadFile(bad)
	if err != nil {
		t.Fatal(err)
	}
	out2 := filepath.Join(dir, "labels2.csv")
	if _, err := WriteLabels(context.Background(), fb, bad, dataPath, out2, lm, WriteOptions{}); err == nil || !strings.Contains(err.Error(), "bad.yaml") {
		t.Errorf("err %v, want it to name bad.yaml", err)
	}
	if _, err := os.Stat(out2); !os.IsNotExist(err) {
		t.Errorf("a failed run left %s", out2)
	}
}

func TestReadGold(t *testing.T) {
	dir := t.TempDir()
	classes := []string{"ham", "spam"}
	cases := []struct {
		name, csv string
		want      []int
		wantErr   string
	}{
		{"names, ids and empty cells", "text,CLASS\na,spam\nb,0\nc,\nd, ham \n", []int{1, 0, -1, 0}, ""},
		{"unknown class", "text,CLASS\na,spam\nb,eggs\n", nil, `row 2`},
		{"id out of range", "text,CLASS\na,2\n", nil, "neither a class name (ham, spam) nor a class id 0..1"},
		{"wrong case of the column", "text,class\na,spam\n", nil, `no gold column "CLASS" (did you mean "class"?) (columns: text, class)`},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := write(t, filepath.Join(dir, string(rune('a'+i))+".csv"), c.csv)
			g, err := ReadGold(p, "CLASS", classes, data.Options{})
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want %q", err, c.wantErr)
				}
				if strings.Contains(c.name, "column") && !errors.Is(err, ErrNoGoldColumn) {
					t.Errorf("err %v is not ErrNoGoldColumn", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(g, c.want) {
				t.Errorf("gold %v, want %v", g, c.want)
			}
		})
	}
}

// Evaluate on a hand-labeled file: the LFs fire on rows 1 and 2 (both
// right), abstain on row 3 (gold ham); ties abstain, so accuracy is 2/3,
// coverage 2/3 and accuracy on covered rows 1.
func TestEvaluate(t *testing.T) {
	dir := t.TempDir()
	lfs := write(t, filepath.Join(dir, "lfs.yaml"), "labels: [ham, spam]\ntext: text\nlfs:\n  - name: kw_money\n    keywords: [money]\n    label: spam\n  - name: kw_song\n    keywords: [song]\n    label: ham\n")
	valid := write(t, filepath.Join(dir, "v.csv"), "text,label\nwin money now,spam\nnice song,ham\nhello,ham\n")
	lm, x := fitMajority(t)
	sum := label.Analyze(x)
	policy, _ := labelmodel.ParseTieBreak("abstain")
	ev, err := Evaluate(context.Background(), lm, lfs, valid, "label", data.Options{}, policy, 1, sum, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Rows != 3 || math.Abs(ev.Accuracy-2.0/3) > 1e-12 || math.Abs(ev.Coverage-2.0/3) > 1e-12 || ev.CoveredAccuracy != 1 {
		t.Errorf("%+v", ev)
	}
	if sum[0].Correct == nil || *sum[0].Correct != 1 || *sum[1].Correct != 1 {
		t.Errorf("empirical counts not added: %+v", sum)
	}
	noGold := write(t, filepath.Join(dir, "n.csv"), "text,label\nwin money now,\n")
	if _, err := Evaluate(context.Background(), lm, lfs, noGold, "label", data.Options{}, policy, 1, label.Analyze(x), nil); err == nil || !strings.Contains(err.Error(), "every row of the --valid file needs one") {
		t.Errorf("err %v", err)
	}
}

// fitMajority fits majority vote to two LFs (kw_money votes spam, kw_song
// ham) over two rows.
func fitMajority(t *testing.T) (labelmodel.Model, *label.Matrix) {
	t.Helper()
	lm, err := labelmodel.New(labelmodel.Majority, labelmodel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := &label.Matrix{LFs: []string{"kw_money", "kw_song"}, Classes: []string{"ham", "spam"}, RowPtr: []int64{0, 1, 2}, LF: []int32{0, 1}, Vote: []int32{1, 0}, N: 2}
	if err := lm.Fit(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	return lm, x
}
