package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/fuse"
)

// writeSynth writes a generated fusion problem as claims, truth and
// source-feature CSV files.
func writeSynth(t *testing.T, dir string, s *fuse.Synth) (claims, truth, feats string) {
	t.Helper()
	c := s.Claims
	var cb, tb, fb strings.Builder
	cb.WriteString("item,worker,label\n")
	tb.WriteString("item,label\n")
	for o := range c.Objects {
		for j := c.Ptr[o]; j < c.Ptr[o+1]; j++ {
			fmt.Fprintf(&cb, "%s,%s,%s\n", c.Objects[o], c.Sources[c.Src[j]], c.Values[c.Val[j]])
		}
		fmt.Fprintf(&tb, "%s,%s\n", c.Objects[o], c.Values[s.Truth[o]])
	}
	fb.WriteString("worker,kind\n")
	for i, g := range s.Group {
		fmt.Fprintf(&fb, "%s,k%d\n", c.Sources[i], g)
	}
	claims, truth, feats = filepath.Join(dir, "claims.csv"), filepath.Join(dir, "gold.csv"), filepath.Join(dir, "workers.csv")
	for p, b := range map[string]string{claims: cb.String(), truth: tb.String(), feats: fb.String()} {
		if err := os.WriteFile(p, []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return claims, truth, feats
}

func TestFuseCommand(t *testing.T) {
	dir := t.TempDir()
	s := fuse.Synthesize(fuse.SynthConfig{Objects: 2000, Sources: 3000, Claims: 6000, K: 2, GroupAcc: []float64{0.45, 0.6, 0.8, 0.95}, Seed: 7})
	claims, gold, feats := writeSynth(t, dir, s)
	out := filepath.Join(dir, "truths.csv")
	srcOut := filepath.Join(dir, "sources.csv")
	acc := map[string]float64{}
	for _, m := range []string{"majority", "ds", "slimfast"} {
		args := []string{"fuse", "--data", claims, "--object", "item", "--source", "worker", "--value", "label",
			"--truth", gold, "--method", m, "--out", out, "--sources-out", srcOut, "--json"}
		if m == "slimfast" {
			args = append(args, "--source-features", feats)
		}
		code, stdout, stderr := runDawn(t, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", m, code, stderr)
		}
		var res struct {
			Accuracy float64 `json:"accuracy"`
			NObjects int     `json:"n_objects"`
			NEval    int     `json:"n_eval"`
			Method   string  `json:"method"`
			Sources  []struct {
				Source string `json:"source"`
				Rank   int    `json:"rank"`
			} `json:"sources_to_clean"`
		}
		if err := json.Unmarshal([]byte(stdout), &res); err != nil {
			t.Fatalf("%s: %v: %s", m, err, stdout)
		}
		if res.Method != m || res.NObjects != 2000 || res.NEval < 800 || res.NEval > 1200 || len(res.Sources) != 10 || res.Sources[0].Rank != 1 {
			t.Errorf("%s: %+v", m, res)
		}
		acc[m] = res.Accuracy
	}
	t.Logf("held-out accuracy: %v", acc)
	if acc["slimfast"] <= acc["ds"] {
		t.Errorf("slimfast %.3f does not beat ds %.3f on sparse sources", acc["slimfast"], acc["ds"])
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if first := strings.SplitN(string(b), "\n", 2)[0]; first != "item,value,confidence,prob_0,prob_1" {
		t.Errorf("truths header %q", first)
	}
	b, err = os.ReadFile(srcOut)
	if err != nil {
		t.Fatal(err)
	}
	if first := strings.SplitN(string(b), "\n", 2)[0]; first != "worker,rank,claims,accuracy,ci_low,ci_high,disagreements,changes_if_removed" {
		t.Errorf("sources header %q", first)
	}
	// The fitted model serves new claims.
	mdir := filepath.Join(dir, "model")
	if code, _, stderr := runDawn(t, "fuse", "--data", claims, "--object", "item", "--source", "worker", "--value", "label",
		"--model-out", mdir); code != 0 {
		t.Fatalf("model-out: %s", stderr)
	}
	pred := filepath.Join(dir, "pred.csv")
	if code, _, stderr := runDawn(t, "predict", "--model", mdir, "--data", claims, "--out", pred); code != 0 {
		t.Fatalf("predict with the fusion model: %s", stderr)
	}
}

func TestFuseCommandErrors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.csv")
	os.WriteFile(p, []byte("item,worker,label\n1,a,x\n"), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"fuse"}, 2, "--data is required"},
		{[]string{"fuse", "--data", p, "--object", "item", "--source", "who", "--value", "label"}, 1, `"who"`},
		{[]string{"fuse", "--data", p, "--object", "item", "--source", "worker", "--value", "label", "--method", "catd"}, 1, "numeric claims"},
		{[]string{"fuse", "--data", p, "--object", "item", "--source", "worker", "--value", "label", "--train-fraction", "1"}, 2, "--train-fraction"},
	} {
		code, _, stderr := runDawn(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}
