package tracking_test

import (
	"github.com/dawn-ml/dawn/tracking/trackingtest"

	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/dawn-ml/dawn/tracking"
)

func newServer(t *testing.T) (*tracking.Client, string) {
	s := trackingtest.Start(t)
	return s.Client, s.ArtifactRoot
}

func TestClientRunLifecycle(t *testing.T) {
	c, artifacts := newServer(t)
	ctx := t.Context()
	exp, err := c.SetExperiment(ctx, "train")
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.SetExperiment(ctx, "train")
	if err != nil || again != exp {
		t.Fatalf("SetExperiment again = %q, %v; want %q", again, err, exp)
	}
	run, err := c.CreateRun(ctx, exp, "r1", tracking.Tag{Key: "source", Value: "test"})
	if err != nil {
		t.Fatal(err)
	}
	id := run.Info.RunID
	if err := c.LogParam(ctx, id, "lr", "0.1"); err != nil {
		t.Fatal(err)
	}
	err = c.LogParam(ctx, id, "lr", "0.2")
	var he *tracking.Error
	if !errors.As(err, &he) || he.Code != tracking.CodeInvalidParameterValue || he.Status != 400 {
		t.Fatalf("changing a param: %v", err)
	}
	for i := range 3 {
		if err := c.LogMetric(ctx, id, "loss", 1/float64(i+1), int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	// 2500 metrics and 150 params need several requests within the limits.
	var ms []tracking.Metric
	for i := range 2500 {
		ms = append(ms, tracking.Metric{Key: "acc", Value: tracking.Float(float64(i)), Timestamp: 1, Step: tracking.Int64(i)})
	}
	var ps []tracking.Param
	for i := range 150 {
		ps = append(ps, tracking.Param{Key: "p" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Value: "v"})
	}
	if err := c.LogBatch(ctx, id, ms, ps, []tracking.Tag{{Key: "t", Value: "1"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.LogMetric(ctx, id, "nan", math.NaN(), 0); err != nil {
		t.Fatal(err)
	}
	hist, err := c.GetMetricHistory(ctx, id, "acc")
	if err != nil || len(hist) != 2500 || hist[2499].Value != 2499 {
		t.Fatalf("history: %d points, %v", len(hist), err)
	}
	if err := c.SetTerminated(ctx, id, tracking.StatusFinished); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Info.Status != tracking.StatusFinished || got.Info.EndTime == nil {
		t.Fatalf("info after SetTerminated: %+v", got.Info)
	}
	if len(got.Data.Params) != 151 || len(got.Data.Metrics) != 3 {
		t.Fatalf("params %d metrics %d", len(got.Data.Params), len(got.Data.Metrics))
	}
	for _, m := range got.Data.Metrics {
		if m.Key == "nan" && !math.IsNaN(float64(m.Value)) {
			t.Fatalf("NaN came back as %v", m.Value)
		}
	}
	runs, next, err := c.SearchRuns(ctx, []string{exp}, "metrics.acc > 100", []string{"metrics.acc DESC"}, 10, "")
	if err != nil || len(runs) != 1 || next != "" {
		t.Fatalf("search: %d runs, %q, %v", len(runs), next, err)
	}

	// Artifacts: a directory and a single file.
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "model", "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "model", "MLmodel"), []byte("flavors: {}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "model", "sub", "w.bin"), []byte("weights"), 0o644)
	if err := c.LogArtifact(ctx, id, filepath.Join(dir, "model"), "model"); err != nil {
		t.Fatal(err)
	}
	if err := c.LogArtifact(ctx, id, filepath.Join(dir, "model", "MLmodel"), ""); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"model/MLmodel", "model/sub/w.bin", "MLmodel"} {
		if _, err := os.Stat(filepath.Join(artifacts, exp, id, "artifacts", p)); err != nil {
			t.Errorf("artifact %s: %v", p, err)
		}
	}

	v, err := c.CreateModelVersion(ctx, "clf", run.Info.ArtifactURI+"/model", id)
	if err != nil || v.Number() != 1 {
		t.Fatalf("model version: %+v, %v", v, err)
	}
	v, err = c.CreateModelVersion(ctx, "clf", run.Info.ArtifactURI+"/model", id)
	if err != nil || v.Number() != 2 {
		t.Fatalf("second model version: %+v, %v", v, err)
	}
}

func TestClientBadURI(t *testing.T) {
	for _, u := range []string{"", "ftp://x", "localhost:5000", "http://"} {
		if _, err := tracking.NewClient(u); err == nil {
			t.Errorf("NewClient(%q) succeeded", u)
		}
	}
}
