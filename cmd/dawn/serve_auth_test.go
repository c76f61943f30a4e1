package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/artifact"
	"github.com/dawn-ml/dawn/tracking"
	"github.com/dawn-ml/dawn/tracking/auth"
	"github.com/dawn-ml/dawn/tracking/server"
)

// dawn serve models:/NAME/VERSION and models:/m-<id> against a tracking
// server started with auth: credentials come from
// MLFLOW_TRACKING_USERNAME/PASSWORD, and without them the command fails
// with the server's 401 instead of serving.
func TestServeRegistryModelWithAuth(t *testing.T) {
	dir := t.TempDir()
	store, err := server.OpenStore(t.Context(), filepath.Join(dir, "t.db"), tracking.ProxyScheme)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	users, err := auth.Open(t.Context(), filepath.Join(dir, "auth.db"), "admin", "adm-pw")
	if err != nil {
		t.Fatal(err)
	}
	defer users.Close()
	repo, _ := artifact.NewLocal(filepath.Join(dir, "artifacts"))
	ts := httptest.NewServer(server.Handler(store, repo, "t", nil, &auth.Guard{Users: users, Data: store, Default: auth.Read}))
	defer ts.Close()
	call := func(method, path string, body any) map[string]any {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, ts.URL+path, rd)
		req.SetBasicAuth("admin", "adm-pw")
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
		}
		out := map[string]any{}
		json.Unmarshal(raw, &out)
		return out
	}
	upload := func(modelDir, dest string) {
		t.Helper()
		filepath.WalkDir(modelDir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(modelDir, p)
			b, _ := os.ReadFile(p)
			req, _ := http.NewRequest("PUT", ts.URL+"/api/2.0/mlflow-artifacts/artifacts/"+dest+"/"+filepath.ToSlash(rel), bytes.NewReader(b))
			req.SetBasicAuth("admin", "adm-pw")
			res, err := http.DefaultClient.Do(req)
			if err != nil || res.StatusCode != 200 {
				t.Fatalf("upload %s: %v %v", rel, err, res)
			}
			res.Body.Close()
			return nil
		})
	}
	mdir := filepath.Join(dir, "lm")
	if code, _, errs := runDawn(t, "label", "run", "--lfs", "../../label/testdata/lfs.yaml", "--data", "../../label/testdata/comments.csv",
		"--out", filepath.Join(dir, "labels.csv"), "--method", "majority", "--model-out", mdir); code != 0 {
		t.Fatalf("label run: %s", errs)
	}
	upload(mdir, "models/spam-1")
	call("POST", "/api/2.0/mlflow/registered-models/create", map[string]any{"name": "spam"})
	call("POST", "/api/2.0/mlflow/model-versions/create", map[string]any{"name": "spam", "source": "mlflow-artifacts:/models/spam-1"})
	exp := call("POST", "/api/2.0/mlflow/experiments/create", map[string]any{"name": "e"})["experiment_id"].(string)
	lm := call("POST", "/api/2.0/mlflow/logged-models", map[string]any{"experiment_id": exp, "name": "model"})["model"].(map[string]any)["info"].(map[string]any)
	id := lm["model_id"].(string)
	upload(mdir, strings.TrimPrefix(lm["artifact_uri"].(string), "mlflow-artifacts:/"))

	t.Setenv("MLFLOW_TRACKING_USERNAME", "")
	t.Setenv("MLFLOW_TRACKING_PASSWORD", "")
	t.Setenv("MLFLOW_TRACKING_TOKEN", "")
	if code, _, errs := runDawn(t, "serve", "--model", "models:/spam/1", "--tracking-uri", ts.URL, "--model-cache", t.TempDir(), "--port", "0"); code != 1 || !strings.Contains(errs, "UNAUTHENTICATED") {
		t.Fatalf("without credentials: exit %d: %s; want 1 and UNAUTHENTICATED", code, errs)
	}
	t.Setenv("MLFLOW_TRACKING_USERNAME", "admin")
	t.Setenv("MLFLOW_TRACKING_PASSWORD", "adm-pw")
	for _, uri := range []string{"models:/spam/1", "models:/" + id} {
		t.Run(uri, func(t *testing.T) {
			url, stop := startServe(t, "--model", uri, "--tracking-uri", ts.URL, "--model-cache", t.TempDir())
			defer stop()
			res, err := http.Post(url+"/invocations", "application/json", strings.NewReader(`{"dataframe_records": [{"ID": 1, "AUTHOR": "bob", "CONTENT": "Check out my channel http://x.io", "LIKES": 3}, {"ID": 2, "AUTHOR": "amy", "CONTENT": "great song", "LIKES": 10}]}`))
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Predictions []any `json:"predictions"`
			}
			json.NewDecoder(res.Body).Decode(&got)
			res.Body.Close()
			if res.StatusCode != 200 || len(got.Predictions) != 2 {
				t.Fatalf("%s: status %d, %d predictions, want 200 and 2", uri, res.StatusCode, len(got.Predictions))
			}
		})
	}
}
