package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dawn-ml/dawn/tracking"
)

// seedRuns makes two active experiments with runs started at known times
// and one deleted experiment whose run must not be listed.
func seedRuns(t *testing.T, c *tracking.Client, url string) map[string]string {
	t.Helper()
	ctx := t.Context()
	ids := map[string]string{}
	mk := func(exp, name string, method string, acc float64) {
		expID, err := c.SetExperiment(ctx, exp)
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.CreateRun(ctx, expID, name)
		if err != nil {
			t.Fatal(err)
		}
		// Each run lasts 1.5 s; runs are created a few milliseconds apart,
		// so newest first is the reverse of creation order.
		post(t, url, "runs/update", map[string]any{"run_id": r.Info.RunID, "status": "FINISHED", "end_time": int64(r.Info.StartTime) + 1500})
		if err := c.LogBatch(ctx, r.Info.RunID, []tracking.Metric{{Key: "accuracy", Value: tracking.Float(acc), Timestamp: 1, Step: 0}},
			[]tracking.Param{{Key: "method", Value: method}, {Key: "epochs", Value: "10"}}, nil); err != nil {
			t.Fatal(err)
		}
		ids[name] = r.Info.RunID
		time.Sleep(3 * time.Millisecond)
	}
	mk("alpha", "a1", "snorkel", 0.8)
	mk("beta", "b1", "majority", 0.7)
	mk("alpha", "a2", "majority", 0.9)
	mk("gone", "g1", "snorkel", 0.5)
	gone, err := c.GetExperimentByName(ctx, "gone")
	if err != nil {
		t.Fatal(err)
	}
	post(t, url, "experiments/delete", map[string]any{"experiment_id": gone.ExperimentID})
	return ids
}

func post(t *testing.T, url, endpoint string, body any) {
	t.Helper()
	b, _ := json.Marshal(body)
	res, err := http.Post(url+"/api/2.0/mlflow/"+endpoint, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("%s: status %d", endpoint, res.StatusCode)
	}
}

func TestRunsList(t *testing.T) {
	c, url, _ := trackingServer(t)
	ids := seedRuns(t, c, url)
	code, out, errs := runDawn(t, "runs", "list", "--tracking-uri", url, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got struct{ Runs []tracking.Run }
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range got.Runs {
		names = append(names, r.Info.RunName)
	}
	// Every active experiment, newest first; the deleted experiment's run is left out.
	if strings.Join(names, ",") != "a2,b1,a1" {
		t.Fatalf("runs %v, want a2,b1,a1", names)
	}

	code, out, errs = runDawn(t, "runs", "list", "--tracking-uri", url, "--experiment", "alpha",
		"--filter", "params.method = 'majority'", "--columns", "params.method,metrics.accuracy")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "params.method") || !strings.Contains(lines[0], "metrics.accuracy") ||
		!strings.HasPrefix(lines[1], ids["a2"]) || !strings.Contains(lines[1], "majority") || !strings.Contains(lines[1], "0.9") ||
		!strings.Contains(lines[1], "1.5s") || lines[2] != "1 runs" {
		t.Fatalf("table:\n%s", out)
	}

	code, out, _ = runDawn(t, "runs", "list", "--tracking-uri", url, "--order-by", "metrics.accuracy ASC", "--json")
	json.Unmarshal([]byte(out), &got)
	if code != 0 || len(got.Runs) != 3 || got.Runs[0].Info.RunName != "b1" {
		t.Fatalf("order by accuracy: %d %s", code, out)
	}

	// Errors: bad filter → exit 1 with {"error"} on stdout; usage → 2.
	code, out, _ = runDawn(t, "runs", "list", "--tracking-uri", url, "--filter", "metrics.accuracy >>> 1", "--json")
	var e struct{ Error string }
	if code != 1 || json.Unmarshal([]byte(out), &e) != nil || e.Error == "" {
		t.Fatalf("bad filter: %d %q", code, out)
	}
	if code, _, _ := runDawn(t, "runs", "list", "--tracking-uri", url, "--columns", "foo"); code != 2 {
		t.Fatalf("bad --columns: exit %d, want 2", code)
	}
	if code, _, errs := runDawn(t, "runs", "list", "--tracking-uri", ""); code != 2 || !strings.Contains(errs, "--tracking-uri") {
		t.Fatalf("no server: exit %d %q", code, errs)
	}
	if code, _, errs := runDawn(t, "runs", "list", "--help"); code != 0 || !strings.Contains(errs, "Example:") {
		t.Fatalf("help: %d %q", code, errs)
	}
}

func TestRunsShowCompare(t *testing.T) {
	c, url, _ := trackingServer(t)
	ids := seedRuns(t, c, url)
	code, out, errs := runDawn(t, "runs", "show", ids["a1"], "--tracking-uri", url)
	if code != 0 || !strings.Contains(out, "run "+ids["a1"]+" (a1)") || !strings.Contains(out, "method  snorkel") ||
		!strings.Contains(out, "accuracy  0.8") {
		t.Fatalf("show: %d %s %s", code, out, errs)
	}
	code, out, _ = runDawn(t, "runs", "show", "nope", "--tracking-uri", url, "--json")
	if code != 1 || !strings.Contains(out, `"error"`) || !strings.Contains(out, "nope") {
		t.Fatalf("show missing run: %d %s", code, out)
	}

	code, out, errs = runDawn(t, "runs", "compare", ids["a1"], ids["a2"], "--tracking-uri", url, "--json")
	if code != 0 {
		t.Fatalf("compare: %d %s", code, errs)
	}
	var cmp struct{ Rows []compareRow }
	json.Unmarshal([]byte(out), &cmp)
	got := map[string]compareRow{}
	for _, r := range cmp.Rows {
		got[r.Kind+"."+r.Key] = r
	}
	if len(got) != 3 || !got["params.method"].Differs || got["params.epochs"].Differs || !got["metrics.accuracy"].Differs ||
		strings.Join(got["params.method"].Values, ",") != "snorkel,majority" {
		t.Fatalf("compare rows %+v", cmp.Rows)
	}
	code, out, _ = runDawn(t, "runs", "compare", ids["a1"], ids["a2"], "--diff-only", "--tracking-uri", url)
	if code != 0 || strings.Contains(out, "epochs") || !strings.Contains(out, "*  params.method") {
		t.Fatalf("compare --diff-only: %d\n%s", code, out)
	}
	if code, _, _ := runDawn(t, "runs", "compare", ids["a1"], "--tracking-uri", url); code != 2 {
		t.Fatalf("compare one run: exit %d, want 2", code)
	}
}

func TestModelsBrowse(t *testing.T) {
	c, url, _ := trackingServer(t)
	ctx := t.Context()
	for range 3 {
		if _, err := c.CreateModelVersion(ctx, "spam", "mlflow-artifacts:/x/model", ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.CreateModelVersion(ctx, "ham", "mlflow-artifacts:/y/model", ""); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runDawn(t, "models", "alias", "set", "spam", "champion", "2", "--tracking-uri", url)
	if code != 0 || !strings.Contains(out, "spam@champion → version 2") {
		t.Fatalf("alias set: %d %s %s", code, out, errs)
	}
	// Moving the alias: the REST API sees the new version.
	if code, _, errs := runDawn(t, "models", "alias", "set", "spam", "champion", "3", "--tracking-uri", url, "--json"); code != 0 {
		t.Fatalf("alias move: %d %s", code, errs)
	}
	m, err := c.GetRegisteredModel(ctx, "spam")
	if err != nil || len(m.Aliases) != 1 || m.Aliases[0].Version != "3" {
		t.Fatalf("after move: %+v %v", m, err)
	}
	code, out, _ = runDawn(t, "models", "list", "--tracking-uri", url)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 4 || !strings.HasPrefix(lines[1], "ham") || !strings.HasPrefix(lines[2], "spam") ||
		!strings.Contains(lines[2], "champion→3") || lines[3] != "2 models" {
		t.Fatalf("list: %d\n%s", code, out)
	}
	code, out, _ = runDawn(t, "models", "versions", "spam", "--tracking-uri", url, "--json")
	var vs struct {
		ModelVersions []tracking.ModelVersion `json:"model_versions"`
	}
	json.Unmarshal([]byte(out), &vs)
	if code != 0 || len(vs.ModelVersions) != 3 || vs.ModelVersions[0].Version != "3" || len(vs.ModelVersions[0].Aliases) != 1 {
		t.Fatalf("versions: %d %s", code, out)
	}
	code, out, _ = runDawn(t, "models", "show", "spam", "--tracking-uri", url)
	if code != 0 || !strings.Contains(out, "model spam") || !strings.Contains(out, "aliases: champion→3") || strings.Count(out, "mlflow-artifacts:/x/model") != 3 {
		t.Fatalf("show: %d\n%s", code, out)
	}
	if code, _, errs := runDawn(t, "models", "alias", "delete", "spam", "champion", "--tracking-uri", url); code != 0 {
		t.Fatalf("alias delete: %d %s", code, errs)
	}
	if m, _ := c.GetRegisteredModel(ctx, "spam"); len(m.Aliases) != 0 {
		t.Fatalf("alias still there: %+v", m.Aliases)
	}
	code, out, _ = runDawn(t, "models", "show", "nope", "--tracking-uri", url, "--json")
	if code != 1 || !strings.Contains(out, `"error"`) {
		t.Fatalf("show missing: %d %s", code, out)
	}
	if code, _, _ := runDawn(t, "models", "alias", "set", "spam", "x", "--tracking-uri", url); code != 2 {
		t.Fatalf("alias set with two args: exit %d, want 2", code)
	}
}
