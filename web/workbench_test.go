package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/data"
	"github.com/dawn-ml/dawn/label"
	"github.com/dawn-ml/dawn/labeling"
	"github.com/dawn-ml/dawn/labelmodel"
	"github.com/dawn-ml/dawn/tracking"
)

// workbenchLFs is label/testdata/lfs.yaml without its lookup LF (the
// workbench refuses lookups: they name files on the server).
const workbenchLFs = `labels: [ham, spam]
text: CONTENT
lfs:
  - name: kw_my
    keywords: [my, "check out"]
    label: spam
  - name: re_link
    regex: 'https?://'
    label: spam
  - name: short
    when: 'len(words(CONTENT)) < 4'
    label: ham
  - name: kw_song
    keywords: [song]
    label: ham
`

// analyze is what `dawn label apply` + `dawn label analyze` compute for an
// LF file over a data file, with package label directly.
func analyze(t *testing.T, lfs, dataPath string) ([]label.LFSummary, *label.Matrix) {
	t.Helper()
	f, err := label.ParseFile([]byte(lfs), "lfs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rd, err := data.Open(dataPath, data.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	set, err := label.Compile(f, rd.Schema())
	if err != nil {
		t.Fatal(err)
	}
	x, err := label.Apply(context.Background(), set, rd, label.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return label.Analyze(x), x
}

// newWorkbenchFixture is the fixture with workbenchLFs as the LF file of
// run "majority" and label/testdata/comments.csv as its comments.csv; it
// returns the run's id and artifact base path.
func newWorkbenchFixture(t *testing.T) (*fixture, string, string) {
	t.Helper()
	f := newFixture(t, nil, "")
	ctx := t.Context()
	id := f.runs["majority"]
	run, _ := f.store.GetRun(ctx, id)
	base := strings.Trim(strings.TrimPrefix(run.Info.ArtifactURI, tracking.ProxyScheme), "/")
	csv, err := os.ReadFile("../label/testdata/comments.csv")
	if err != nil {
		t.Fatal(err)
	}
	f.repo.Put(ctx, base+"/"+defaultLFArtifact, strings.NewReader(workbenchLFs))
	f.repo.Put(ctx, base+"/comments.csv", strings.NewReader(string(csv)))
	return f, id, base
}

func TestWorkbench(t *testing.T) {
	f, id, _ := newWorkbenchFixture(t)
	ctx := t.Context()
	code, body := f.get(t, "/runs/"+id+"/label?data=comments.csv")
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	coverageOf := func(body, lf string) string {
		m := regexp.MustCompile(`<tr data-lf="` + lf + `">.*?<td class="num coverage">([0-9.]+)</td>`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no row for %s:\n%s", lf, body)
		}
		return m[1]
	}
	want, x := analyze(t, workbenchLFs, "../label/testdata/comments.csv")
	for _, s := range want {
		if got := coverageOf(body, s.Name); got != fmt.Sprintf("%.3f", s.Coverage) {
			t.Errorf("%s coverage %s, label.Analyze says %.3f", s.Name, got, s.Coverage)
		}
	}
	// kw_my fires on rows 0, 2 and 4 ("Check out my", "MY channel", "check out");
	// row 3 ("army of fans, myth") gets no vote at all.
	fires := regexp.MustCompile(`(?s)<details class="lf-examples" data-lf="kw_my">.*?<table class="data fires">(.*?)</table>`).FindStringSubmatch(body)
	if fires == nil || strings.Count(fires[1], "<tr data-row=") != 3 || !strings.Contains(fires[1], `<tr data-row="2">`) {
		t.Fatalf("kw_my fires: %v", fires)
	}
	// short fires on rows 1 and 5: overlaps kw_song on 1 and re_link on 5,
	// conflicting only with re_link: overlaps 2/6, conflicts 1/6.
	if !regexp.MustCompile(`<tr data-lf="short">.*?<td class="num">0\.333</td><td class="num">0\.167</td>`).MatchString(body) {
		t.Fatalf("short's overlaps/conflicts: %s", regexp.MustCompile(`<tr data-lf="short">.*?</tr>`).FindString(body))
	}
	if lfs, _ := x.Row(3); len(lfs) != 0 {
		t.Fatal("fixture: row 3 should be uncovered")
	}
	if !regexp.MustCompile(`(?s)id="uncovered">.*?<tr data-row="3">`).MatchString(body) {
		t.Fatal("uncovered rows lack row 3")
	}
	// Edit: kw_my also matches "army"; the new coverage is the labeler's.
	edited := strings.Replace(workbenchLFs, `keywords: [my, "check out"]`, `keywords: [my, "check out", army]`, 1)
	_, body = f.get(t, "/runs/"+id+"/label?data=comments.csv&lfs_text="+url.QueryEscape(edited))
	want, _ = analyze(t, edited, "../label/testdata/comments.csv")
	for _, s := range want {
		if got := coverageOf(body, s.Name); got != fmt.Sprintf("%.3f", s.Coverage) {
			t.Errorf("edited %s coverage %s, label.Analyze says %.3f", s.Name, got, s.Coverage)
		}
	}
	if !strings.Contains(body, "coverage 1.000 (saved file: 0.833)") || !strings.Contains(body, `id="save-form"`) {
		t.Fatalf("edited totals or save form missing: %s", regexp.MustCompile(`<p id="total-coverage">.*?</p>`).FindString(body))
	}
	// Save: a new run holds the edited file as lfs.yaml.
	if code := f.post(t, "/runs/"+id+"/label/save", url.Values{"lfs_text": {edited}}, "same-origin"); code != http.StatusSeeOther {
		t.Fatalf("save: %d", code)
	}
	q := tracking.RunQuery{ExperimentIDs: []string{f.exp}}
	q.MaxResults = 10
	q.Filter, _ = tracking.ParseRunFilter("tags.`dawn.label.source_run` = '" + id + "'")
	runs, _, err := f.store.SearchRuns(ctx, q)
	if err != nil || len(runs) != 1 {
		t.Fatalf("saved run: %v %v", runs, err)
	}
	nb := strings.Trim(strings.TrimPrefix(runs[0].Info.ArtifactURI, tracking.ProxyScheme), "/")
	rc, _, err := f.repo.Open(ctx, nb+"/lfs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	// Mistakes are 400 with the reason; lookups are refused.
	for _, bad := range []string{"lfs:\n  - name: x\n    lookup: /etc/passwd\n    field: AUTHOR\n    label: spam\nlabels: [ham, spam]\n", "not: [valid"} {
		if code, body := f.get(t, "/runs/"+id+"/label?data=comments.csv&lfs_text="+url.QueryEscape(bad)); code != 400 || !strings.Contains(body, `id="error-message"`) {
			t.Errorf("bad LF file: %d", code)
		}
	}
	if code, _ := f.get(t, "/runs/"+id+"/label?data="+url.QueryEscape("../../x.csv")); code != 400 {
		t.Errorf("data path escaping the run: %d", code)
	}
}

// TestWorkbenchGold: with a gold column, each LF lists the rows where it
// votes against gold (label.Inspect's "wrong"), and a gold cell that is not
// a class is a 400 naming the row and column.
func TestWorkbenchGold(t *testing.T) {
	f := newFixture(t, nil, "")
	ctx := t.Context()
	id := f.runs["majority"]
	run, _ := f.store.GetRun(ctx, id)
	base := strings.Trim(strings.TrimPrefix(run.Info.ArtifactURI, tracking.ProxyScheme), "/")
	// comments.csv with a gold column: rows 0, 2, 5 spam, 1 and 4 ham (by
	// id: 0 is ham), row 3 without a label.
	csv := `ID,AUTHOR,CONTENT,LIKES,GOLD
1,bob,"Check out my channel http://x.io",3,spam
2,amy,great song,10,0
3,spammer1,"subscribe to MY channel please",0,spam
4,carl,"army of fans, myth",,
5,dana,"I love this song, check out the video",7,ham
6,spammer2,"Free iPhone: https://win.example",1,spam
`
	f.repo.Put(ctx, base+"/"+defaultLFArtifact, strings.NewReader(workbenchLFs))
	f.repo.Put(ctx, base+"/gold.csv", strings.NewReader(csv))
	code, body := f.get(t, "/runs/"+id+"/label?data=gold.csv&gold=GOLD")
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	// By hand: kw_my (spam) fires on 0, 2, 4: wrong on 4 (ham); short (ham)
	// fires on 1, 5: wrong on 5 (spam); re_link (spam) on 0, 5 and kw_song
	// (ham) on 1, 4 are never wrong.
	want := map[string][]string{"kw_my": {"4"}, "short": {"5"}, "re_link": nil, "kw_song": nil}
	for lf, rows := range want {
		m := regexp.MustCompile(`(?s)<details class="lf-examples" data-lf="` + lf + `">.*?<table class="data wrong">(.*?)</table>`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("%s: no wrong table", lf)
		}
		got := regexp.MustCompile(`<tr data-row="(\d+)">`).FindAllStringSubmatch(m[1], -1)
		if len(got) != len(rows) {
			t.Errorf("%s wrong rows %v, want %v", lf, got, rows)
			continue
		}
		for i, g := range got {
			if g[1] != rows[i] {
				t.Errorf("%s wrong rows %v, want %v", lf, got, rows)
			}
		}
	}
	// Without gold there is no wrong table.
	if _, body := f.get(t, "/runs/"+id+"/label?data=gold.csv"); strings.Contains(body, `class="data wrong"`) {
		t.Error("wrong rows shown without a gold column")
	}
	bad := strings.Replace(csv, "great song,10,0", "great song,10,maybe", 1)
	f.repo.Put(ctx, base+"/bad.csv", strings.NewReader(bad))
	if code, body := f.get(t, "/runs/"+id+"/label?data=bad.csv&gold=GOLD"); code != 400 || !strings.Contains(body, "row 2, column GOLD") {
		t.Errorf("bad gold cell: %d %s", code, regexp.MustCompile(`<p class="error"[^>]*>.*?</p>`).FindString(body))
	}
	if code, _ := f.get(t, "/runs/"+id+"/label?data=gold.csv&gold=NOPE"); code != 400 {
		t.Errorf("missing gold column: %d", code)
	}
}

// TestWorkbenchUncertain: the least confident rows are label.Inspect's
// "uncertain" under the run's saved label model (model/labelmodel.json,
// here a majority model) when it is for these LFs, else under Snorkel
// fitted on the sample, as `dawn label inspect --show uncertain` does.
func TestWorkbenchUncertain(t *testing.T) {
	f, id, base := newWorkbenchFixture(t)
	ctx := t.Context()
	_, x := analyze(t, workbenchLFs, "../label/testdata/comments.csv")
	uncertain := func(body string) (rows []string, source string) {
		m := regexp.MustCompile(`(?s)<table class="data" id="uncertain">.*?<tbody>(.*?)</tbody>`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no uncertain table:\n%s", body)
		}
		for _, r := range regexp.MustCompile(`<tr data-row="(\d+)">`).FindAllStringSubmatch(m[1], -1) {
			rows = append(rows, r[1])
		}
		return rows, regexp.MustCompile(`id="uncertain-model">(.*?)</p>`).FindStringSubmatch(body)[1]
	}
	want := func(lm labelmodel.Model) []string {
		probs, _, err := labeling.Probabilities(ctx, x, lm)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := label.Inspect(x, label.InspectSpec{Show: label.ShowUncertain, LF: -1, Probs: probs})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rows {
			out = append(out, fmt.Sprint(r))
		}
		return out
	}
	_, body := f.get(t, "/runs/"+id+"/label?data=comments.csv")
	rows, source := uncertain(body)
	if w := want(nil); strings.Join(rows, ",") != strings.Join(w, ",") || !strings.Contains(source, "fitted on this sample") {
		t.Fatalf("no saved model: rows %v (%s), want %v", rows, source, w)
	}
	if len(rows) != x.N {
		t.Fatalf("%d uncertain rows of %d", len(rows), x.N)
	}
	mv, err := labelmodel.New(labelmodel.Majority, labelmodel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := mv.Fit(ctx, x); err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	if err := mv.Save(&buf); err != nil {
		t.Fatal(err)
	}
	f.repo.Put(ctx, base+"/model/"+modelArtifact, strings.NewReader(buf.String()))
	_, body = f.get(t, "/runs/"+id+"/label?data=comments.csv")
	rows, source = uncertain(body)
	if w := want(mv); strings.Join(rows, ",") != strings.Join(w, ",") || !strings.Contains(source, "majority label model saved with the run (model/labelmodel.json)") {
		t.Fatalf("saved model: rows %v (%s), want %v", rows, source, w)
	}
	// An edited file is not what the saved model was fitted for.
	edited := workbenchLFs + "  - name: kw_fans\n    keywords: [fans]\n    label: ham\n"
	_, body = f.get(t, "/runs/"+id+"/label?data=comments.csv&lfs_text="+url.QueryEscape(edited))
	if _, source = uncertain(body); !strings.Contains(source, "fitted on this sample") {
		t.Fatalf("edited LFs: %s", source)
	}
}
