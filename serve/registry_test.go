package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/dawn-ml/dawn/model"
)

// fakeMLflow serves the registry endpoints and the artifact proxy over a
// directory: version v of model "spam" lives under root/models/spam/v.
type fakeMLflow struct {
	root  string
	alias atomic.Value // string: the version "prod" points at
	calls atomic.Int64
}

func (f *fakeMLflow) handler() http.Handler {
	mux := http.NewServeMux()
	writeErr := func(w http.ResponseWriter, status int, code, msg string) {
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"error_code": code, "message": msg})
	}
	version := func(w http.ResponseWriter, name, v string) {
		if name != "spam" {
			writeErr(w, 404, "RESOURCE_DOES_NOT_EXIST", "Registered Model with name="+name+" not found")
			return
		}
		if _, err := os.Stat(filepath.Join(f.root, "models", name, v)); err != nil {
			writeErr(w, 404, "RESOURCE_DOES_NOT_EXIST", "Model Version (name="+name+", version="+v+") not found")
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"model_version": map[string]string{
			"name": name, "version": v, "source": "mlflow-artifacts:/models/" + name + "/" + v, "status": "READY"}})
	}
	mux.HandleFunc("GET /api/2.0/mlflow/registered-models/alias", func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		if r.URL.Query().Get("alias") != "prod" {
			writeErr(w, 404, "RESOURCE_DOES_NOT_EXIST", "alias not found")
			return
		}
		version(w, r.URL.Query().Get("name"), f.alias.Load().(string))
	})
	mux.HandleFunc("GET /api/2.0/mlflow/model-versions/get", func(w http.ResponseWriter, r *http.Request) {
		version(w, r.URL.Query().Get("name"), r.URL.Query().Get("version"))
	})
	mux.HandleFunc("GET /api/2.0/mlflow/model-versions/get-download-uri", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"artifact_uri": "mlflow-artifacts:/models/" + r.URL.Query().Get("name") + "/" + r.URL.Query().Get("version")})
	})
	mux.HandleFunc("GET /api/2.0/mlflow-artifacts/artifacts", func(w http.ResponseWriter, r *http.Request) {
		ents, err := os.ReadDir(filepath.Join(f.root, r.URL.Query().Get("path")))
		if err != nil {
			writeErr(w, 404, "RESOURCE_DOES_NOT_EXIST", err.Error())
			return
		}
		var files []map[string]any
		for _, e := range ents {
			files = append(files, map[string]any{"path": e.Name(), "is_dir": e.IsDir()})
		}
		json.NewEncoder(w).Encode(map[string]any{"files": files})
	})
	mux.HandleFunc("GET /api/2.0/mlflow-artifacts/artifacts/{path...}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(f.root, r.PathValue("path")))
	})
	return mux
}

// addVersion writes a fake model directory whose weights file holds the
// probability of spam it answers.
func (f *fakeMLflow) addVersion(t *testing.T, v string, pSpam float64) {
	dir := filepath.Join(f.root, "models", "spam", v)
	os.MkdirAll(filepath.Join(dir, "weights"), 0o755)
	os.WriteFile(filepath.Join(dir, model.FileName), []byte("fake\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "weights", "p"), []byte(fmt.Sprint(pSpam)), 0o644)
}

// constModel answers p(spam) = p for every row.
type constModel struct{ p float64 }

func (m constModel) Info() *model.Info {
	return (&spamModel{}).Info()
}

func (m constModel) Predict(ctx context.Context, rec arrow.RecordBatch) (*model.Prediction, error) {
	n := int(rec.NumRows())
	out := &model.Prediction{Classes: []string{"ham", "spam"}, Probs: make([]float64, 2*n), Labels: make([]int, n)}
	for i := 0; i < n; i++ {
		out.Probs[2*i], out.Probs[2*i+1] = 1-m.p, m.p
		if m.p >= 0.5 {
			out.Labels[i] = 1
		}
	}
	return out, nil
}

func loadConst(dir string) (model.Model, error) {
	b, err := os.ReadFile(filepath.Join(dir, "weights", "p"))
	if err != nil {
		return nil, err
	}
	var p float64
	if _, err := fmt.Sscan(string(b), &p); err != nil {
		return nil, err
	}
	return constModel{p}, nil
}

func TestRegistryOpenByVersionAndAlias(t *testing.T) {
	f := &fakeMLflow{root: t.TempDir()}
	f.addVersion(t, "1", 0.25)
	f.addVersion(t, "2", 0.75)
	f.alias.Store("2")
	hs := httptest.NewServer(f.handler())
	defer hs.Close()
	reg := &Registry{TrackingURI: hs.URL, CacheDir: t.TempDir()}
	m, v, err := reg.Open(t.Context(), ModelURI{Name: "spam", Version: "1"}, loadConst)
	if err != nil || v != "1" || m.(constModel).p != 0.25 {
		t.Fatalf("version 1: %v %v %v", m, v, err)
	}
	m, v, err = reg.Open(t.Context(), ModelURI{Name: "spam", Alias: "prod"}, loadConst)
	if err != nil || v != "2" || m.(constModel).p != 0.75 {
		t.Fatalf("alias: %v %v %v", m, v, err)
	}
	if _, err := os.Stat(filepath.Join(reg.CacheDir, "spam", "2", "weights", "p")); err != nil {
		t.Errorf("nested file not downloaded: %v", err)
	}
	_, _, err = reg.Open(t.Context(), ModelURI{Name: "spam", Version: "9"}, loadConst)
	if err == nil || !strings.Contains(err.Error(), "RESOURCE_DOES_NOT_EXIST") || !strings.Contains(err.Error(), "models:/spam/9") {
		t.Errorf("missing version: %v", err)
	}
	_, _, err = reg.Open(t.Context(), ModelURI{Name: "spam", Alias: "canary"}, loadConst)
	if err == nil || !strings.Contains(err.Error(), "models:/spam@canary") {
		t.Errorf("missing alias: %v", err)
	}
}

// A client storm while the alias moves 1 → 2 → 3 → 2: every request is
// answered with 200 by one of the versions, none fails or is dropped, and
// the server ends on the alias's last version.
func TestAliasSwapUnderClientStorm(t *testing.T) {
	f := &fakeMLflow{root: t.TempDir()}
	probs := map[string]float64{"1": 0.25, "2": 0.75, "3": 0.125}
	for v, p := range probs {
		f.addVersion(t, v, p)
	}
	f.alias.Store("1")
	reg := &Registry{TrackingURI: httptest.NewServer(f.handler()).URL, CacheDir: t.TempDir()}
	m, v, err := reg.Open(t.Context(), ModelURI{Name: "spam", Alias: "prod"}, loadConst)
	if err != nil || v != "1" {
		t.Fatal(v, err)
	}
	s, hs := newTestServer(t, m, Options{})
	go Follow(t.Context(), s, reg, ModelURI{Name: "spam", Alias: "prod"}, 5*time.Millisecond, loadConst, nil)

	valid := map[string]bool{}
	for _, p := range probs {
		valid[fmt.Sprintf(`{"predictions":[%s]}`+"\n", string(newEncoder([]string{"ham", "spam"}).appendRows(nil, constPred(p), 0, 1)))] = true
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var ok, bad atomic.Int64
	seen := sync.Map{}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Post(hs.URL+"/invocations", "application/json", strings.NewReader(`{"inputs": ["hi"]}`))
				if err != nil {
					bad.Add(1)
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 && valid[string(b)] {
					ok.Add(1)
					seen.Store(string(b), true)
				} else {
					bad.Add(1)
				}
			}
		}()
	}
	for _, next := range []string{"2", "3", "2"} {
		time.Sleep(50 * time.Millisecond) // requests on the current version
		f.alias.Store(next)
		// Wait for the server to follow before moving the alias again.
		deadline := time.Now().Add(10 * time.Second)
		for s.ModelVersion() != next {
			if time.Now().After(deadline) {
				t.Fatalf("server on version %s, alias on %s", s.ModelVersion(), next)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); s.swapCount.Load() < 3; time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d swaps completed, want 3", s.swapCount.Load())
		}
	}
	time.Sleep(30 * time.Millisecond)
	close(stop)
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d requests failed, %d ok", bad.Load(), ok.Load())
	}
	n := 0
	seen.Range(func(k, v any) bool { n++; return true })
	if n != 3 || ok.Load() < 50 {
		t.Errorf("%d distinct versions answered over %d requests; want all 3", n, ok.Load())
	}
}

func constPred(p float64) *model.Prediction {
	m := constModel{p}
	sig, _ := newSignature(m.Info().Inputs)
	tab, _ := parseJSON([]byte(`{"inputs": ["x"]}`), sig, unlimited)
	pred, _ := m.Predict(context.Background(), buildRecord(sig, []*table{tab}, nil))
	return pred
}
