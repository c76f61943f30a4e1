package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/artifact/resolve"
	"github.com/dawn-ml/dawn/artifact/s3"
	"github.com/dawn-ml/dawn/artifact/s3/s3test"
	"github.com/dawn-ml/dawn/model"
	"github.com/dawn-ml/dawn/tracking/trackingtest"
)

// postJSON calls the tracking server's REST API and decodes the answer.
func postJSON(t *testing.T, ts *trackingtest.Server, endpoint string, body, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(ts.URL+"/api/2.0/mlflow/"+endpoint, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST %s: HTTP %d", endpoint, resp.StatusCode)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}

// constModelDir writes a model directory for loadConst answering p(spam) = p.
func constModelDir(t *testing.T, p float64) string {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "weights"), 0o755)
	os.WriteFile(filepath.Join(dir, model.FileName), []byte("fake\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "weights", "p"), []byte(fmt.Sprint(p)), 0o644)
	return dir
}

// runs:/RUN_ID/PATH against dawn's tracking server: resolved with runs/get
// to the run's mlflow-artifacts: URI and downloaded through the proxy.
func TestServeRegistryRunsURI(t *testing.T) {
	ts := trackingtest.Start(t)
	ctx := t.Context()
	exp, err := ts.Client.CreateExperiment(ctx, "fetch")
	if err != nil {
		t.Fatal(err)
	}
	run, err := ts.Client.CreateRun(ctx, exp, "train")
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.Client.LogArtifact(ctx, run.Info.RunID, constModelDir(t, 0.375), "model"); err != nil {
		t.Fatal(err)
	}
	reg := &Registry{TrackingURI: ts.URL, CacheDir: t.TempDir()}
	dir, err := reg.Fetch(ctx, "spam", "1", "runs:/"+run.Info.RunID+"/model")
	if err != nil {
		t.Fatal(err)
	}
	if m, err := loadConst(dir); err != nil || m.(constModel).p != 0.375 {
		t.Fatalf("runs:/ model: %v %v", m, err)
	}
	if _, err := os.Stat(filepath.Join(reg.CacheDir, "spam", "1", model.FileName)); err != nil {
		t.Errorf("not in the cache: %v", err)
	}

	// A registered version whose source is the runs:/ URI (dawn server's
	// get-download-uri answers it as it is).
	if _, err := ts.Client.CreateModelVersion(ctx, "spam", "runs:/"+run.Info.RunID+"/model", run.Info.RunID); err != nil {
		t.Fatal(err)
	}
	reg2 := &Registry{TrackingURI: ts.URL, CacheDir: t.TempDir()}
	m, v, err := reg2.Open(ctx, ModelURI{Name: "spam", Version: "1"}, loadConst)
	if err != nil || v != "1" || m.(constModel).p != 0.375 {
		t.Fatalf("models:/spam/1: %v %v %v", m, v, err)
	}

	for _, c := range []struct{ uri, want string }{
		{"runs:/0123456789abcdef0123456789abcdef/model", "RESOURCE_DOES_NOT_EXIST"},
		{"runs:/" + run.Info.RunID + "/../other", "invalid path"},
		{"runs:/" + run.Info.RunID + "/missing", "no artifacts"},
		{"runs:/", "want runs:/RUN_ID/PATH"},
		{"gs://bucket/model", "unsupported artifact URI scheme"},
	} {
		_, err := reg.Fetch(ctx, "x", "1", c.uri)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.uri) {
			t.Errorf("%s: %v; want an error naming the URI and %q", c.uri, err, c.want)
		}
	}
}

// putTree uploads a local directory's files under repo.
func putTree(t *testing.T, repo *s3.Repo, dir, prefix string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return repo.Put(t.Context(), prefix+filepath.ToSlash(rel), f)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// s3:// model versions and runs:/ URIs of runs whose artifacts live in S3,
// against dawn's tracking server and versitygw.
func TestServeRegistryS3(t *testing.T) {
	endpoint := s3test.Start(t)
	s3test.CreateBucket(t, endpoint, "models")
	ts := trackingtest.Start(t)
	ctx := t.Context()
	so := s3test.Options(endpoint)

	// A version registered straight from s3://.
	repo, err := s3.Open(ctx, "s3://models/spam/3", so)
	if err != nil {
		t.Fatal(err)
	}
	putTree(t, repo, constModelDir(t, 0.625), "")
	if _, err := ts.Client.CreateModelVersion(ctx, "spam", "s3://models/spam/3", ""); err != nil {
		t.Fatal(err)
	}
	reg := &Registry{TrackingURI: ts.URL, CacheDir: t.TempDir(), S3: so}
	m, v, err := reg.Open(ctx, ModelURI{Name: "spam", Version: "1"}, loadConst)
	if err != nil || v != "1" || m.(constModel).p != 0.625 {
		t.Fatalf("s3:// version: %v %v %v", m, v, err)
	}
	if _, err := os.Stat(filepath.Join(reg.CacheDir, "spam", "1", "weights", "p")); err != nil {
		t.Errorf("nested object not downloaded: %v", err)
	}

	// runs:/ of a run in an experiment whose artifacts live in S3.
	var exp struct {
		ID string `json:"experiment_id"`
	}
	postJSON(t, ts, "experiments/create", map[string]any{"name": "s3exp", "artifact_location": "s3://models/exp"}, &exp)
	run, err := ts.Client.CreateRun(ctx, exp.ID, "train")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(run.Info.ArtifactURI, "s3://models/exp/") {
		t.Fatalf("run artifact URI %s", run.Info.ArtifactURI)
	}
	runRepo, err := s3.Open(ctx, run.Info.ArtifactURI, so)
	if err != nil {
		t.Fatal(err)
	}
	putTree(t, runRepo, constModelDir(t, 0.125), "model/")
	dir, err := reg.Fetch(ctx, "spam-run", "1", "runs:/"+run.Info.RunID+"/model")
	if err != nil {
		t.Fatal(err)
	}
	if m, err := loadConst(dir); err != nil || m.(constModel).p != 0.125 {
		t.Fatalf("runs:/ in S3: %v %v", m, err)
	}

	if _, err := reg.Fetch(ctx, "x", "1", "s3://models/nothing-here"); err == nil || !strings.Contains(err.Error(), "no artifacts") {
		t.Errorf("empty prefix: %v", err)
	}
	if _, err := reg.Fetch(ctx, "x", "2", "s3://no-such-bucket/m"); err == nil || !strings.Contains(err.Error(), "s3://no-such-bucket/m") {
		t.Errorf("missing bucket: %v", err)
	}
}

// MLflow 3 keeps a model logged in a run under a logged model: runs:/RUN/NAME
// (no run artifacts at NAME) and models:/m-<id> both reach its files.
func TestServeRegistryLoggedModel(t *testing.T) {
	ts := trackingtest.Start(t)
	ctx := t.Context()
	exp, err := ts.Client.CreateExperiment(ctx, "logged")
	if err != nil {
		t.Fatal(err)
	}
	run, err := ts.Client.CreateRun(ctx, exp, "train")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ts.Client.LogLoggedModel(ctx, run, "model", constModelDir(t, 0.625), 0)
	if err != nil {
		t.Fatal(err)
	}
	if m.Info.Status != "LOGGED_MODEL_READY" {
		t.Fatalf("status %s after LogLoggedModel", m.Info.Status)
	}
	reg := &Registry{TrackingURI: ts.URL, CacheDir: t.TempDir()}
	dir, err := reg.Fetch(ctx, "spam", "1", "runs:/"+run.Info.RunID+"/model")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := loadConst(dir); err != nil || got.(constModel).p != 0.625 {
		t.Fatalf("runs:/ to a logged model: %v %v", got, err)
	}
	u, ok, err := resolve.ParseModelURI("models:/" + m.Info.ModelID)
	if !ok || err != nil || !u.Logged {
		t.Fatalf("ParseModelURI(models:/%s) = %+v %v %v", m.Info.ModelID, u, ok, err)
	}
	got, v, err := reg.Open(ctx, u, loadConst)
	if err != nil || v != m.Info.ModelID || got.(constModel).p != 0.625 {
		t.Fatalf("models:/m-<id>: %v %q %v", got, v, err)
	}
	if _, err := reg.Fetch(ctx, "spam", "2", "runs:/"+run.Info.RunID+"/other"); err == nil || !strings.Contains(err.Error(), "no artifacts") {
		t.Fatalf("runs:/ with neither artifacts nor a logged model: %v", err)
	}
}
