package label

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/data"
)

func applyFile(t *testing.T, lfsPath, csvPath string, funcs ...Func) *Matrix {
	t.Helper()
	f, err := LoadFile(lfsPath)
	if err != nil {
		t.Fatal(err)
	}
	r, err := data.Open(csvPath, data.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s, err := Compile(f, r.Schema(), funcs...)
	if err != nil {
		t.Fatal(err)
	}
	x, err := Apply(context.Background(), s, r, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// The expected votes are worked out by hand from testdata/comments.csv.
func TestApplyFixture(t *testing.T) {
	x := applyFile(t, "testdata/lfs.yaml", "testdata/comments.csv")
	const A = Abstain
	want := [][]int{
		// kw_my re_link short known_author kw_song
		{1, 1, A, A, A}, // "Check out my channel http://x.io": my + check out, a link
		{A, A, 0, A, 0}, // "great song": 2 words, song
		{1, A, A, 1, A}, // "MY" is case-insensitive; spammer1 is listed
		{A, A, 0, A, A}, // "army", "myth" are not the word "my"; 3 words... see below
		{1, A, A, A, 0}, // "check out", song
		{A, 1, 0, 1, A}, // https link; 3 words; "spammer2\r" is trimmed in the lookup file
	}
	// Row 4 "army of fans, myth" has 4 words: short does not fire.
	want[3][2] = A
	if got := x.Dense(); !reflect.DeepEqual(got, want) {
		t.Fatalf("votes\n got %v\nwant %v", got, want)
	}
	if !reflect.DeepEqual(x.LFs, []string{"kw_my", "re_link", "short", "known_author", "kw_song"}) {
		t.Fatalf("LF order %v", x.LFs)
	}
}

func TestSubstringMatchIsSnorkelLike(t *testing.T) {
	dir := t.TempDir()
	yaml := "labels: [ham, spam]\ntext: CONTENT\nlfs:\n  - name: my\n    keywords: [my]\n    match: substring\n    label: spam\n"
	os.WriteFile(filepath.Join(dir, "lfs.yaml"), []byte(yaml), 0o644)
	x := applyFile(t, filepath.Join(dir, "lfs.yaml"), "testdata/comments.csv")
	got := make([]int, x.N)
	for i := range got {
		got[i] = x.At(i, 0)
	}
	// Substring: "army"/"myth" match too, as `"my" in text.lower()` does.
	want := []int{1, Abstain, 1, 1, Abstain, Abstain}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
}

func TestGoFuncLF(t *testing.T) {
	popular := Func{Name: "popular", Fn: func(r Row) int {
		if v, ok := r.Float("LIKES"); ok && v >= 5 {
			return 0
		}
		return Abstain
	}}
	x := applyFile(t, "testdata/lfs.yaml", "testdata/comments.csv", popular)
	if x.M() != 6 || x.LFs[5] != "popular" {
		t.Fatalf("LFs %v", x.LFs)
	}
	var got []int
	for i := 0; i < x.N; i++ {
		got = append(got, x.At(i, 5))
	}
	want := []int{Abstain, 0, Abstain, Abstain, 0, Abstain} // likes 3,10,0,null,7,1
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
	bad := Func{Name: "bad", Fn: func(Row) int { return 7 }}
	f, _ := LoadFile("testdata/lfs.yaml")
	r, _ := data.Open("testdata/comments.csv", data.Options{})
	defer r.Close()
	s, err := Compile(f, r.Schema(), bad)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Apply(context.Background(), s, r, ApplyOptions{})
	if err == nil || !strings.Contains(err.Error(), `row 1: LF "bad": returned 7`) {
		t.Fatalf("want a row-naming error, got %v", err)
	}
}

func TestLFFileErrors(t *testing.T) {
	header := "labels: [ham, spam]\ntext: CONTENT\nlfs:\n"
	cases := []struct{ name, yaml, want string }{
		{"unknown label", header + "  - name: a\n    keywords: [x]\n    label: eggs\n", `LF "a": label "eggs" is not one of the classes in ` + "`labels`" + ` (ham, spam)`},
		{"bad regex", header + "  - name: r\n    regex: 'a(b'\n    label: spam\n", `LF "r": bad regex "a(b": missing closing )`},
		{"bad expression", header + "  - name: e\n    when: 'len(CONTENT) <'\n    label: ham\n", `LF "e": expression "len(CONTENT) <" does not compile`},
		{"unknown column in expression", header + "  - name: e\n    when: 'NOPE > 3'\n    label: ham\n", `LF "e": expression "NOPE > 3" does not compile: unknown name NOPE`},
		{"duplicate name", header + "  - name: a\n    keywords: [x]\n    label: spam\n  - name: a\n    keywords: [y]\n    label: ham\n", `:7: LF "a": the name is used by another LF`},
		{"missing field", header + "  - name: f\n    field: TITLE\n    keywords: [x]\n    label: spam\n", `LF "f": field "TITLE" is not a column of the data (columns: ID, AUTHOR, CONTENT, LIKES)`},
		{"two kinds", header + "  - name: t\n    keywords: [x]\n    regex: y\n    label: spam\n", `LF "t": has keywords and regex`},
		{"no kind", header + "  - name: n\n    label: spam\n", `LF "n": needs one of keywords, regex, when or lookup`},
		{"one class", "labels: [spam]\nlfs:\n  - name: a\n    keywords: [x]\n    label: spam\n", "at least two class names"},
		{"unknown key", header + "  - name: a\n    keyword: [x]\n    label: spam\n", `lfs.yaml:5: LF "a": unknown key "keyword" (did you mean "keywords"?); an LF's keys are name, label, field, keywords, match, case_sensitive, regex, ignore_case, when, lookup`},
		{"unknown key before the name", header + "  - lable: spam\n    name: b\n    regex: x\n", `lfs.yaml:4: LF "b": unknown key "lable" (did you mean "label"?); an LF's keys are name, label, field, keywords, match, case_sensitive, regex, ignore_case, when, lookup`},
		{"unknown key of an unnamed LF", header + "  - keywords: [x]\n    label: spam\n  - regx: y\n", `lfs.yaml:6: LF "#2": unknown key "regx" (did you mean "regex"?); an LF's keys are name, label, field, keywords, match, case_sensitive, regex, ignore_case, when, lookup`},
		{"unknown key, no near one", header + "  - name: z\n    keywords: [x]\n    label: spam\n    colour: red\n", `lfs.yaml:7: LF "z": unknown key "colour"; an LF's keys are name, label, field, keywords, match, case_sensitive, regex, ignore_case, when, lookup`},
		{"unknown key in the second LF", header + "  - name: a\n    keywords: [x]\n    label: spam\n  - name: b\n    keywordz: [y]\n    label: ham\n", `lfs.yaml:8: LF "b": unknown key "keywordz" (did you mean "keywords"?)`},
		{"unknown top-level key", "label: [a, b]\nlfs: []\n", `label: lfs.yaml:1: unknown key "label" (did you mean "labels"?); the file's keys are labels, text, lfs`},
		{"missing lookup", header + "  - name: l\n    lookup: nope.txt\n    label: spam\n", `LF "l": lookup file: open`},
		{"no lfs", "labels: [a, b]\n", "no labeling functions"},
		{"not yaml", "labels: [a, b\n", "did not find expected"},
	}
	r, err := data.Open("testdata/comments.csv", data.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := ParseFile([]byte(c.yaml), "lfs.yaml")
			if err == nil {
				_, err = Compile(f, r.Schema())
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v\nwant it to contain %q", err, c.want)
			}
			var le *LFError
			if strings.Contains(c.want, "LF \"") && !errors.As(err, &le) {
				t.Fatalf("error %T is not an *LFError", err)
			}
		})
	}
}

// Hand-worked analysis of a 5-row, 3-LF matrix.
func TestAnalyzeHandComputed(t *testing.T) {
	const A = Abstain
	x, err := FromDense([][]int{
		{0, 0, A}, // overlap, no conflict
		{0, 1, A}, // overlap, conflict
		{A, 1, 1}, // overlap, no conflict
		{1, A, A}, // alone
		{A, A, A}, // nothing
	}, 3, []string{"a", "b", "c"}, []string{"ham", "spam"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	sum := Analyze(x)
	type row struct {
		pol       []int
		cov, ovl  float64
		conflicts float64
	}
	want := []row{
		{[]int{0, 1}, 3.0 / 5, 2.0 / 5, 1.0 / 5},
		{[]int{0, 1}, 3.0 / 5, 3.0 / 5, 1.0 / 5},
		{[]int{1}, 1.0 / 5, 1.0 / 5, 0},
	}
	for j, w := range want {
		s := sum[j]
		if !reflect.DeepEqual(s.Polarity, w.pol) || s.Coverage != w.cov || s.Overlaps != w.ovl || s.Conflicts != w.conflicts {
			t.Errorf("LF %s: got %+v want %+v", s.Name, s, w)
		}
	}
	gold := []int{0, 0, 1, 0, -1}
	if err := AddGold(sum, x, gold); err != nil {
		t.Fatal(err)
	}
	// a: votes 0,0,1 vs gold 0,0,0 -> 2 correct 1 incorrect; b: 0,1,1 vs 0,0,1 -> 2/1; c: 1 vs 1 -> 1/0.
	for j, w := range [][2]int{{2, 1}, {2, 1}, {1, 0}} {
		if *sum[j].Correct != w[0] || *sum[j].Incorrect != w[1] {
			t.Errorf("LF %d: correct/incorrect %d/%d want %v", j, *sum[j].Correct, *sum[j].Incorrect, w)
		}
	}
	if *sum[0].EmpiricalAccuracy != 2.0/3 || *sum[2].EmpiricalAccuracy != 1 {
		t.Errorf("empirical accuracy %v %v", *sum[0].EmpiricalAccuracy, *sum[2].EmpiricalAccuracy)
	}
}

func TestMatrixRoundTrip(t *testing.T) {
	const A = Abstain
	x, _ := FromDense([][]int{{0, A, 2}, {A, A, A}, {1, 1, A}, {A, A, A}}, 3, nil, []string{"a", "b", "c"}, 3)
	path := filepath.Join(t.TempDir(), "votes.parquet")
	if err := SaveMatrix(path, x); err != nil {
		t.Fatal(err)
	}
	y, err := LoadMatrix(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(x, y) {
		t.Fatalf("round trip\n got %+v\nwant %+v", y, x)
	}
	if err := SaveMatrix(filepath.Join(t.TempDir(), "votes.csv"), x); err == nil {
		t.Fatal("saving votes as CSV should fail")
	}
	if _, err := LoadMatrix(context.Background(), "testdata/comments.csv"); err == nil || !strings.Contains(err.Error(), "not a dawn votes file") {
		t.Fatalf("loading a CSV as votes: %v", err)
	}
}

func FuzzParseFile(f *testing.F) {
	seed, _ := os.ReadFile("testdata/lfs.yaml")
	f.Add(string(seed))
	f.Add("labels: [a, b]\nlfs:\n  - name: x\n    when: 'A > 1'\n    label: a\n")
	f.Add("labels: []\n")
	f.Add("lfs: {}\n")
	f.Fuzz(func(t *testing.T, s string) {
		file, err := ParseFile([]byte(s), "fuzz.yaml")
		if err != nil {
			return
		}
		if len(file.Labels) < 2 || len(file.LFs) == 0 {
			t.Fatalf("accepted a file with %d labels and %d LFs", len(file.Labels), len(file.LFs))
		}
		for _, lf := range file.LFs {
			if file.classID(lf.Label) < 0 {
				t.Fatalf("accepted unknown label %q", lf.Label)
			}
		}
	})
}

func TestOutputNames(t *testing.T) {
	for _, tc := range []struct {
		input []string
		want  OutputColumns
	}{
		{[]string{"SMS"}, OutputColumns{[]string{"prob_ham", "prob_spam"}, "label", "votes"}},
		{[]string{"SMS", "label"}, OutputColumns{[]string{"prob_ham", "prob_spam"}, "lm_label", "votes"}},
		{[]string{"Label", "SMS"}, OutputColumns{[]string{"prob_ham", "prob_spam"}, "lm_label", "votes"}},
		{[]string{"label", "lm_label", "votes", "prob_spam"}, OutputColumns{[]string{"prob_ham", "lm_prob_spam"}, "lm_lm_label", "lm_votes"}},
	} {
		got := OutputNames(tc.input, []string{"ham", "spam"})
		if !slices.Equal(got.Probs, tc.want.Probs) || got.Label != tc.want.Label || got.Votes != tc.want.Votes {
			t.Errorf("OutputNames(%q) = %+v, want %+v", tc.input, got, tc.want)
		}
	}
}

func TestInspect(t *testing.T) {
	const A = Abstain
	// 5 rows × 3 LFs, classes 0/1.
	x, err := FromDense([][]int{{0, 0, A}, {1, A, 0}, {A, A, A}, {0, 1, 1}, {A, 1, A}}, 3, []string{"a", "b", "c"}, []string{"ham", "spam"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	gold := []int{0, 0, 1, 1, 1}
	probs := []float64{0.9, 0.1, 0.5, 0.5, 0.8, 0.2, 0.3, 0.7, 0.4, 0.6}
	for _, tc := range []struct {
		show string
		lf   int
		want []int
	}{
		{ShowFires, 0, []int{0, 1, 3}},
		{ShowWrong, 0, []int{1, 3}},     // a votes spam on ham row 1, ham on spam row 3
		{ShowConflicts, 0, []int{1, 3}}, // rows 1 (a spam, c ham) and 3 (a ham, b/c spam)
		{ShowConflicts, 1, []int{3}},
		{ShowAbstains, 1, []int{1, 2}},
		{ShowUncovered, -1, []int{2}},
		{ShowUncertain, -1, []int{1, 4, 3, 2, 0}}, // top probability 0.5, 0.6, 0.7, 0.8, 0.9
		{ShowUncertain, 1, []int{4, 3, 0}},
	} {
		got, err := Inspect(x, InspectSpec{Show: tc.show, LF: tc.lf, Gold: gold, Probs: probs})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s of LF %d: rows %v, want %v", tc.show, tc.lf, got, tc.want)
		}
	}
	for _, bad := range []InspectSpec{{Show: "fire", LF: 0}, {Show: ShowFires, LF: -1}, {Show: ShowWrong, LF: 0}, {Show: ShowUncertain, LF: -1}} {
		if _, err := Inspect(x, bad); err == nil {
			t.Errorf("Inspect(%+v) accepted", bad)
		}
	}
}
