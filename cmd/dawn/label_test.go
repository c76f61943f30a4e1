package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/internal/youtube"
)

func TestEveryCommandHasHelpWithExample(t *testing.T) {
	for name := range commands {
		if name == "help" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			code, out, errs := runDawn(t, name, "--help")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if !strings.Contains(out+errs, "Example") {
				t.Fatalf("no example in help:\n%s%s", out, errs)
			}
		})
	}
	for _, sub := range labelSubcommands() {
		code, out, errs := runDawn(t, "label", sub.name, "--help")
		if code != 0 || !strings.Contains(out+errs, "Example:") {
			t.Fatalf("label %s --help: exit %d, no example:\n%s%s", sub.name, code, out, errs)
		}
	}
}

func TestLabelPipelineOnFixture(t *testing.T) {
	dir := t.TempDir()
	lfs := "../../label/testdata/lfs.yaml"
	data := "../../label/testdata/comments.csv"
	votes := filepath.Join(dir, "votes.parquet")
	code, out, errs := runDawn(t, "label", "apply", "--lfs", lfs, "--data", data, "--out", votes, "--json")
	if code != 0 {
		t.Fatalf("apply: exit %d: %s", code, errs)
	}
	var applied struct{ Rows, LFs, Votes int }
	if err := json.Unmarshal([]byte(out), &applied); err != nil {
		t.Fatal(err)
	}
	// Hand count from label_test.go's expected matrix: 2+2+2+0+2+3 votes.
	if applied.Rows != 6 || applied.LFs != 5 || applied.Votes != 11 {
		t.Fatalf("apply summary %+v", applied)
	}
	model := filepath.Join(dir, "model.json")
	if code, _, errs := runDawn(t, "label", "fit", "--votes", votes, "--method", "majority", "--out", model); code != 0 {
		t.Fatalf("fit: exit %d: %s", code, errs)
	}
	labels := filepath.Join(dir, "labels.csv")
	if code, _, errs := runDawn(t, "label", "predict", "--model", model, "--lfs", lfs, "--data", data, "--out", labels, "--tie-break", "abstain"); code != 0 {
		t.Fatalf("predict: exit %d: %s", code, errs)
	}
	f, _ := os.Open(labels)
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := "ID,AUTHOR,CONTENT,LIKES,prob_ham,prob_spam,label,votes"
	if got := strings.Join(rows[0], ","); got != wantHeader {
		t.Fatalf("header %s, want %s", got, wantHeader)
	}
	// Majority vote by hand: row 1 two spam votes; row 2 two ham; row 4 no
	// vote (uniform, abstain); row 5 spam vs ham tie (abstain); row 6 two
	// spam and one ham.
	want := [][4]string{{"0", "1", "spam", "2"}, {"1", "0", "ham", "2"}, {"0", "1", "spam", "2"}, {"0.5", "0.5", "", "0"}, {"0.5", "0.5", "", "2"}, {"0", "1", "spam", "3"}}
	for i, w := range want {
		r := rows[i+1]
		if r[4] != w[0] || r[5] != w[1] || r[6] != w[2] || r[7] != w[3] {
			t.Errorf("row %d: %v, want probs %s,%s label %q votes %s", i+1, r[4:], w[0], w[1], w[2], w[3])
		}
	}
	code, out, errs = runDawn(t, "label", "analyze", "--lfs", lfs, "--votes", votes, "--data", data, "--gold", "LIKES", "--json")
	if code == 0 || !strings.Contains(errs, `gold label "3" is neither a class name (ham, spam) nor a class id 0..1`) {
		t.Fatalf("analyze with a non-label gold column: exit %d, %s", code, errs)
	}
	code, out, errs = runDawn(t, "label", "analyze", "--lfs", lfs, "--votes", votes, "--model", model, "--json")
	if code != 0 {
		t.Fatalf("analyze: exit %d: %s", code, errs)
	}
	var an struct {
		LFs []map[string]any `json:"lfs"`
	}
	if err := json.Unmarshal([]byte(out), &an); err != nil {
		t.Fatal(err)
	}
	if len(an.LFs) != 5 || an.LFs[0]["name"] != "kw_my" || an.LFs[0]["coverage"].(float64) != 3.0/6 {
		t.Fatalf("analysis %v", an.LFs[0])
	}
}

func TestLabelErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("labels: [ham, spam]\ntext: CONTENT\nlfs:\n  - name: oops\n    regex: '(('\n    label: spam\n"), 0o644)
	ragged := filepath.Join(dir, "ragged.csv")
	os.WriteFile(ragged, []byte("CONTENT,X\nfine,1\nbroken\n"), 0o644)
	latin1 := filepath.Join(dir, "latin1.csv")
	os.WriteFile(latin1, []byte("CONTENT\nfine\ncaf\xe9\n"), 0o644)
	empty := filepath.Join(dir, "empty.csv")
	os.WriteFile(empty, nil, 0o644)
	noText := filepath.Join(dir, "notext.csv")
	os.WriteFile(noText, []byte("TITLE\nhello\n"), 0o644)
	quote := filepath.Join(dir, "quote.csv")
	os.WriteFile(quote, []byte("CONTENT\n\"open quote\nnever closed\n"), 0o644)
	lfs := "../../label/testdata/lfs.yaml"
	out := filepath.Join(dir, "v.parquet")
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"label", "apply", "--lfs", "x.yaml"}, 2, "missing --data, --out"},
		{[]string{"label", "apply", "--lfs", bad, "--data", "../../label/testdata/comments.csv", "--out", filepath.Join(dir, "v.parquet")}, 1, `LF "oops": bad regex "((": missing closing )`},
		{[]string{"label", "apply", "--lfs", lfs, "--data", ragged, "--out", out}, 1, "ragged.csv: row 2"},
		{[]string{"label", "apply", "--lfs", lfs, "--data", latin1, "--out", out}, 1, `latin1.csv: row 2, column "CONTENT"`},
		{[]string{"label", "apply", "--lfs", lfs, "--data", empty, "--out", out}, 1, "empty.csv"},
		{[]string{"label", "apply", "--lfs", lfs, "--data", noText, "--out", out}, 1, `field "CONTENT" is not a column of the data (columns: TITLE)`},
		{[]string{"label", "apply", "--lfs", lfs, "--data", quote, "--out", out}, 1, "quote.csv"},
		{[]string{"label", "apply", "--lfs", lfs, "--data", filepath.Join(dir, "nope.csv"), "--out", out}, 1, "nope.csv: no such file"},
		{[]string{"label", "apply", "--lfs", "../../label/testdata/lfs.yaml", "--data", "../../label/testdata/comments.csv", "--out", filepath.Join(dir, "v.csv")}, 1, "votes are saved as Parquet"},
		{[]string{"label", "fit", "--votes", "../../label/testdata/comments.csv", "--out", filepath.Join(dir, "m.json")}, 1, "is this the data rather than its votes?"},
		{[]string{"label", "nope"}, 2, `unknown subcommand "nope"`},
		{[]string{"nope"}, 2, `unknown command "nope"`},
	}
	for _, c := range cases {
		code, _, errs := runDawn(t, c.args...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", c.args, code, errs, c.code, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "v.parquet")); err == nil {
		t.Error("a failed apply left its output behind")
	}
}

// The acceptance figures: on the tutorial split with the tutorial's seven
// keyword/regex/length LFs, Snorkel 0.10 measured 0.860 (majority vote) and
// 0.844 (LabelModel, defaults, random ties) on the test set.
func TestQuickstartMatchesSnorkel(t *testing.T) {
	if _, err := os.Stat(youtube.Dir()); err != nil {
		t.Skipf("YouTube data not found at %s (set DAWN_DATA)", youtube.Dir())
	}
	for method, want := range map[string]float64{"snorkel": 0.844, "majority": 0.860} {
		code, out, errs := runDawn(t, "quickstart", "--dir", t.TempDir(), "--method", method, "--json")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", method, code, errs)
		}
		var res struct {
			Eval struct{ Accuracy, Coverage float64 } `json:"eval"`
			Rows int                                  `json:"rows"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatal(err)
		}
		if res.Rows != 1586 || res.Eval.Accuracy < want-1e-9 || res.Eval.Coverage != 206.0/250 {
			t.Errorf("%s: %+v, want accuracy >= %.3f on 1586 rows, coverage 0.824", method, res, want)
		}
	}
}

// A label model saved as a model directory predicts through `dawn predict`
// exactly what `dawn label predict` writes (ties abstain in both).
func TestLabelModelDirectoryThroughPredict(t *testing.T) {
	dir := t.TempDir()
	lfs := "../../label/testdata/lfs.yaml"
	data := "../../label/testdata/comments.csv"
	mdir := filepath.Join(dir, "lm")
	code, _, errs := runDawn(t, "label", "run", "--lfs", lfs, "--data", data, "--out", filepath.Join(dir, "train_labels.csv"),
		"--method", "majority", "--model-out", mdir, "--json")
	if code != 0 {
		t.Fatalf("label run: %s", errs)
	}
	if _, err := os.Stat(filepath.Join(mdir, "MLmodel")); err != nil {
		t.Fatalf("no MLmodel: %v", err)
	}
	if _, err := os.Stat(filepath.Join(mdir, "lookups")); err != nil {
		t.Fatalf("lookup list not bundled: %v", err)
	}
	a, b := filepath.Join(dir, "a.csv"), filepath.Join(dir, "b.csv")
	if code, _, errs := runDawn(t, "predict", "--model", mdir, "--data", data, "--out", a); code != 0 {
		t.Fatalf("predict: %s", errs)
	}
	if code, _, errs := runDawn(t, "label", "predict", "--model", filepath.Join(dir, "m.json"), "--lfs", lfs, "--data", data, "--out", b); code == 0 {
		t.Fatalf("label predict with a missing model should fail")
	} else if !strings.Contains(errs, "m.json") {
		t.Fatalf("error does not name the model: %s", errs)
	}
	jm := filepath.Join(dir, "m.json")
	if code, _, errs := runDawn(t, "label", "run", "--lfs", lfs, "--data", data, "--out", filepath.Join(dir, "x.csv"), "--method", "majority", "--model-out", jm); code != 0 {
		t.Fatal(errs)
	}
	// A served label model abstains on ties; label predict's default is
	// the random tie-break of label run, so ask for the same policy.
	if code, _, errs := runDawn(t, "label", "predict", "--model", jm, "--lfs", lfs, "--data", data, "--out", b, "--tie-break", "abstain"); code != 0 {
		t.Fatal(errs)
	}
	ga, _ := os.ReadFile(a)
	gb, _ := os.ReadFile(b)
	// dawn predict writes every model's outputs; the vote count is
	// label predict's own last column.
	var lines []string
	for _, l := range strings.SplitAfter(string(gb), "\n") {
		if i := strings.LastIndex(l, ","); i >= 0 {
			l = l[:i] + "\n"
		}
		lines = append(lines, l)
	}
	if string(ga) != strings.Join(lines, "") {
		t.Fatalf("dawn predict and dawn label predict differ:\n%s\n---\n%s", ga, gb)
	}
}

// A gold column named with the wrong case fails before anything is
// written or logged, and names the column meant.
func TestLabelRunGoldTypoFailsFirst(t *testing.T) {
	dir := t.TempDir()
	out, track := filepath.Join(dir, "labels.csv"), filepath.Join(dir, "mlruns")
	code, _, errs := runDawn(t, "label", "run", "--lfs", "../../label/testdata/lfs.yaml", "--data", "../../label/testdata/comments.csv",
		"--out", out, "--valid", "../../label/testdata/comments.csv", "--gold", "likes", "--tracking-uri", track)
	if code == 0 || !strings.Contains(errs, `no gold column "likes" (did you mean "LIKES"?)`) {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	for _, p := range []string{out, track} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s was created by a run that failed on its flags", p)
		}
	}
}

// dawn label inspect prints the rows behind the statistics, numbered as
// data rows (hand-checked against label/testdata/comments.csv).
func TestLabelInspect(t *testing.T) {
	lfs, data := "../../label/testdata/lfs.yaml", "../../label/testdata/comments.csv"
	for _, tc := range []struct {
		args []string
		rows []int
	}{
		{[]string{"--lf", "kw_my", "--show", "fires"}, []int{1, 3, 5}},
		{[]string{"--lf", "kw_my", "--show", "conflicts"}, []int{5}}, // kw_song votes ham there
		{[]string{"--lf", "kw_my", "--show", "abstains"}, []int{2, 4, 6}},
		{[]string{"--show", "uncovered"}, []int{4}},
		{[]string{"--lf", "kw_my", "--show", "fires", "--limit", "2"}, []int{1, 3}},
	} {
		args := append([]string{"label", "inspect", "--lfs", lfs, "--data", data, "--json"}, tc.args...)
		code, out, errs := runDawn(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, code, errs)
		}
		var res struct {
			Matched int
			Rows    []struct {
				Row   int
				Votes map[string]string
				Text  string
			}
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatal(err)
		}
		var got []int
		for _, r := range res.Rows {
			got = append(got, r.Row)
		}
		if strings.Join(strings.Fields(fmt.Sprint(got)), ",") != strings.Join(strings.Fields(fmt.Sprint(tc.rows)), ",") {
			t.Errorf("%v: rows %v, want %v", tc.args, got, tc.rows)
		}
		if tc.args[len(tc.args)-1] == "uncovered" && (len(res.Rows) != 1 || res.Rows[0].Text != "army of fans, myth" || len(res.Rows[0].Votes) != 0) {
			t.Errorf("uncovered row: %+v", res.Rows)
		}
	}
	code, _, errs := runDawn(t, "label", "inspect", "--lfs", lfs, "--data", data, "--lf", "kw_mi", "--show", "fires")
	if code == 0 || !strings.Contains(errs, `no LF "kw_mi" (did you mean "kw_my"?)`) {
		t.Errorf("typo in --lf: exit %d, %s", code, errs)
	}
	code, _, errs = runDawn(t, "label", "inspect", "--lfs", lfs, "--data", data, "--lf", "kw_my", "--show", "wrong")
	if code == 0 || !strings.Contains(errs, "needs --gold") {
		t.Errorf("wrong without gold: exit %d, %s", code, errs)
	}
}

// label fit and label predict --votes take a NumPy vote matrix (written
// by NumPy: label/testdata/votes/make_npy.py); majority vote by hand.
func TestLabelFitPredictNPY(t *testing.T) {
	dir := t.TempDir()
	npy, model, out := "../../label/testdata/votes/L_int64.npy", filepath.Join(dir, "m.json"), filepath.Join(dir, "labels.csv")
	if code, _, errs := runDawn(t, "label", "fit", "--votes", npy, "--classes", "a,b,c", "--method", "majority", "--out", model); code != 0 {
		t.Fatalf("fit: %s", errs)
	}
	if code, _, errs := runDawn(t, "label", "predict", "--model", model, "--votes", npy, "--tie-break", "abstain", "--out", out); code != 0 {
		t.Fatalf("predict: %s", errs)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	// Rows: [0 1 -1] tie, [-1 -1 -1] none, [1 1 0] b, [2 -1 1] tie.
	third := strconv.FormatFloat(1.0/3, 'g', -1, 64)
	want := "row,prob_a,prob_b,prob_c,label,votes\n" +
		"0,0.5,0.5,0,,2\n" +
		"1," + third + "," + third + "," + third + ",,0\n" +
		"2,0,1,0,b,3\n" +
		"3,0,0.5,0.5,,2\n"
	if string(b) != want {
		t.Errorf("labels:\n%s\nwant:\n%s", b, want)
	}
}

// label fit on votes whose Snorkel fit contradicts an LF (link fires mostly
// with short, as keyword_link does on YouTube) reports the majority
// fallback in --json and saves it; --fallback none keeps the fit; a bad
// value is a usage error.
func TestLabelFitFallback(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("link,my,short\n")
	for _, p := range []struct {
		n    int
		line string
	}{{60, "1,,0"}, {10, "1,,"}, {50, ",1,"}, {20, "1,1,"}, {80, ",,0"}, {10, ",1,0"}, {40, ",,"}} {
		for range p.n {
			b.WriteString(p.line + "\n")
		}
	}
	votes := filepath.Join(dir, "v.csv")
	if err := os.WriteFile(votes, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		flag     string
		fallback bool
	}{{"majority", true}, {"none", false}} {
		model := filepath.Join(dir, tc.flag+".json")
		code, out, errs := runDawn(t, "label", "fit", "--votes", votes, "--classes", "HAM,SPAM", "--class-balance", "uniform",
			"--dependencies", "none", "--fallback", tc.flag, "--out", model, "--json")
		if code != 0 {
			t.Fatalf("--fallback %s: exit %d: %s", tc.flag, code, errs)
		}
		if got := strings.Contains(out, `"fallback":"majority"`) || strings.Contains(out, `"fallback": "majority"`); got != tc.fallback {
			t.Errorf("--fallback %s: json %s; want fallback reported %v", tc.flag, out, tc.fallback)
		}
		saved, err := os.ReadFile(model)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(string(saved), `"fallback": "majority"`); got != tc.fallback {
			t.Errorf("--fallback %s: saved model has fallback %v, want %v", tc.flag, got, tc.fallback)
		}
	}
	code, _, errs := runDawn(t, "label", "fit", "--votes", votes, "--fallback", "bogus", "--out", filepath.Join(dir, "m.json"))
	if code != 2 || !strings.Contains(errs, `--fallback: "bogus" is not majority or none`) {
		t.Errorf("--fallback bogus: exit %d, stderr %q", code, errs)
	}
}
