// Package storetest is the conformance suite every tracking.Store backend
// must pass. It drives the store through the real HTTP handlers with an
// MLflow-style REST client and asserts MLflow's documented responses:
// field names, error codes, HTTP statuses, limits and paging.
package storetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dawn-ml/dawn/artifact"
	"github.com/dawn-ml/dawn/tracking"
)

// Client is a minimal REST caller for tests.
type Client struct {
	t    testing.TB
	base string
}

// NewClient returns a client of the server at base that reports failures
// on t.
func NewClient(t testing.TB, base string) *Client { return &Client{t: t, base: base} }

// Resp is a decoded JSON response.
type Resp struct {
	Status int
	Body   map[string]any
	Raw    []byte
}

// Do sends method path with body (a JSON-able value for POST/PATCH/DELETE,
// url.Values for GET) and decodes the JSON answer.
func (c *Client) Do(method, path string, body any) Resp {
	c.t.Helper()
	u := c.base + path
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case url.Values:
		u += "?" + b.Encode()
	case string:
		rd = strings.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.send(req)
}

func (c *Client) send(req *http.Request) Resp {
	c.t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := Resp{Status: res.StatusCode, Raw: raw}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.Body); err != nil {
			c.t.Fatalf("%s %s: response is not JSON: %v: %s", req.Method, req.URL, err, raw)
		}
	}
	return r
}

// OK asserts a 200 and returns the body.
func (c *Client) OK(method, path string, body any) map[string]any {
	c.t.Helper()
	r := c.Do(method, path, body)
	if r.Status != 200 {
		c.t.Fatalf("%s %s: status %d, want 200: %s", method, path, r.Status, r.Raw)
	}
	return r.Body
}

// Fail asserts an error answer with the given status and error_code.
func (c *Client) Fail(status int, code, method, path string, body any) Resp {
	c.t.Helper()
	r := c.Do(method, path, body)
	if r.Status != status || r.Body["error_code"] != code {
		c.t.Fatalf("%s %s: got %d %v, want %d %s: %s", method, path, r.Status, r.Body["error_code"], status, code, r.Raw)
	}
	if msg, _ := r.Body["message"].(string); msg == "" {
		c.t.Fatalf("%s %s: error without message: %s", method, path, r.Raw)
	}
	return r
}

// Opener makes a fresh store for one suite run.
type Opener func(t *testing.T, artifactRoot string) tracking.Store

// Run runs the whole conformance suite against stores made by open.
func Run(t *testing.T, open Opener) {
	dir := t.TempDir()
	repo, err := artifact.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	store := open(t, tracking.ProxyScheme)
	t.Cleanup(func() { store.Close() })
	srv := httptest.NewServer(tracking.NewHandler(tracking.Options{Store: store, Artifacts: repo}))
	t.Cleanup(srv.Close)
	c := &Client{t: t, base: srv.URL}
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, *Client)
	}{
		{"Protocol", testProtocol},
		{"Experiments", testExperiments},
		{"ExperimentSearch", testExperimentSearch},
		{"Runs", testRuns},
		{"Metrics", testMetrics},
		{"Params", testParams},
		{"LogBatch", testLogBatch},
		{"LogInputs", testLogInputs},
		{"SearchRuns", testSearchRuns},
		{"ManyClauses", testManyClauses},
		{"Registry", testRegistry},
		{"RegistrySearch", testRegistrySearch},
		{"Artifacts", testArtifacts},
		{"LoggedModels", testLoggedModels},
		{"SearchDatasets", testSearchDatasets},
		{"EvalDatasets", testEvalDatasets},
		{"Scorers", testScorers},
		{"PromptLab", testPromptLab},
		{"UploadArtifact", testUploadArtifact},
		{"Traces", testTraces},
		{"ConcurrentWriters", testConcurrent},
		{"MLflowCompat", testMLflowCompat},
		{"GC", func(t *testing.T, c *Client) { testGC(t, c, store, repo) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := c.For(t)
			tc.fn(t, &Client{t: t, base: c.base})
		})
	}
}

var seq atomic.Int64

// unique returns a name not used before in this process.
func unique(p string) string {
	return fmt.Sprintf("%s-%d", p, seq.Add(1))
}

func stringsReader(s string) io.Reader { return strings.NewReader(s) }

func str(v any) string { s, _ := v.(string); return s }

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }

func list(v any) []any { l, _ := v.([]any); return l }

func num(v any) float64 { f, _ := v.(float64); return f }

// kv turns [{key, value}] into a map.
func kv(v any) map[string]any {
	out := map[string]any{}
	for _, e := range list(v) {
		out[str(obj(e)["key"])] = obj(e)["value"]
	}
	return out
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func newExperiment(t *testing.T, c *Client) string {
	t.Helper()
	return str(c.OK("POST", "/api/2.0/mlflow/experiments/create", map[string]any{"name": unique("exp")})["experiment_id"])
}

func newRun(t *testing.T, c *Client, exp string) string {
	t.Helper()
	r := c.OK("POST", "/api/2.0/mlflow/runs/create", map[string]any{"experiment_id": exp, "start_time": 1000})
	return str(obj(obj(r["run"])["info"])["run_id"])
}

// For returns a client that reports failures on t, for use in subtests.
func (c *Client) For(t testing.TB) *Client { return &Client{t: t, base: c.base} }
