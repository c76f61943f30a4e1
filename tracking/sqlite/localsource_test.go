package sqlite_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/dawn-ml/dawn/tracking"
	"github.com/dawn-ml/dawn/tracking/sqlite"
	"github.com/dawn-ml/dawn/tracking/sqlstore"
)

// With local artifact locations (--default-artifact-root file:///...), a
// version registered from a logged model may use a local source only
// inside that model's artifact directory, as MLflow's server checks.
func TestLocalSourceInsideLoggedModel(t *testing.T) {
	root := "file://" + filepath.Join(t.TempDir(), "mlruns")
	store, err := sqlite.Open(t.Context(), "sqlite:///"+filepath.Join(t.TempDir(), "t.db"), sqlstore.Options{ArtifactRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	srv := httptest.NewServer(tracking.NewHandler(tracking.Options{Store: store}))
	defer srv.Close()
	post := func(path string, body map[string]any) (int, map[string]any) {
		b, _ := json.Marshal(body)
		res, err := http.Post(srv.URL+"/api/2.0/mlflow/"+path, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		out := map[string]any{}
		json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}
	_, e := post("experiments/create", map[string]any{"name": "e"})
	_, m := post("logged-models", map[string]any{"experiment_id": e["experiment_id"]})
	info := m["model"].(map[string]any)["info"].(map[string]any)
	loc, id := info["artifact_uri"].(string), info["model_id"].(string)
	post("registered-models/create", map[string]any{"name": "r"})
	for _, tc := range []struct {
		source string
		want   int
	}{
		{loc, 200},
		{loc + "/MLmodel", 200},
		{"/etc", 400},
		{root, 400},
	} {
		if code, out := post("model-versions/create", map[string]any{"name": "r", "source": tc.source, "model_id": id}); code != tc.want {
			t.Errorf("source %s with model_id: %d %v, want %d", tc.source, code, out, tc.want)
		}
	}
}
