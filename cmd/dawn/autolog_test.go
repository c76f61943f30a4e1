package main

import (
	"github.com/dawn-ml/dawn/tracking/trackingtest"

	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/model"
	"github.com/dawn-ml/dawn/tracking"
)

func trackingServer(t *testing.T) (*tracking.Client, string, string) {
	s := trackingtest.Start(t)
	return s.Client, s.URL, s.ArtifactRoot
}

func TestLabelRunAutologAndRegister(t *testing.T) {
	c, url, root := trackingServer(t)
	dir := t.TempDir()
	lfs := "../../label/testdata/lfs.yaml"
	data := "../../label/testdata/comments.csv"
	code, out, errs := runDawn(t, "label", "run", "--lfs", lfs, "--data", data, "--out", filepath.Join(dir, "labels.csv"),
		"--method", "majority", "--tracking-uri", url, "--experiment", "spam", "--run-name", "first", "--json")
	if code != 0 {
		t.Fatalf("label run: exit %d: %s", code, errs)
	}
	var res struct {
		RunID string `json:"run_id"`
	}
	json.Unmarshal([]byte(out), &res)
	run, err := c.GetRun(t.Context(), res.RunID)
	if err != nil {
		t.Fatalf("run %q: %v", res.RunID, err)
	}
	if run.Info.Status != "FINISHED" || run.Info.RunName != "first" {
		t.Fatalf("run info %+v", run.Info)
	}
	params := map[string]string{}
	for _, p := range run.Data.Params {
		params[p.Key] = p.Value
	}
	if params["method"] != "majority" || len(params["train_digest"]) != 16 {
		t.Fatalf("params %v", params)
	}
	for _, k := range []string{"epochs", "lr", "optimizer", "class_balance"} {
		if v, ok := params[k]; ok {
			t.Errorf("majority vote logged %s=%s, a setting it does not have", k, v)
		}
	}
	metrics := map[string]float64{}
	for _, m := range run.Data.Metrics {
		metrics[m.Key] = float64(m.Value)
	}
	// 5 of the 6 fixture rows get a vote (row 4 gets none).
	if metrics["rows"] != 6 || metrics["train_coverage"] != 5.0/6 || metrics["lf.kw_my.coverage"] != 0.5 {
		t.Fatalf("metrics %v", metrics)
	}
	if len(run.Inputs.DatasetInputs) != 2 {
		t.Fatalf("dataset inputs %+v", run.Inputs)
	}
	// The run's artifacts hold the servable model directory.
	found := false
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "MLmodel" && filepath.Base(filepath.Dir(p)) == "model" {
			found = true
		}
		return nil
	})
	if !found {
		t.Fatalf("no model/MLmodel among the run's artifacts under %s", root)
	}
	// A sample of the data is logged for the console's labeling workbench:
	// the fixture's 6 rows (under --log-sample's default of 1000).
	var sample string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "sample.csv" && strings.Contains(p, res.RunID) {
			sample = p
		}
		return nil
	})
	if b, err := os.ReadFile(sample); err != nil || strings.Count(string(b), "\n") != 7 || !strings.HasPrefix(string(b), "ID,AUTHOR,CONTENT,LIKES") {
		t.Fatalf("sample.csv of run %s: %q %v", res.RunID, b, err)
	}
	checkLoggedModel(t, c, run, "rows")

	mdir := filepath.Join(dir, "lm")
	if code, _, errs := runDawn(t, "label", "run", "--lfs", lfs, "--data", data, "--out", filepath.Join(dir, "l2.csv"), "--method", "majority", "--model-out", mdir); code != 0 {
		t.Fatal(errs)
	}
	for want := 1; want <= 2; want++ {
		code, out, errs := runDawn(t, "models", "register", "--model", mdir, "--name", "spam-labeler", "--tracking-uri", url, "--json")
		if code != 0 {
			t.Fatalf("register: exit %d: %s", code, errs)
		}
		var mv struct{ Version, Source, RunID string }
		json.Unmarshal([]byte(out), &mv)
		if mv.Version != []string{"", "1", "2"}[want] || mv.Source == "" {
			t.Fatalf("register %d: %s", want, out)
		}
	}
	// A model directory from a logged run registers from that run.
	ldir := filepath.Join(dir, "lm-logged")
	code, out, errs = runDawn(t, "label", "run", "--lfs", lfs, "--data", data, "--out", filepath.Join(dir, "l3.csv"), "--method", "majority",
		"--model-out", ldir, "--tracking-uri", url, "--json")
	if code != 0 {
		t.Fatal(errs)
	}
	var lr struct {
		RunID string `json:"run_id"`
	}
	json.Unmarshal([]byte(out), &lr)
	code, out, errs = runDawn(t, "models", "register", "--model", ldir, "--name", "spam-labeler", "--tracking-uri", url, "--json")
	if code != 0 {
		t.Fatalf("register: %s", errs)
	}
	var mv struct {
		RunID string `json:"run_id"`
	}
	json.Unmarshal([]byte(out), &mv)
	if lr.RunID == "" || mv.RunID != lr.RunID {
		t.Errorf("registered from run %q, want the label run %q", mv.RunID, lr.RunID)
	}
	code, _, errs = runDawn(t, "models", "register", "--model", dir, "--name", "x", "--tracking-uri", url)
	if code != 1 || errs == "" {
		t.Fatalf("registering a directory without MLmodel: exit %d %s", code, errs)
	}
}

func TestTrainAutolog(t *testing.T) {
	c, url, _ := trackingServer(t)
	dir := t.TempDir()
	labels := filepath.Join(dir, "labels.csv")
	if code, _, errs := runDawn(t, "label", "run", "--lfs", "../../label/testdata/lfs.yaml", "--data", "../../label/testdata/comments.csv",
		"--out", labels, "--method", "majority"); code != 0 {
		t.Fatal(errs)
	}
	mdir := filepath.Join(dir, "m")
	code, out, errs := runDawn(t, "train", "--data", labels, "--text", "CONTENT", "--prob-cols", "prob_ham,prob_spam",
		"--keep-abstain", "--epochs", "3", "--workers", "1", "--out", mdir, "--tracking-uri", url, "--experiment", "train", "--json")
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, errs)
	}
	var rep struct {
		RunID string `json:"run_id"`
	}
	json.Unmarshal([]byte(out), &rep)
	desc, err := model.Read(mdir)
	if err != nil {
		t.Fatal(err)
	}
	run, err := c.GetRun(t.Context(), desc.RunID)
	if err != nil {
		t.Fatalf("the MLmodel's run_id %q is not a logged run: %v", desc.RunID, err)
	}
	params := map[string]string{}
	for _, p := range run.Data.Params {
		params[p.Key] = p.Value
	}
	if params["model"] != "logreg" || params["prob_cols"] != "prob_ham,prob_spam" || params["train_digest"] == "" {
		t.Fatalf("params %v", params)
	}
	if rep.RunID != desc.RunID {
		t.Errorf("train --json run_id %q, MLmodel's %q", rep.RunID, desc.RunID)
	}
	// The values used, defaults resolved; none that does not apply.
	if params["epochs"] != "3" || params["lr"] != "0.1" || params["threads"] != "1" || params["schedule"] != "inverse" {
		t.Errorf("logged hyperparameters %v, want epochs 3, lr 0.1 (the default used), threads 1", params)
	}
	if _, ok := params["hidden"]; ok {
		t.Errorf("a logistic regression logged hidden=%s", params["hidden"])
	}
	hist, err := c.GetMetricHistory(t.Context(), run.Info.RunID, "epoch_train_loss")
	if err != nil || len(hist) != 3 {
		t.Fatalf("epoch history %v, %v; want 3 points", hist, err)
	}
	if run.Info.Status != "FINISHED" {
		t.Fatalf("status %s", run.Info.Status)
	}
	// dawn eval logs its scores to the model's run, one step per evaluation.
	for step := 0; step < 2; step++ {
		code, out, errs = runDawn(t, "eval", "--model", mdir, "--data", labels, "--gold", "label", "--tracking-uri", url, "--json")
		if code != 0 {
			t.Fatalf("eval: %s", errs)
		}
		var ev struct {
			Accuracy float64
			RunID    string `json:"run_id"`
		}
		json.Unmarshal([]byte(out), &ev)
		if ev.RunID != desc.RunID {
			t.Fatalf("eval logged to %q, want the model's run %q", ev.RunID, desc.RunID)
		}
		h, err := c.GetMetricHistory(t.Context(), desc.RunID, "eval_accuracy")
		if err != nil || len(h) != step+1 || float64(h[step].Value) != ev.Accuracy || int64(h[step].Step) != int64(step) {
			t.Fatalf("eval_accuracy history %+v (%v), want %d points, the last %v at step %d", h, err, step+1, ev.Accuracy, step)
		}
	}
	checkLoggedModel(t, c, run, "rows")
}

// checkLoggedModel: the run produced an MLflow 3 logged model named
// "model", READY, recorded as the run's output, with metric linked to it
// and an MLmodel among its files.
func checkLoggedModel(t *testing.T, c *tracking.Client, run *tracking.Run, metric string) {
	t.Helper()
	lm, err := c.FindLoggedModel(t.Context(), run.Info.ExperimentID, run.Info.RunID, "model")
	if err != nil || lm == nil {
		t.Fatalf("no logged model named model for run %s: %v", run.Info.RunID, err)
	}
	if lm.Info.Status != tracking.LoggedModelReady || lm.Info.SourceRunID != run.Info.RunID {
		t.Fatalf("logged model %+v", lm.Info)
	}
	linked := false
	for _, m := range lm.Data.Metrics {
		linked = linked || (m.Key == metric && m.RunID == run.Info.RunID)
	}
	if !linked {
		t.Fatalf("metric %s not linked to the logged model: %+v", metric, lm.Data.Metrics)
	}
	again, err := c.GetRun(t.Context(), run.Info.RunID)
	if err != nil || again.Outputs == nil || len(again.Outputs.ModelOutputs) != 1 || again.Outputs.ModelOutputs[0].ModelID != lm.Info.ModelID {
		t.Fatalf("run outputs %+v (%v), want the logged model %s", again.Outputs, err, lm.Info.ModelID)
	}
	files, err := c.ListProxyArtifacts(t.Context(), strings.TrimPrefix(lm.Info.ArtifactURI, tracking.ProxyScheme+"/"))
	if err != nil {
		t.Fatal(err)
	}
	hasMLmodel := false
	for _, f := range files {
		hasMLmodel = hasMLmodel || strings.HasSuffix(f.Path, "MLmodel")
	}
	if !hasMLmodel {
		t.Fatalf("logged model files %+v lack MLmodel", files)
	}
}
