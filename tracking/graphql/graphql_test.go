package graphql_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/artifact"
	"github.com/dawn-ml/dawn/tracking"
	"github.com/dawn-ml/dawn/tracking/auth"
	"github.com/dawn-ml/dawn/tracking/graphql"
	"github.com/dawn-ml/dawn/tracking/server"
)

var update = flag.Bool("update", false, "rewrite the golden answers in testdata/")

// env is a real in-process dawn server (the full handler, /graphql
// mounted as `dawn server` mounts it), optionally with auth.
type env struct {
	t   *testing.T
	url string
}

func start(t *testing.T, withAuth bool) *env {
	dir := t.TempDir()
	store, err := server.OpenStore(t.Context(), filepath.Join(dir, "t.db"), tracking.ProxyScheme)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	repo, err := artifact.NewLocal(filepath.Join(dir, "a"))
	if err != nil {
		t.Fatal(err)
	}
	var guard *auth.Guard
	if withAuth {
		users, err := auth.Open(t.Context(), filepath.Join(dir, "auth.db"), "admin", "admin-pw")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { users.Close() })
		guard = &auth.Guard{Users: users, Data: store, Default: auth.Read}
	}
	srv := httptest.NewServer(server.Handler(store, repo, "t", nil, guard))
	t.Cleanup(srv.Close)
	return &env{t, srv.URL}
}

// call sends one request as user (password user+"-pw"; "" for none) and
// returns the status and body.
func (e *env) call(user, method, path, contentType string, body []byte) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if user != "" {
		req.SetBasicAuth(user, user+"-pw")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// rest calls the REST API and fails the test unless it answers 200.
func (e *env) rest(user, method, path string, body any) map[string]any {
	e.t.Helper()
	b, _ := json.Marshal(body)
	ct := "application/json"
	if s, ok := body.(string); ok {
		b, ct = []byte(s), "application/octet-stream"
	}
	code, out := e.call(user, method, path, ct, b)
	if code != 200 {
		e.t.Fatalf("%s %s: %d %s", method, path, code, out)
	}
	var m map[string]any
	json.Unmarshal(out, &m)
	return m
}

// gql posts a GraphQL query and returns the status and decoded answer.
func (e *env) gql(user, query string) (int, map[string]any) {
	e.t.Helper()
	b, _ := json.Marshal(map[string]any{"query": query})
	code, out := e.call(user, "POST", "/graphql", "application/json; charset=utf-8", b)
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		e.t.Fatalf("answer %d is not JSON: %s", code, out)
	}
	return code, m
}

const api = "/api/2.0/mlflow/"

// fixture is an experiment with two runs (the first with metrics, a
// param, a tag, a dataset input and two artifacts) and a registered model
// with a version from the first run.
type fixture struct{ exp, run1, run2, model string }

func (e *env) fixture(user string) fixture {
	var f fixture
	f.exp = e.rest(user, "POST", api+"experiments/create", map[string]any{"name": "gq", "tags": []any{map[string]any{"key": "team", "value": "ml"}}})["experiment_id"].(string)
	runID := func(m map[string]any) string {
		return m["run"].(map[string]any)["info"].(map[string]any)["run_id"].(string)
	}
	f.run1 = runID(e.rest(user, "POST", api+"runs/create", map[string]any{"experiment_id": f.exp, "run_name": "first", "start_time": 1000}))
	f.run2 = runID(e.rest(user, "POST", api+"runs/create", map[string]any{"experiment_id": f.exp, "run_name": "second", "start_time": 2000}))
	for i, v := range []any{1.5, 2.5, 3.5} {
		e.rest(user, "POST", api+"runs/log-metric", map[string]any{"run_id": f.run1, "key": "loss", "value": v, "timestamp": 10 * (i + 1), "step": i})
	}
	e.rest(user, "POST", api+"runs/log-metric", map[string]any{"run_id": f.run1, "key": "nan", "value": "NaN", "timestamp": 5, "step": 7})
	e.rest(user, "POST", api+"runs/log-parameter", map[string]any{"run_id": f.run1, "key": "lr", "value": "0.1"})
	e.rest(user, "POST", api+"runs/set-tag", map[string]any{"run_id": f.run1, "key": "mlflow.user", "value": "ana"})
	e.rest(user, "POST", api+"runs/log-inputs", map[string]any{"run_id": f.run1, "datasets": []any{
		map[string]any{"dataset": map[string]any{"name": "train", "digest": "d1", "source_type": "local", "source": "s"},
			"tags": []any{map[string]any{"key": "mlflow.data.context", "value": "training"}}}}})
	for _, p := range []string{"model.txt", "dir/b.txt"} {
		e.rest(user, "PUT", "/api/2.0/mlflow-artifacts/artifacts/"+f.exp+"/"+f.run1+"/artifacts/"+p, "hello "+p)
	}
	f.model = "gqm"
	e.rest(user, "POST", api+"registered-models/create", map[string]any{"name": f.model})
	e.rest(user, "POST", api+"model-versions/create", map[string]any{"name": f.model, "source": "mlflow-artifacts:/" + f.exp + "/" + f.run1 + "/artifacts/model", "run_id": f.run1})
	e.rest(user, "POST", api+"registered-models/alias", map[string]any{"name": f.model, "alias": "champion", "version": "1"})
	return f
}

// golden compares the answer, with the fixture's run ids replaced by
// <run1> and <run2>, to testdata/name.json.
func golden(t *testing.T, name string, f fixture, got map[string]any) {
	t.Helper()
	b, _ := json.MarshalIndent(got, "", "  ")
	b = []byte(strings.NewReplacer(f.run1, "<run1>", f.run2, "<run2>").Replace(string(b)) + "\n")
	path := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("%s: got\n%s\nwant\n%s", name, b, want)
	}
}

// TestQueries runs the queries MLflow's UI and tests send against a real
// server and holds the answers to golden files read by hand: field names
// in camel case, LongString as strings, unset fields as MLflow's protobuf
// defaults ("0", "", []), NaN as null, errors as a list of messages.
func TestQueries(t *testing.T) {
	e := start(t, false)
	f := e.fixture("")
	for _, c := range []struct{ name, query string }{
		{"get_experiment", `query q { mlflowGetExperiment(input: {experimentId: "` + f.exp + `"}) { experiment { experimentId name artifactLocation lifecycleStage tags { key value } } apiError { code } } }`},
		{"get_run", `query q @component(name: "Test") { mlflowGetRun(input: {runId: "` + f.run1 + `"}) { run {
			info { runId runUuid runName experimentId userId status startTime endTime artifactUri lifecycleStage }
			data { metrics { key value timestamp step datasetName modelId runId } params { key value } tags { key value } }
			inputs { datasetInputs { tags { key value } dataset { name digest sourceType source schema profile } } modelInputs { modelId } }
			outputs { modelOutputs { modelId step } }
			experiment { name }
			modelVersions { name version currentStage description source runId status statusMessage tags { key } runLink aliases modelId modelParams { name } modelMetrics { key } deploymentJobState { jobId } }
		} } }`},
		{"bulk_interval", `{ mlflowGetMetricHistoryBulkInterval(input: {runIds: ["` + f.run1 + `", "` + f.run2 + `"], metricKey: "loss", startStep: 1, endStep: 2}) { metrics { key value timestamp step runId } } }`},
		{"search_runs", `mutation m { mlflowSearchRuns(input: {experimentIds: ["` + f.exp + `"], maxResults: 1}) { runs { info { runId runName } experiment { name } } nextPageToken } }`},
		{"search_runs_query", `{ mlflowSearchRuns(input: {experimentIds: ["` + f.exp + `"], filter: "params.lr = '0.1'", runViewType: ALL, orderBy: ["attributes.start_time ASC"]}) { runs { info { runId } data { params { key value } } } nextPageToken } }`},
		{"list_artifacts", `{ root: mlflowListArtifacts(input: {runId: "` + f.run1 + `"}) { rootUri files { path isDir fileSize } nextPageToken }
			sub: mlflowListArtifacts(input: {runUuid: "` + f.run1 + `", path: "dir"}) { files { path isDir fileSize } } }`},
		{"search_model_versions", `{ mlflowSearchModelVersions(input: {filter: "name = 'gqm'", maxResults: 5, orderBy: ["version_number DESC"]}) { modelVersions { name version aliases runId } nextPageToken } }`},
		{"search_datasets", `mutation { mlflowSearchDatasets(input: {experimentIds: ["` + f.exp + `"]}) { datasetSummaries { experimentId name digest context } } }`},
		{"echo", `{ test(inputString: "abc") { output } } `},
		{"errors", `{ a: mlflowGetExperiment(input: {experimentId: "404"}) { experiment { name } } b: mlflowGetRun(input: {runId: "nope"}) { run { info { runId } } } c: test(inputString: "still answered") { output } }`},
		{"validation_error", `{ mlflowGetExperiment(input: {experimentId: "1"}) { experiment { noSuchField } } }`},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, got := e.gql("", c.query)
			if code != 200 {
				t.Fatalf("status %d: %v", code, got)
			}
			golden(t, c.name, f, got)
		})
	}
}

// TestNaNIsNull: a NaN metric reads as null (MLflow's test_graphql_nan_metric_handling).
func TestNaNIsNull(t *testing.T) {
	e := start(t, false)
	f := e.fixture("")
	_, got := e.gql("", `{ mlflowGetRun(input: {runId: "`+f.run1+`"}) { run { data { metrics { key value } } } } }`)
	ms := got["data"].(map[string]any)["mlflowGetRun"].(map[string]any)["run"].(map[string]any)["data"].(map[string]any)["metrics"].([]any)
	seen := 0
	for _, m := range ms {
		m := m.(map[string]any)
		switch m["key"] {
		case "nan":
			seen++
			if m["value"] != nil {
				t.Errorf("NaN metric value %v, want null", m["value"])
			}
		case "loss":
			seen++
			if v, _ := m["value"].(float64); math.Abs(v-3.5) > 1e-12 {
				t.Errorf("latest loss %v, want 3.5", m["value"])
			}
		}
	}
	if seen != 2 {
		t.Errorf("metrics %v, want loss and nan", ms)
	}
}

// TestRequests: what is wrong with the HTTP request itself is a 400 in
// the REST API's error format; what is wrong with the document is a 200
// with "errors", as MLflow answers.
func TestRequests(t *testing.T) {
	e := start(t, false)
	q := []byte(`{"query": "{ test(inputString: \"x\") { output } }"}`)
	for _, c := range []struct {
		name, method, path, ct string
		body                   []byte
		code                   int
		want                   string
	}{
		{"POST", "POST", "/graphql", "application/json", q, 200, `{"data":{"test":{"output":"x"}},"errors":null}`},
		{"GET with a JSON body, as MLflow reads it", "GET", "/graphql", "", q, 200, `{"data":{"test":{"output":"x"}},"errors":null}`},
		{"GET with parameters", "GET", "/graphql?" + url.Values{"query": {`query a { test(inputString: $s) { output } }`}, "variables": {`{"s": "v"}`}}.Encode(), "", nil, 200,
			`{"data":null,"errors":["Variable \"$s\" is not defined by operation \"a\"."]}`},
		{"GET with variables", "GET", "/graphql?" + url.Values{"query": {`query a($s: String) { test(inputString: $s) { output } }`}, "variables": {`{"s": "v"}`}, "operationName": {"a"}}.Encode(), "", nil, 200,
			`{"data":{"test":{"output":"v"}},"errors":null}`},
		{"no content type", "POST", "/graphql", "", q, 400, `{"error_code":"INVALID_PARAMETER_VALUE","message":"Bad Request. Content-Type header is missing."}`},
		{"form content type", "POST", "/graphql", "text/plain", q, 400, `{"error_code":"INVALID_PARAMETER_VALUE","message":"Bad Request. Content-Type must be one of ['application/json']."}`},
		{"no query", "POST", "/graphql", "application/json", []byte(`{"operationName": "x"}`), 400, `{"error_code":"INVALID_PARAMETER_VALUE","message":"Missing value for required parameter 'query'."}`},
		{"GET without query", "GET", "/graphql", "", nil, 400, `{"error_code":"INVALID_PARAMETER_VALUE","message":"Missing value for required parameter 'query'."}`},
		{"syntax error", "POST", "/graphql", "application/json", []byte(`{"query": "{ test(inputString: \"x\") { output }"}`), 200, `{"data":null,"errors":["Syntax Error: Unexpected \u003cEOF\u003e."]}`},
		// Like every path of the server, /graphql answers other methods
		// as an endpoint it does not have.
		{"method", "PUT", "/graphql", "application/json", q, 404, `{"error_code":"ENDPOINT_NOT_FOUND","message":"No endpoint PUT /graphql"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out := e.call("", c.method, c.path, c.ct, c.body)
			if code != c.code || c.want != "" && string(out) != c.want {
				t.Errorf("%d %s, want %d %s", code, out, c.code, c.want)
			}
		})
	}
	// A body over the REST limit.
	big := append([]byte(`{"query": "{ test { output } }", "x": "`), bytes.Repeat([]byte("a"), tracking.MaxRequestBytes)...)
	if code, out := e.call("", "POST", "/graphql", "application/json", append(big, `"}`...)); code != 400 || !strings.Contains(string(out), "exceeds the limit") {
		t.Errorf("big body: %d %s", code, out)
	}
}

// TestBounds: MLflow's four bounds as its test_graphql_handler_batching_raise_error sends them.
func TestBounds(t *testing.T) {
	e := start(t, false)
	var roots, aliases, selections []string
	for i := range 12 {
		roots = append(roots, "key_"+string(rune('a'+i))+`: test(inputString: "abc") { output }`)
		aliases = append(aliases, "experiment_"+string(rune('a'+i))+": experiment { name }")
	}
	for i := range 1002 {
		selections = append(selections, "field_"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+" { name }")
	}
	inner := "name"
	for range 12 {
		inner = "name { " + inner + " }"
	}
	exp := `mlflowGetExperiment(input: {experimentId: "123"}) `
	for _, c := range []struct{ name, query, want string }{
		{"root fields", "query testQuery {" + strings.Join(roots, " ") + "}", "GraphQL queries should have at most 10 root fields, got 12 root fields. To increase the limit, set the MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS environment variable."},
		{"aliases", "query testQuery {" + exp + "{" + strings.Join(aliases, " ") + "}}", "GraphQL queries should have at most 10 aliases, got 12 aliases. To increase the limit, set the MLFLOW_SERVER_GRAPHQL_MAX_ALIASES environment variable."},
		{"depth", "query testQuery { " + exp + "{ experiment { " + inner + " } } }", "Query exceeds maximum depth of 10"},
		{"selections", "query testQuery { " + exp + "{ experiment { " + strings.Join(selections, " ") + " } } }", "Query exceeds maximum total selections of 1000"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, got := e.gql("", c.query)
			errs, _ := got["errors"].([]any)
			if code != 200 || got["data"] != nil || len(errs) != 1 || errs[0] != c.want {
				t.Errorf("%d %v, want 200 with the one error %q", code, got, c.want)
			}
		})
	}
}

// TestRESTBudget: a request past its budget of REST reads gets null for
// the fields past it and the budget's message, the rest answered.
func TestRESTBudget(t *testing.T) {
	store, err := server.OpenStore(t.Context(), filepath.Join(t.TempDir(), "t.db"), tracking.ProxyScheme)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	h, err := graphql.NewHandler(graphql.Options{API: tracking.NewHandler(tracking.Options{Store: store}), MaxRESTCalls: 2})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	e := &env{t, srv.URL}
	// Resolvers run in parallel, so which field is refused is not fixed.
	_, got := e.gql("", `{ a: mlflowGetExperiment(input: {experimentId: "0"}) { experiment { name } } b: mlflowGetExperiment(input: {experimentId: "0"}) { experiment { name } } c: mlflowGetExperiment(input: {experimentId: "0"}) { experiment { name } } }`)
	data := got["data"].(map[string]any)
	answered := 0
	for _, k := range []string{"a", "b", "c"} {
		if data[k] != nil {
			answered++
		}
	}
	errs, _ := got["errors"].([]any)
	if answered != 2 || len(errs) != 1 || !strings.Contains(errs[0].(string), "too many REST calls: the query needs more than 2 reads") {
		t.Errorf("%v, want two fields answered and the budget's error", got)
	}
}
