package server

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOpsEndpoints(t *testing.T) {
	dir := t.TempDir()
	store, err := OpenStore(t.Context(), "sqlite:///"+filepath.Join(dir, "t.db"), "mlflow-artifacts:")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	repo, err := OpenArtifacts(t.Context(), filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	h := Handler(store, repo, "v9.9.9", nil, nil)
	get := func(path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", path, nil)
		rec := newRecorder()
		h.ServeHTTP(rec, req)
		return rec.code, rec.body.String()
	}
	for _, tc := range []struct{ path, want string }{
		{"/graphql?query=%7Btest(inputString%3A%22x%22)%7Boutput%7D%7D", `{"data":{"test":{"output":"x"}},"errors":null}`},
		{"/health", "OK"},
		{"/version", "3.6.0"},
		{"/", "experiments"},
		{"/api/2.0/mlflow/experiments/get?experiment_id=0", `"name":"Default"`},
		{"/metrics", `dawn_tracking_http_requests_total{code="200",endpoint="/api/2.0/mlflow/experiments/get",method="GET"} 1`},
	} {
		t.Run(tc.path, func(t *testing.T) {
			code, body := get(tc.path)
			wantCode, want := 200, tc.want
			if rest, ok := strings.CutPrefix(want, "404:"); ok {
				wantCode, want = 404, rest
			}
			if code != wantCode || !strings.Contains(body, want) {
				t.Fatalf("GET %s: %d %q, want %d containing %q", tc.path, code, body, wantCode, want)
			}
		})
	}
}

type recorder struct {
	h    http.Header
	code int
	body strings.Builder
}

func newRecorder() *recorder                    { return &recorder{h: http.Header{}, code: 200} }
func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) WriteHeader(c int)           { r.code = c }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }

// TestGracefulShutdown cancels the server while an upload is half sent;
// the upload must still complete with 200 and Run must return cleanly.
func TestGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Host: "127.0.0.1", Port: "0", BackendStoreURI: filepath.Join(dir, "t.db"),
			ArtifactsDestination: filepath.Join(dir, "a"), Version: "test", ShutdownTimeout: 10 * time.Second},
			func(addr string) { addrc <- addr })
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	resc := make(chan *http.Response, 1)
	go func() {
		req, _ := http.NewRequest("PUT", "http://"+addr+"/api/2.0/mlflow-artifacts/artifacts/0/x.bin", pr)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			resc <- nil
			return
		}
		resc <- res
	}()
	pw.Write([]byte("first half "))
	time.Sleep(100 * time.Millisecond)
	cancel()
	time.Sleep(100 * time.Millisecond)
	pw.Write([]byte("second half"))
	pw.Close()
	res := <-resc
	if res == nil {
		t.FailNow()
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("in-flight upload: status %d", res.StatusCode)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	b, err := io.ReadAll(mustOpen(t, filepath.Join(dir, "a", "0", "x.bin")))
	if err != nil || string(b) != "first half second half" {
		t.Fatalf("uploaded %q, %v", b, err)
	}
}

func mustOpen(t *testing.T, p string) io.Reader {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestVersionHeaderAndBadMLflowVersion(t *testing.T) {
	dir := t.TempDir()
	store, err := OpenStore(t.Context(), "sqlite:///"+filepath.Join(dir, "t.db"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	rec := newRecorder()
	req, _ := http.NewRequest("GET", "/version", nil)
	Handler(store, nil, "v9.9.9", nil, nil).ServeHTTP(rec, req)
	if got := rec.h.Get("X-Dawn-Version"); got != "v9.9.9" || rec.body.String() != "3.6.0" {
		t.Fatalf("/version: body %q, X-Dawn-Version %q; want 3.6.0 and v9.9.9", rec.body.String(), got)
	}
	err = Run(t.Context(), Config{Host: "127.0.0.1", Port: "0", BackendStoreURI: filepath.Join(dir, "u.db"), MLflowVersion: "dev"}, nil)
	if err == nil || !strings.Contains(err.Error(), "PEP 440") {
		t.Fatalf("Run with MLflowVersion dev: %v, want a PEP 440 error", err)
	}
}
