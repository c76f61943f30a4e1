package serve

import (
	"bytes"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dawn-ml/dawn/tracking/trackingtest"
)

// Against dawn's own tracking server (SQLite store, artifact proxy): model
// files uploaded through the proxy, versions and an alias created over the
// REST API, then resolved, downloaded, served, and followed when the alias
// moves.
func TestRegistryAgainstDawnTrackingServer(t *testing.T) {
	dir := t.TempDir()
	ts := trackingtest.Start(t)
	call := func(method, path, body string) {
		t.Helper()
		req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: HTTP %d", method, path, resp.StatusCode)
		}
	}
	for v, p := range map[string]float64{"a": 0.25, "b": 0.75} {
		for name, content := range map[string]string{"MLmodel": "fake\n", "weights/p": fmt.Sprint(p)} {
			req, _ := http.NewRequest("PUT", ts.URL+"/api/2.0/mlflow-artifacts/artifacts/models/"+v+"/"+name, bytes.NewReader([]byte(content)))
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("upload %s/%s: %v %v", v, name, err, resp)
			}
			resp.Body.Close()
		}
	}
	call("POST", "/api/2.0/mlflow/registered-models/create", `{"name": "spam"}`)
	call("POST", "/api/2.0/mlflow/model-versions/create", `{"name": "spam", "source": "mlflow-artifacts:/models/a"}`)
	call("POST", "/api/2.0/mlflow/model-versions/create", `{"name": "spam", "source": "mlflow-artifacts:/models/b"}`)
	call("POST", "/api/2.0/mlflow/registered-models/alias", `{"name": "spam", "alias": "prod", "version": "1"}`)

	reg := &Registry{TrackingURI: ts.URL, CacheDir: filepath.Join(dir, "cache")}
	m, v, err := reg.Open(t.Context(), ModelURI{Name: "spam", Version: "2"}, loadConst)
	if err != nil || v != "2" || m.(constModel).p != 0.75 {
		t.Fatalf("models:/spam/2: %v %v %v", m, v, err)
	}
	uri := ModelURI{Name: "spam", Alias: "prod"}
	m, v, err = reg.Open(t.Context(), uri, loadConst)
	if err != nil || v != "1" || m.(constModel).p != 0.25 {
		t.Fatalf("models:/spam@prod: %v %v %v", m, v, err)
	}
	s, err := New(m, v, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	go Follow(t.Context(), s, reg, uri, 10*time.Millisecond, loadConst, nil)
	call("POST", "/api/2.0/mlflow/registered-models/alias", `{"name": "spam", "alias": "prod", "version": "2"}`)
	for deadline := time.Now().Add(10 * time.Second); s.ModelVersion() != "2"; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still serving version %s after the alias moved", s.ModelVersion())
		}
	}
}
