package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/artifact"
	"github.com/dawn-ml/dawn/tracking"
	"github.com/dawn-ml/dawn/tracking/sqlite"
	"github.com/dawn-ml/dawn/tracking/sqlstore"
)

type fixture struct {
	store tracking.Store
	repo  *artifact.Local
	srv   *httptest.Server
	exp   string
	runs  map[string]string // run name → id
}

// newFixture opens a SQLite store with one experiment of four runs (one
// nested under another) and serves the console over it.
func newFixture(t *testing.T, allow Authorizer, prefix string) *fixture {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "t.db"), sqlstore.Options{ArtifactRoot: tracking.ProxyScheme})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	repo, err := artifact.NewLocal(filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: store, repo: repo, runs: map[string]string{}}
	f.exp, err = store.CreateExperiment(ctx, "spam", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(name string, start int64, method string, acc, loss float64, tags ...tracking.Tag) string {
		r, err := store.CreateRun(ctx, tracking.NewRun{ExperimentID: f.exp, RunName: name, StartTime: start, Tags: tags})
		if err != nil {
			t.Fatal(err)
		}
		end := start + 2500
		if _, err := store.UpdateRun(ctx, r.Info.RunID, tracking.RunUpdate{Status: tracking.StatusFinished, EndTime: &end}); err != nil {
			t.Fatal(err)
		}
		if err := store.LogBatch(ctx, r.Info.RunID,
			[]tracking.Metric{{Key: "accuracy", Value: tracking.Float(acc), Timestamp: tracking.Int64(end), Step: 1}, {Key: "loss", Value: tracking.Float(loss), Timestamp: tracking.Int64(end), Step: 1}},
			[]tracking.Param{{Key: "method", Value: method}, {Key: "epochs", Value: "10"}}, []tracking.Tag{{Key: "team", Value: "nlp"}}); err != nil {
			t.Fatal(err)
		}
		f.runs[name] = r.Info.RunID
		return r.Info.RunID
	}
	mk("snorkel-1", 1000, "snorkel", 0.84, 0.41)
	parent := mk("majority", 2000, "majority", 0.86, 0.35)
	mk("sweep-child", 2500, "majority", 0.81, 0.52, tracking.Tag{Key: "mlflow.parentRunId", Value: parent})
	mk("triplet", 3000, "triplet", 0.79, 0.60, tracking.Tag{Key: "mlflow.note.content", Value: "# Notes\nTried **triplet** <script>alert(1)</script>"})
	h, err := New(Options{Store: store, Artifacts: repo, Allow: allow, Prefix: prefix, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) get(t *testing.T, path string) (int, string) {
	t.Helper()
	res, err := http.Get(f.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// post sends a same-origin form POST, as the console's own forms do.
func (f *fixture) post(t *testing.T, path string, form url.Values, site string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", f.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", site)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

var runRowRE = regexp.MustCompile(`<tr data-run="([0-9a-f]+)"`)

// rowsOf returns the run ids of a runs table in page order.
func rowsOf(body string) []string {
	var ids []string
	for _, m := range runRowRE.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

func (f *fixture) names(ids []string) string {
	byID := map[string]string{}
	for n, id := range f.runs {
		byID[id] = n
	}
	var out []string
	for _, id := range ids {
		out = append(out, byID[id])
	}
	return strings.Join(out, ",")
}

func TestRunsTable(t *testing.T) {
	f := newFixture(t, nil, "")
	base := "/experiments/" + f.exp
	code, body := f.get(t, base)
	if code != 200 {
		t.Fatalf("runs page: %d %s", code, body)
	}
	// Newest first, the child nested right under its parent.
	if got := f.names(rowsOf(body)); got != "triplet,majority,sweep-child,snorkel-1" {
		t.Fatalf("default order %s", got)
	}
	if !strings.Contains(body, `data-parent="`+f.runs["majority"]+`"`) || !strings.Contains(body, "↳") {
		t.Fatal("child run not marked as nested")
	}
	// Default columns: the metrics; duration from start and end.
	if !strings.Contains(body, `data-col="metrics.accuracy"`) || !strings.Contains(body, "2.5s") {
		t.Fatal("default columns or duration missing")
	}
	cases := []struct{ query, want string }{
		{"order=" + url.QueryEscape("metrics.accuracy DESC"), "majority,snorkel-1,sweep-child,triplet"},
		{"order=" + url.QueryEscape("metrics.accuracy ASC"), "triplet,sweep-child,snorkel-1,majority"},
		{"order=" + url.QueryEscape("params.method ASC"), ""}, // checked below: majority runs first
		{"filter=" + url.QueryEscape("metrics.accuracy > 0.82"), "majority,snorkel-1"},
		{"filter=" + url.QueryEscape("params.method = 'majority'") + "&order=" + url.QueryEscape("attributes.start_time ASC"), "majority,sweep-child"},
		{"n=2", "triplet,sweep-child"}, // a page nests only the runs it holds
	}
	for _, c := range cases {
		code, body := f.get(t, base+"?"+c.query)
		if code != 200 {
			t.Fatalf("%s: %d", c.query, code)
		}
		got := f.names(rowsOf(body))
		if c.want != "" && got != c.want {
			t.Errorf("%s: got %s, want %s", c.query, got, c.want)
		}
		if c.want == "" && !strings.HasPrefix(got, "majority,sweep-child") && !strings.HasPrefix(got, "sweep-child,majority") {
			t.Errorf("%s: got %s", c.query, got)
		}
	}
	// Paging: the second page holds the rest, reached from the next link.
	_, body = f.get(t, base+"?n=2")
	m := regexp.MustCompile(`id="next-page" href="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no next-page link")
	}
	next := strings.ReplaceAll(strings.TrimPrefix(m[1], ""), "&amp;", "&")
	_, body = f.get(t, next)
	if got := f.names(rowsOf(body)); got != "majority,snorkel-1" {
		t.Fatalf("page 2: %s (link %s)", got, next)
	}
	// Column picker: only the chosen columns are drawn, in the URL.
	_, body = f.get(t, base+"?cols=params.method&cols=tags.team")
	if !strings.Contains(body, `data-col="params.method"`) || !strings.Contains(body, `data-col="tags.team"`) || strings.Contains(body, `data-col="metrics.accuracy"`) {
		t.Fatal("column picker columns wrong")
	}
	if !strings.Contains(body, `<td>snorkel</td>`) || !strings.Contains(body, `value="params.method,tags.team"`) {
		t.Fatal("chosen column values or deep link missing")
	}
	// Client mistakes are 400 with the reason, not 500.
	for _, q := range []string{"filter=" + url.QueryEscape("metrics.accuracy >>> 1"), "order=" + url.QueryEscape("bogus.x DESC"), "cols=foo", "n=0"} {
		if code, body := f.get(t, base+"?"+q); code != 400 || !strings.Contains(body, `id="error-message"`) {
			t.Errorf("%s: status %d", q, code)
		}
	}
	if code, _ := f.get(t, "/experiments/999"); code != 404 {
		t.Errorf("missing experiment: %d, want 404", code)
	}
}

func TestExperimentsCRUD(t *testing.T) {
	f := newFixture(t, nil, "")
	if code := f.post(t, "/experiments/create", url.Values{"name": {"fraud"}}, "same-origin"); code != 303 {
		t.Fatalf("create: %d", code)
	}
	e, err := f.store.GetExperimentByName(t.Context(), "fraud")
	if err != nil {
		t.Fatal(err)
	}
	if code := f.post(t, "/experiments/"+e.ExperimentID+"/rename", url.Values{"name": {"fraud-2"}}, "same-origin"); code != 303 {
		t.Fatalf("rename: %d", code)
	}
	if code := f.post(t, "/experiments/"+e.ExperimentID+"/delete", nil, "same-origin"); code != 303 {
		t.Fatalf("delete: %d", code)
	}
	_, body := f.get(t, "/")
	if strings.Contains(body, "fraud-2") || !strings.Contains(body, ">spam<") {
		t.Fatal("deleted experiment still listed, or spam missing")
	}
	_, body = f.get(t, "/?view=deleted")
	if !strings.Contains(body, "fraud-2") {
		t.Fatal("deleted view lacks the deleted experiment")
	}
	if code := f.post(t, "/experiments/"+e.ExperimentID+"/restore", nil, "same-origin"); code != 303 {
		t.Fatalf("restore: %d", code)
	}
	if _, body = f.get(t, "/?q=FRAUD"); !strings.Contains(body, "fraud-2") || strings.Contains(body, ">spam<") {
		t.Fatal("search by name (case-insensitive) wrong")
	}
	// Cross-site POSTs are refused (CSRF) and change nothing.
	if code := f.post(t, "/experiments/create", url.Values{"name": {"evil"}}, "cross-site"); code != 403 {
		t.Fatalf("cross-site create: %d, want 403", code)
	}
	if _, err := f.store.GetExperimentByName(t.Context(), "evil"); err == nil {
		t.Fatal("cross-site POST created an experiment")
	}
	if code := f.post(t, "/experiments/create", url.Values{"name": {""}}, "same-origin"); code != 400 {
		t.Fatalf("empty name: %d, want 400", code)
	}
}

func TestRunPageAndArtifacts(t *testing.T) {
	f := newFixture(t, nil, "")
	ctx := t.Context()
	id := f.runs["triplet"]
	run, _ := f.store.GetRun(ctx, id)
	base := strings.Trim(strings.TrimPrefix(run.Info.ArtifactURI, tracking.ProxyScheme), "/")
	put := func(p, content string) {
		if err := f.repo.Put(ctx, base+"/"+p, strings.NewReader(content)); err != nil {
			t.Fatal(err)
		}
	}
	put("model/MLmodel", "flavors:\n  dawn:\n    model_type: logreg\n")
	put("eval.json", `{"accuracy":0.79,"f1":0.7}`)
	put("votes.csv", "text,kw_my\nhello,1\nbye,-1\n")
	put("plot.png", "\x89PNG\r\n\x1a\nfake")
	put("page.html", "<script>alert(1)</script>")
	code, body := f.get(t, "/runs/"+id)
	if code != 200 {
		t.Fatalf("run page %d", code)
	}
	for _, want := range []string{"<h3>Notes</h3>", "<strong>triplet</strong>", "&lt;script&gt;alert(1)&lt;/script&gt;", ">method</th><td>triplet<",
		"accuracy</a></th><td class=\"num\">0.79<", "eval.json", "model/</a>", "votes.csv"} {
		if !strings.Contains(body, want) {
			t.Errorf("run page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>alert(1)") {
		t.Fatal("description HTML not escaped")
	}
	_, body = f.get(t, "/runs/"+id+"?dir=model")
	if !strings.Contains(body, "MLmodel") {
		t.Fatal("artifact directory listing lacks MLmodel")
	}
	_, body = f.get(t, "/runs/"+id+"/artifact?path=votes.csv")
	if !strings.Contains(body, "<th>kw_my</th>") || !strings.Contains(body, "<td>bye</td><td>-1</td>") {
		t.Fatalf("CSV preview:\n%s", body)
	}
	_, body = f.get(t, "/runs/"+id+"/artifact?path=eval.json")
	if !strings.Contains(body, "  &#34;accuracy&#34;: 0.79") {
		t.Fatal("JSON preview not indented")
	}
	_, body = f.get(t, "/runs/"+id+"/artifact?path=model/MLmodel")
	if !strings.Contains(body, "model_type: logreg") {
		t.Fatal("MLmodel preview")
	}
	res, _ := http.Get(f.srv.URL + "/runs/" + id + "/artifact/raw?path=page.html")
	res.Body.Close()
	if res.Header.Get("Content-Type") != "application/octet-stream" || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("HTML artifact served inline: %v", res.Header)
	}
	res, _ = http.Get(f.srv.URL + "/runs/" + id + "/artifact/raw?path=plot.png")
	res.Body.Close()
	if res.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("image type %q", res.Header.Get("Content-Type"))
	}
	for _, p := range []string{"../../etc/passwd", "/etc/passwd", ""} {
		if code, _ := f.get(t, "/runs/"+id+"/artifact?path="+url.QueryEscape(p)); code != 400 {
			t.Errorf("path %q: %d, want 400", p, code)
		}
	}
	if code, _ := f.get(t, "/runs/"+id+"/artifact?path=nope.txt"); code != 404 {
		t.Errorf("missing artifact: %d, want 404", code)
	}
	if code, _ := f.get(t, "/runs/0123456789abcdef0123456789abcdef"); code != 404 {
		t.Errorf("missing run: %d, want 404", code)
	}
}

func TestCompare(t *testing.T) {
	f := newFixture(t, nil, "")
	ids := f.runs["majority"] + "," + f.runs["sweep-child"]
	code, body := f.get(t, "/compare?runs="+ids)
	if code != 200 {
		t.Fatalf("compare %d", code)
	}
	// method is the same (majority), accuracy differs, epochs the same.
	if !regexp.MustCompile(`<tr class="differs" data-key="metrics.accuracy">`).MatchString(body) ||
		!regexp.MustCompile(`<tr class="" data-key="params.method">`).MatchString(body) {
		t.Fatalf("diff highlighting wrong:\n%s", body)
	}
	_, body = f.get(t, "/compare?runs="+f.runs["majority"]+","+f.runs["triplet"]+"&diff=1")
	if !strings.Contains(body, `data-key="params.method"`) || strings.Contains(body, `data-key="params.epochs"`) {
		t.Fatal("diff-only view")
	}
	if !strings.Contains(body, `"columns":["params.epochs","metrics.accuracy","metrics.loss"]`) {
		t.Fatalf("numeric table for the charts: %s", regexp.MustCompile(`(?s)<script type="application/json" id="compare-data">.*?</script>`).FindString(body))
	}
	if code, _ := f.get(t, "/compare"); code != 400 {
		t.Fatalf("compare with no runs: %d", code)
	}
}

func TestRegistryPages(t *testing.T) {
	f := newFixture(t, nil, "")
	ctx := t.Context()
	if _, err := f.store.CreateRegisteredModel(ctx, tracking.RegisteredModel{Name: "spam"}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := f.store.CreateModelVersion(ctx, tracking.ModelVersion{Name: "spam", Source: "mlflow-artifacts:/1/x/model", RunID: f.runs["majority"]}); err != nil {
			t.Fatal(err)
		}
	}
	if code := f.post(t, "/models/spam/alias", url.Values{"alias": {"champion"}, "version": {"1"}}, "same-origin"); code != 303 {
		t.Fatalf("set alias %d", code)
	}
	if code := f.post(t, "/models/spam/alias", url.Values{"alias": {"champion"}, "version": {"2"}}, "same-origin"); code != 303 {
		t.Fatalf("move alias %d", code)
	}
	v, err := f.store.GetModelVersionByAlias(ctx, "spam", "champion")
	if err != nil || v.Version != "2" {
		t.Fatalf("alias after move: %+v %v", v, err)
	}
	if code := f.post(t, "/models/spam/alias", url.Values{"alias": {"v3"}, "version": {"2"}}, "same-origin"); code != 400 {
		t.Fatalf("reserved alias: %d, want 400", code)
	}
	f.post(t, "/models/spam/tag", url.Values{"key": {"owner"}, "value": {"ana"}}, "same-origin")
	f.post(t, "/models/spam/description", url.Values{"description": {"Spam **filter**"}}, "same-origin")
	f.post(t, "/models/spam/versions/2/tag", url.Values{"key": {"validated"}, "value": {"yes"}}, "same-origin")
	_, body := f.get(t, "/models/spam")
	for _, want := range []string{`data-alias="champion"`, "version 2", "<th>owner</th><td>ana</td>", "<strong>filter</strong>", "validated=yes", `id="alias-form"`} {
		if !strings.Contains(body, want) {
			t.Errorf("model page lacks %q", want)
		}
	}
	_, body = f.get(t, "/models")
	if !strings.Contains(body, "@champion → v2") {
		t.Fatal("models list lacks the alias")
	}
	// The run page links the version it produced.
	if _, body = f.get(t, "/runs/"+f.runs["majority"]); !strings.Contains(body, "registered as") {
		t.Fatal("run page lacks the registered version")
	}
	f.post(t, "/models/spam/alias/delete", url.Values{"alias": {"champion"}}, "same-origin")
	if _, err := f.store.GetModelVersionByAlias(ctx, "spam", "champion"); err == nil {
		t.Fatal("alias not deleted")
	}
}

// readOnly allows READ everywhere and nothing more, as --auth with the
// default READ permission does for a user with no grants.
func readOnly(r *http.Request, kind, resource, need string) bool { return need == Read }

func TestReadUsersSeeNoEditControls(t *testing.T) {
	f := newFixture(t, readOnly, "")
	ctx := context.Background()
	f.store.CreateRegisteredModel(ctx, tracking.RegisteredModel{Name: "spam"})
	f.store.CreateModelVersion(ctx, tracking.ModelVersion{Name: "spam", Source: "x"})
	_, body := f.get(t, "/models/spam")
	if strings.Contains(body, `id="alias-form"`) || strings.Contains(body, "<textarea") || strings.Contains(body, "method=\"post\"") {
		t.Fatal("READ user sees edit controls on the model page")
	}
	_, body = f.get(t, "/")
	if strings.Contains(body, "/rename") || strings.Contains(body, "/delete") {
		t.Fatal("READ user sees rename/delete")
	}
	if code := f.post(t, "/models/spam/alias", url.Values{"alias": {"champion"}, "version": {"1"}}, "same-origin"); code != 403 {
		t.Fatalf("READ user set an alias: %d, want 403", code)
	}
	if code := f.post(t, "/experiments/"+f.exp+"/delete", nil, "same-origin"); code != 403 {
		t.Fatalf("READ user deleted an experiment: %d, want 403", code)
	}
}

func TestStaticPrefix(t *testing.T) {
	f := newFixture(t, nil, "/mlflow")
	_, body := f.get(t, "/experiments/"+f.exp)
	if !strings.Contains(body, `href="/mlflow/runs/`+f.runs["triplet"]) || !strings.Contains(body, `src="/mlflow/static/vendor/htmx.min.js"`) {
		t.Fatal("links do not carry the prefix")
	}
	if code, _ := f.get(t, "/static/vendor/uPlot.iife.min.js"); code != 200 {
		t.Fatalf("static file: %d", code)
	}
}

func TestRoutesHaveRules(t *testing.T) {
	for _, r := range routes {
		isGet := strings.HasPrefix(r.pattern, "GET ")
		switch {
		case r.kind == KindNone && r.need != "":
			t.Errorf("%s: a need without a resource kind", r.pattern)
		case r.kind != KindNone && r.need == "":
			t.Errorf("%s: no permission level", r.pattern)
		case !isGet && r.kind != KindNone && r.need == Read:
			t.Errorf("%s: a state change needing only READ", r.pattern)
		case isGet && r.need != "" && r.need != Read:
			t.Errorf("%s: a page needing more than READ", r.pattern)
		}
		if !isGet && !strings.HasPrefix(r.pattern, "POST ") {
			t.Errorf("%s: state changes must be POST (checked for CSRF)", r.pattern)
		}
	}
}

// TestCompareChecksEveryRun: a user with READ on one experiment only
// cannot read another experiment's run by adding it to a comparison.
func TestCompareChecksEveryRun(t *testing.T) {
	var secret string
	allow := func(r *http.Request, kind, resource, need string) bool { return resource != secret }
	f := newFixture(t, allow, "")
	ctx := t.Context()
	other, err := f.store.CreateExperiment(ctx, "secret", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	secret = other
	r, err := f.store.CreateRun(ctx, tracking.NewRun{ExperimentID: other, RunName: "hidden", StartTime: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"/compare?runs=" + f.runs["majority"] + "&runs=" + r.Info.RunID,
		"/compare?runs=" + f.runs["majority"] + "," + r.Info.RunID,
		"/data/history?key=loss&runs=" + f.runs["majority"] + "&runs=" + r.Info.RunID,
		"/runs/" + r.Info.RunID,
	} {
		if code, _ := f.get(t, q); code != 403 {
			t.Errorf("%s: %d, want 403", q, code)
		}
	}
	if code, _ := f.get(t, "/compare?runs="+f.runs["majority"]+"&runs="+f.runs["triplet"]); code != 200 {
		t.Errorf("allowed comparison: %d", code)
	}
}

// recordingStore records the run queries the console sends.
type recordingStore struct {
	tracking.Store
	queries []tracking.RunQuery
}

func (s *recordingStore) SearchRuns(ctx context.Context, q tracking.RunQuery) ([]tracking.Run, string, error) {
	s.queries = append(s.queries, q)
	return s.Store.SearchRuns(ctx, q)
}

// TestRunsTableFetchesOnlyChosenColumns checks the runs page asks the
// store for the chosen columns' keys only (and the parent tag that nests
// runs), and that the picker still offers every key of the runs.
func TestRunsTableFetchesOnlyChosenColumns(t *testing.T) {
	f := newFixture(t, nil, "")
	rs := &recordingStore{Store: f.store}
	h, err := New(Options{Store: rs, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, tc := range []struct{ query, want string }{
		{"?cols=params.method&cols=tags.team", "params [method] metrics [] tags [mlflow.parentRunId team]"},
		{"", "params [] metrics [accuracy loss] tags [mlflow.parentRunId]"}, // the default columns
		{"?cols=metrics.loss,tags.mlflow.parentRunId", "params [] metrics [loss] tags [mlflow.parentRunId]"},
	} {
		rs.queries = nil
		res, err := http.Get(srv.URL + "/experiments/" + f.exp + tc.query)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		body := string(b)
		if res.StatusCode != 200 || len(rs.queries) != 1 || rs.queries[0].Project == nil {
			t.Fatalf("%s: status %d, %d queries", tc.query, res.StatusCode, len(rs.queries))
		}
		p := rs.queries[0].Project
		if got := fmt.Sprintf("params %v metrics %v tags %v", p.Params, p.Metrics, p.Tags); got != tc.want {
			t.Errorf("%s: projection %s, want %s", tc.query, got, tc.want)
		}
		for _, key := range []string{"params.epochs", "params.method", "metrics.accuracy", "metrics.loss", "tags.team"} {
			if !strings.Contains(body, `value="`+key+`"`) {
				t.Errorf("%s: picker lacks %s", tc.query, key)
			}
		}
		if strings.Contains(body, `value="tags.mlflow.runName"`) {
			t.Errorf("%s: picker offers mlflow.* tags", tc.query)
		}
		if len(rowsOf(body)) != 4 {
			t.Errorf("%s: %d rows", tc.query, len(rowsOf(body)))
		}
	}
}
