package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeRatings writes ratings of 60 users on 80 items in 4 taste groups:
// users rate their own group's items high, a few others low.
func writeRatings(t *testing.T, dir string) string {
	t.Helper()
	r := rand.New(rand.NewPCG(3, 4))
	var b strings.Builder
	b.WriteString("uid,iid,stars,ts\n")
	for u := 0; u < 60; u++ {
		g := u % 4
		for i := 0; i < 80; i++ {
			own := i%4 == g
			if own && r.Float64() < 0.5 {
				fmt.Fprintf(&b, "user%d,item%d,%d,%d\n", u, i, 4+r.IntN(2), 1000+r.IntN(1000))
			} else if !own && r.Float64() < 0.05 {
				fmt.Fprintf(&b, "user%d,item%d,%d,%d\n", u, i, 1+r.IntN(2), 1000+r.IntN(1000))
			}
		}
	}
	p := filepath.Join(dir, "ratings.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRecommendCommands(t *testing.T) {
	dir := t.TempDir()
	data := writeRatings(t, dir)
	tr, te := filepath.Join(dir, "train.csv"), filepath.Join(dir, "test.csv")
	code, out, errOut := runDawn(t, "recommend", "split", "--data", data, "--user", "uid", "--item", "iid", "--time", "ts",
		"--seed", "2", "--train-out", tr, "--test-out", te, "--json")
	if code != 0 {
		t.Fatalf("split: %d %s %s", code, out, errOut)
	}
	var sp map[string]any
	json.Unmarshal([]byte(out), &sp)
	if sp["train_rows"].(float64) == 0 || sp["test_rows"].(float64) == 0 {
		t.Fatalf("split %v", sp)
	}
	if b, _ := os.ReadFile(tr); !strings.HasPrefix(string(b), "uid,iid,stars,ts\n") {
		t.Fatalf("train file header: %q", string(b[:30]))
	}
	// Implicit ALS, then the eval JSON shape.
	mdir := filepath.Join(dir, "als")
	if code, out, errOut := runDawn(t, "recommend", "train", "--data", tr, "--user", "uid", "--item", "iid", "--implicit", "--model", "als",
		"--factors", "8", "--out", mdir, "--json"); code != 0 {
		t.Fatalf("train: %d %s %s", code, out, errOut)
	}
	code, out, errOut = runDawn(t, "recommend", "eval", "--model", mdir, "--train", tr, "--test", te, "--k", "10", "--json", "--prequential", "50")
	if code != 0 {
		t.Fatalf("eval: %d %s %s", code, out, errOut)
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(out), &ev); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"precision@10", "recall@10", "ndcg@10", "map@10", "n_users", "prequential"} {
		if _, ok := ev[k]; !ok {
			t.Errorf("eval JSON lacks %q: %v", k, ev)
		}
	}
	if ev["n_users"].(float64) != 60 || ev["recall@10"].(float64) < 0.3 {
		t.Errorf("eval %v: want 60 users and recall@10 ≥ 0.3 on grouped tastes", ev)
	}
	// Explicit mf: RMSE in the JSON.
	mf := filepath.Join(dir, "mf")
	if code, _, errOut := runDawn(t, "recommend", "train", "--data", tr, "--user", "uid", "--item", "iid", "--rating", "stars", "--model", "mf", "--out", mf); code != 0 {
		t.Fatalf("train mf: %s", errOut)
	}
	_, out, _ = runDawn(t, "recommend", "eval", "--model", mf, "--test", te, "--json")
	ev = map[string]any{}
	json.Unmarshal([]byte(out), &ev)
	if r, ok := ev["rmse"].(float64); !ok || r > 1.5 {
		t.Errorf("explicit eval %v: want an rmse under 1.5", ev)
	}
	// predict: columns under the training names, then rank and score.
	users := filepath.Join(dir, "users.csv")
	os.WriteFile(users, []byte("uid\nuser1\nuser2\nnobody\n"), 0o644)
	recs := filepath.Join(dir, "recs.csv")
	if code, _, errOut := runDawn(t, "recommend", "predict", "--model", mdir, "--users", users, "--k", "3", "--out", recs); code != 0 {
		t.Fatalf("predict: %s", errOut)
	}
	b, _ := os.ReadFile(recs)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if lines[0] != "uid,iid,rank,score" || len(lines) != 10 || !strings.HasPrefix(lines[1], "user1,") || !strings.Contains(lines[1], ",1,") {
		t.Fatalf("predictions:\n%s", b)
	}
	// Tuning with a tiny budget.
	code, out, errOut = runDawn(t, "recommend", "train", "--data", tr, "--user", "uid", "--item", "iid", "--implicit", "--model", "auto",
		"--tune", "1ms", "--out", filepath.Join(dir, "best"), "--json")
	if code != 0 {
		t.Fatalf("tune: %s", errOut)
	}
	var rep map[string]any
	json.Unmarshal([]byte(out), &rep)
	if tu, ok := rep["tuning"].(map[string]any); !ok || len(tu["trials"].([]any)) < 6 {
		t.Errorf("tuning report %v: want every model's defaults tried", rep["tuning"])
	}
}

func TestRecommendErrors(t *testing.T) {
	dir := t.TempDir()
	data := writeRatings(t, dir)
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("uid,iid,stars\nu,i,five\n"), 0o644)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"train", "--data", data, "--user", "uid", "--item", "nope", "--out", dir + "/m"}, 1, `"nope"`},
		{[]string{"train", "--data", bad, "--user", "uid", "--item", "iid", "--rating", "stars", "--model", "mf", "--out", dir + "/m"}, 1, `row 1, column "stars": rating "five" is not a number`},
		{[]string{"train", "--data", data, "--user", "uid", "--item", "iid", "--model", "magic", "--out", dir + "/m"}, 2, "magic"},
		{[]string{"split", "--data", data, "--user", "uid", "--item", "iid", "--by", "time", "--train-out", "a.csv", "--test-out", "b.csv"}, 2, "--time"},
		{[]string{"eval", "--model", dir, "--test", data}, 1, "MLmodel"},
	}
	for _, c := range cases {
		code, out, errOut := runDawn(t, append([]string{"recommend"}, append(c.args, "--json")...)...)
		var e struct {
			Error string `json:"error"`
		}
		if code != c.code || json.Unmarshal([]byte(out), &e) != nil || !strings.Contains(e.Error, c.want) {
			t.Errorf("%v: exit %d (want %d), stdout %q, stderr %q; want a JSON error containing %s", c.args, code, c.code, out, errOut, c.want)
		}
	}
}

// TestRecommendTuneLogsTrials: with a tracking server, the training run
// records the kept model and every tuning trial is a child run with its
// validation NDCG@10.
func TestRecommendTuneLogsTrials(t *testing.T) {
	c, url, _ := trackingServer(t)
	dir := t.TempDir()
	data := writeRatings(t, dir)
	code, out, errOut := runDawn(t, "recommend", "train", "--data", data, "--user", "uid", "--item", "iid", "--implicit", "--model", "auto",
		"--tune", "1ms", "--out", filepath.Join(dir, "best"), "--tracking-uri", url, "--experiment", "recs", "--json")
	if code != 0 {
		t.Fatalf("train: %s %s", out, errOut)
	}
	var rep struct {
		RunID  string `json:"run_id"`
		Tuning struct {
			Trials []any `json:"trials"`
		} `json:"tuning"`
	}
	json.Unmarshal([]byte(out), &rep)
	exp, err := c.GetExperimentByName(t.Context(), "recs")
	if err != nil {
		t.Fatal(err)
	}
	runs, _, err := c.SearchRuns(t.Context(), []string{exp.ExperimentID}, "", nil, 1000, "")
	if err != nil {
		t.Fatal(err)
	}
	children := 0
	for _, r := range runs {
		parent := ""
		for _, tg := range r.Data.Tags {
			if tg.Key == "mlflow.parentRunId" {
				parent = tg.Value
			}
		}
		if parent != rep.RunID {
			continue
		}
		children++
		ok := false
		for _, m := range r.Data.Metrics {
			ok = ok || (m.Key == "valid_ndcg_at_10" && float64(m.Value) > 0)
		}
		if !ok || r.Info.Status != "FINISHED" {
			t.Errorf("trial run %s: metrics %+v, status %s", r.Info.RunID, r.Data.Metrics, r.Info.Status)
		}
	}
	if rep.RunID == "" || children != len(rep.Tuning.Trials) || children < 6 {
		t.Fatalf("run %q: %d child runs for %d trials", rep.RunID, children, len(rep.Tuning.Trials))
	}
}
