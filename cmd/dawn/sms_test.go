package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/internal/shareddata"
)

// TestSMSFlowDefaults is issue 16's acceptance run: a domain expert's SMS
// spam flow with default flags (examples/sms/run.sh): split the UCI SMS
// Spam Collection (13 % spam) into train/valid/test, label the training
// part with examples/sms/lfs.yaml, train an end model on the probabilistic
// labels, score it on the test part. With the class balance estimated from
// the votes the label model reaches ≥ 0.95 accuracy on the validation part
// and the end model ≥ 0.83 spam F1 on the test part; with Snorkel's uniform
// prior the label model falls to about 0.81 and dawn warns.
func TestSMSFlowDefaults(t *testing.T) {
	src := filepath.Join(shareddata.Require(t, "sms_spam_uci"), "SMSSpamCollection")
	lfs := "../../examples/sms/lfs.yaml"
	dir := t.TempDir()
	train, valid, test := filepath.Join(dir, "train.csv"), filepath.Join(dir, "valid.csv"), filepath.Join(dir, "test.csv")
	if code, _, errs := runDawn(t, "split", "--data", src, "--format", "tsv", "--stratify", "Label",
		"--train-out", train, "--valid-out", valid, "--test-out", test); code != 0 {
		t.Fatalf("split: %s", errs)
	}
	labels := filepath.Join(dir, "labels.csv")
	code, out, errs := runDawn(t, "label", "run", "--lfs", lfs, "--data", train, "--out", labels,
		"--valid", valid, "--gold", "Label", "--json")
	if code != 0 {
		t.Fatalf("label run: %s", errs)
	}
	var run struct {
		Eval         struct{ Accuracy, F1 float64 }
		ClassBalance []float64 `json:"class_balance"`
		Source       string    `json:"class_balance_source"`
		Warnings     []string
		Columns      struct {
			Probs        []string
			Label, Votes string
		}
	}
	if err := json.Unmarshal([]byte(out), &run); err != nil {
		t.Fatal(err)
	}
	t.Logf("label model: valid accuracy %.3f, F1 %.3f, class balance %.3f (%s)", run.Eval.Accuracy, run.Eval.F1, run.ClassBalance, run.Source)
	if run.Eval.Accuracy < 0.95 {
		t.Errorf("label model accuracy %.3f on the validation part, want ≥ 0.95", run.Eval.Accuracy)
	}
	if run.Source != "estimated from the votes (Dawid–Skene EM)" || len(run.ClassBalance) != 2 || run.ClassBalance[1] < 0.10 || run.ClassBalance[1] > 0.16 {
		t.Errorf("class balance %v (%s), want an estimate near the 13 %% spam of the data", run.ClassBalance, run.Source)
	}
	if len(run.Warnings) != 0 || strings.Contains(errs, "warning") {
		t.Errorf("warnings with an estimated prior: %q %s", run.Warnings, errs)
	}
	// The gold column `Label` survives; the model's label moves aside.
	if run.Columns.Label != "lm_label" || run.Columns.Votes != "votes" {
		t.Errorf("output columns %+v, want lm_label and votes", run.Columns)
	}
	f, err := os.Open(labels)
	if err != nil {
		t.Fatal(err)
	}
	head, err := csv.NewReader(f).Read()
	f.Close()
	if err != nil || strings.Join(head, ",") != "Label,SMS,prob_ham,prob_spam,lm_label,votes" {
		t.Fatalf("labels header %q (%v)", head, err)
	}

	model := filepath.Join(dir, "model")
	code, out, errs = runDawn(t, "train", "--data", labels, "--text", "SMS", "--prob-cols", "prob_ham,prob_spam", "--out", model, "--json")
	if code != 0 {
		t.Fatalf("train: %s", errs)
	}
	var rep struct {
		Rows    int
		Dropped int `json:"dropped_abstain"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Dropped == 0 || rep.Rows+rep.Dropped != 3902 {
		t.Errorf("train kept %d rows and dropped %d; want the rows no LF voted on dropped out of 3902", rep.Rows, rep.Dropped)
	}
	code, out, errs = runDawn(t, "eval", "--model", model, "--data", test, "--gold", "Label", "--json")
	if code != 0 {
		t.Fatalf("eval: %s", errs)
	}
	var ev struct{ Accuracy, F1 float64 }
	if err := json.Unmarshal([]byte(out), &ev); err != nil {
		t.Fatal(err)
	}
	t.Logf("end model: test accuracy %.3f, spam F1 %.3f", ev.Accuracy, ev.F1)
	// The issue asks for ≥ 0.83: 0.827 with the fixed word 1-2-gram
	// default, 0.848 since train chooses the featurization and L2 on a
	// held-out part of the training rows.
	if ev.F1 < 0.83 {
		t.Errorf("end model spam F1 %.3f on the test part, want ≥ 0.83", ev.F1)
	}

	// Snorkel's uniform prior: worse, and said so.
	code, out, errs = runDawn(t, "label", "run", "--lfs", lfs, "--data", train, "--out", labels,
		"--valid", valid, "--gold", "Label", "--class-balance", "uniform", "--json")
	if code != 0 {
		t.Fatalf("label run --class-balance uniform: %s", errs)
	}
	var uni struct {
		Eval     struct{ Accuracy float64 }
		Warnings []string
	}
	if err := json.Unmarshal([]byte(out), &uni); err != nil {
		t.Fatal(err)
	}
	t.Logf("uniform prior: valid accuracy %.3f", uni.Eval.Accuracy)
	if uni.Eval.Accuracy >= run.Eval.Accuracy || len(uni.Warnings) != 1 || !strings.Contains(errs, "votes suggest imbalanced classes") {
		t.Errorf("uniform prior: accuracy %.3f (estimated: %.3f), warnings %q, stderr %q", uni.Eval.Accuracy, run.Eval.Accuracy, uni.Warnings, errs)
	}
}
