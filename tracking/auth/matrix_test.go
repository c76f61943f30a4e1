package auth_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dawn-ml/dawn/artifact"
	"github.com/dawn-ml/dawn/tracking"
	"github.com/dawn-ml/dawn/tracking/auth"
	"github.com/dawn-ml/dawn/tracking/server"
	"github.com/dawn-ml/dawn/tracking/trackingtest"
)

// The permission matrix: every route of the server, as an anonymous
// client and as users holding NO_PERMISSIONS, READ, EDIT and MANAGE on the
// experiment and the registered model the request names (the default
// permission is READ, so NO_PERMISSIONS is explicit), on SQLite and on
// PostgreSQL. A route missing from the table below fails the test, so a
// new route cannot be added without saying who may call it.

// levels are the matrix's users, least privileged first; the fixture
// grants each its permission by name.
var levels = []string{auth.NoPermissions, auth.Read, auth.Edit, auth.Manage}

func userOf(level string) string { return strings.ToLower(strings.ReplaceAll(level, "_", "")) }

var rank = map[tracking.Rule]int{tracking.NeedRead: 1, tracking.NeedEdit: 2, tracking.NeedManage: 3}

func levelRank(l string) int {
	return map[string]int{auth.NoPermissions: 0, auth.Read: 1, auth.Edit: 2, auth.Manage: 3}[l]
}

// env is one running server with its users.
type env struct {
	t     *testing.T
	url   string
	admin caller
	n     atomic.Int64
	roots string
	store tracking.Store
}

func newEnv(t *testing.T, backend string) *env {
	dir := t.TempDir()
	uri := filepath.Join(dir, "t.db")
	if backend == "postgres" {
		uri = trackingtest.PostgresSchema(t)
	}
	store, err := server.OpenStore(t.Context(), uri, tracking.ProxyScheme)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	users, err := auth.Open(t.Context(), filepath.Join(dir, "auth.db"), "admin", "s3cret-admin")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { users.Close() })
	repo, err := artifact.NewLocal(filepath.Join(dir, "a"))
	if err != nil {
		t.Fatal(err)
	}
	roots := filepath.Join(dir, "mlruns")
	srv := httptest.NewServer(server.Handler(store, repo, "t", nil, &auth.Guard{Users: users, Data: store, Default: auth.Read}, roots))
	t.Cleanup(srv.Close)
	e := &env{t: t, url: srv.URL, admin: caller{t, srv.URL, "admin", "s3cret-admin"}, roots: roots, store: store}
	for _, l := range levels {
		e.admin.want(200, "POST", api+"users/create", map[string]any{"username": userOf(l), "password": userOf(l) + "-pw"})
	}
	return e
}

func (e *env) as(level string) caller {
	if level == "" {
		return caller{e.t, e.url, "", ""}
	}
	return caller{e.t, e.url, userOf(level), userOf(level) + "-pw"}
}

// fixture is what one row of the matrix acts on, made by the admin: an
// experiment with a run (a metric, a param, an artifact) and a registered
// model with a version (alias champion) from that run, each matrix user
// holding their level on both.
type fixture struct {
	Exp, ExpName, Run, Model, LoggedModel, Webhook, Dataset string
	// Trace (tag k=v) has one span and the assessment Assessment.
	Trace, Assessment string
}

func (e *env) fixture() fixture {
	n := e.n.Add(1)
	a := e.admin
	var f fixture
	f.ExpName = fmt.Sprintf("exp-%d", n)
	f.Exp = a.want(200, "POST", api+"experiments/create", map[string]any{"name": f.ExpName})["experiment_id"].(string)
	f.Run = a.want(200, "POST", api+"runs/create", map[string]any{"experiment_id": f.Exp})["run"].(map[string]any)["info"].(map[string]any)["run_id"].(string)
	a.want(200, "POST", api+"runs/log-metric", map[string]any{"run_id": f.Run, "key": "m", "value": 1, "timestamp": 1, "step": 0})
	a.want(200, "POST", api+"runs/log-parameter", map[string]any{"run_id": f.Run, "key": "p", "value": "v"})
	a.want(200, "PUT", "/api/2.0/mlflow-artifacts/artifacts/"+f.Exp+"/"+f.Run+"/artifacts/model/f.txt", "content")
	f.LoggedModel = a.want(200, "POST", api+"logged-models", map[string]any{"experiment_id": f.Exp, "name": "lm"})["model"].(map[string]any)["info"].(map[string]any)["model_id"].(string)
	f.Webhook = a.want(200, "POST", api+"webhooks", map[string]any{"name": fmt.Sprintf("hook-%d", n), "url": "https://example.com/hook",
		"events": []map[string]any{{"entity": "MODEL_VERSION", "action": "CREATED"}}})["webhook"].(map[string]any)["webhook_id"].(string)
	f.Dataset = a.want(200, "POST", "/api/3.0/mlflow/datasets/create", map[string]any{"name": "ds", "experiment_ids": []string{f.Exp}})["dataset"].(map[string]any)["dataset_id"].(string)
	a.want(200, "POST", "/api/3.0/mlflow/datasets/"+f.Dataset+"/records", map[string]any{"records": `[{"inputs": {"q": "x"}}]`})
	a.want(200, "POST", "/api/3.0/mlflow/scorers/register", map[string]any{"experiment_id": f.Exp, "name": "s", "serialized_scorer": "{}"})
	f.Trace = fmt.Sprintf("tr-%032x", n)
	a.want(200, "POST", api3+"traces", startTrace(f.Trace, f.Exp))
	a.want(200, "POST", "/v1/traces", otlpSpan(f.Trace, f.Exp))
	f.Assessment = a.want(200, "POST", api3+"traces/"+f.Trace+"/assessments", obj{"assessment": obj{"assessment_name": "q", "feedback": obj{"value": 1}}})["assessment"].(map[string]any)["assessment_id"].(string)
	f.Model = fmt.Sprintf("model-%d", n)
	a.want(200, "POST", api+"registered-models/create", map[string]any{"name": f.Model})
	a.want(200, "POST", api+"model-versions/create", map[string]any{"name": f.Model, "source": "mlflow-artifacts:/" + f.Exp + "/" + f.Run + "/artifacts/model", "run_id": f.Run})
	a.want(200, "POST", api+"registered-models/alias", map[string]any{"name": f.Model, "alias": "champion", "version": "1"})
	a.want(200, "POST", api+"model-versions/set-tag", map[string]any{"name": f.Model, "version": "1", "key": "k", "value": "v"})
	for _, l := range levels {
		a.want(200, "POST", api+"experiments/permissions/create", map[string]any{"experiment_id": f.Exp, "username": userOf(l), "permission": l})
		a.want(200, "POST", api+"registered-models/permissions/create", map[string]any{"name": f.Model, "username": userOf(l), "permission": l})
	}
	return f
}

type q = url.Values
type obj = map[string]any

// startTrace is a StartTraceV3 body for a finished trace (tag k=v).
func startTrace(id, exp string) obj {
	return obj{"trace": obj{"trace_info": obj{"trace_id": id, "state": "OK", "request_time": "2025-01-01T00:00:00Z", "execution_duration": "1s",
		"trace_location": obj{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": obj{"experiment_id": exp}}, "tags": obj{"k": "v"}}}}
}

// otlpSpan is an OTLP JSON export of one root span of trace id ("tr-"
// and 32 hex digits) to experiment exp.
func otlpSpan(id, exp string) withHeader {
	span := obj{"traceId": strings.TrimPrefix(id, "tr-"), "spanId": "0102030405060708", "name": "root",
		"startTimeUnixNano": "1000000000", "endTimeUnixNano": "2000000000", "status": obj{"code": 1}}
	return withHeader{http.Header{"X-Mlflow-Experiment-Id": {exp}}, obj{"resourceSpans": []obj{{"scopeSpans": []obj{{"spans": []obj{span}}}}}}}
}

var otlpN atomic.Int64

// requests holds one request per route ("METHOD path"), built for a
// fixture and the calling user's name.
var requests = map[string]func(f fixture, me string) any{
	"POST experiments/create":     func(f fixture, me string) any { return obj{"name": "new-" + me + "-" + f.Exp} },
	"GET experiments/get":         func(f fixture, me string) any { return q{"experiment_id": {f.Exp}} },
	"GET experiments/get-by-name": func(f fixture, me string) any { return q{"experiment_name": {f.ExpName}} },
	"GET experiments/search":      func(f fixture, me string) any { return q{"max_results": {"10"}} },
	"POST experiments/search":     func(f fixture, me string) any { return obj{"max_results": 10} },
	"POST experiments/update": func(f fixture, me string) any {
		return obj{"experiment_id": f.Exp, "new_name": "renamed-" + me + f.Exp}
	},
	"POST experiments/delete":                func(f fixture, me string) any { return obj{"experiment_id": f.Exp} },
	"POST experiments/restore":               func(f fixture, me string) any { return obj{"experiment_id": f.Exp} },
	"POST experiments/set-experiment-tag":    func(f fixture, me string) any { return obj{"experiment_id": f.Exp, "key": "k", "value": me} },
	"POST experiments/delete-experiment-tag": func(f fixture, me string) any { return obj{"experiment_id": f.Exp, "key": "k"} },
	"POST runs/create":                       func(f fixture, me string) any { return obj{"experiment_id": f.Exp} },
	"POST runs/update":                       func(f fixture, me string) any { return obj{"run_id": f.Run, "status": "FINISHED"} },
	"POST runs/delete":                       func(f fixture, me string) any { return obj{"run_id": f.Run} },
	"POST runs/restore":                      func(f fixture, me string) any { return obj{"run_id": f.Run} },
	"GET runs/get":                           func(f fixture, me string) any { return q{"run_id": {f.Run}} },
	"GET runs/search":                        func(f fixture, me string) any { return q{"experiment_ids": {f.Exp}} },
	"POST runs/search":                       func(f fixture, me string) any { return obj{"experiment_ids": []string{f.Exp}} },
	"POST runs/log-metric":                   func(f fixture, me string) any { return obj{"run_id": f.Run, "key": "m", "value": 2, "timestamp": 2} },
	"POST runs/log-parameter":                func(f fixture, me string) any { return obj{"run_id": f.Run, "key": "p-" + me, "value": "v"} },
	"POST runs/set-tag":                      func(f fixture, me string) any { return obj{"run_id": f.Run, "key": "t", "value": me} },
	"POST runs/delete-tag":                   func(f fixture, me string) any { return obj{"run_id": f.Run, "key": "t"} },
	"POST runs/log-batch":                    func(f fixture, me string) any { return obj{"run_id": f.Run, "tags": []obj{{"key": "b", "value": me}}} },
	"POST runs/log-model": func(f fixture, me string) any {
		return obj{"run_id": f.Run, "model_json": `{"artifact_path":"m","flavors":{},"utc_time_created":"x","run_id":"` + f.Run + `"}`}
	},
	"POST runs/log-inputs": func(f fixture, me string) any {
		return obj{"run_id": f.Run, "datasets": []obj{{"dataset": obj{"name": "d", "digest": "x", "source_type": "local", "source": "s"}}}}
	},
	"GET metrics/get-history":                            func(f fixture, me string) any { return q{"run_id": {f.Run}, "metric_key": {"m"}} },
	"GET metrics/get-history-bulk":                       func(f fixture, me string) any { return q{"run_id": {f.Run}, "metric_key": {"m"}} },
	"GET metrics/get-history-bulk-interval":              func(f fixture, me string) any { return q{"run_ids": {f.Run}, "metric_key": {"m"}} },
	"GET artifacts/list":                                 func(f fixture, me string) any { return q{"run_id": {f.Run}} },
	"POST logged-models/search":                          func(f fixture, me string) any { return obj{"experiment_ids": []string{f.Exp}} },
	"POST logged-models":                                 func(f fixture, me string) any { return obj{"experiment_id": f.Exp, "name": "lm-" + me} },
	"GET logged-models/{model_id}":                       func(f fixture, me string) any { return q{} },
	"PATCH logged-models/{model_id}":                     func(f fixture, me string) any { return obj{"status": "LOGGED_MODEL_READY"} },
	"DELETE logged-models/{model_id}":                    func(f fixture, me string) any { return obj{} },
	"PATCH logged-models/{model_id}/tags":                func(f fixture, me string) any { return obj{"tags": []obj{{"key": "k", "value": "v" + me}}} },
	"DELETE logged-models/{model_id}/tags/{tag_key}":     func(f fixture, me string) any { return q{} },
	"POST logged-models/{model_id}/params":               func(f fixture, me string) any { return obj{"params": []obj{{"key": "p-" + me, "value": "v"}}} },
	"GET logged-models/{model_id}/artifacts/directories": func(f fixture, me string) any { return q{} },
	"GET logged-models/{model_id}/artifacts/files":       func(f fixture, me string) any { return q{"artifact_file_path": {"MLmodel"}} },
	"POST experiments/search-datasets":                   func(f fixture, me string) any { return obj{"experiment_ids": []string{f.Exp}} },
	"POST upload-artifact":                               func(f fixture, me string) any { return q{"run_uuid": {f.Run}, "path": {"up-" + me + ".txt"}} },
	"POST 3.0/datasets/create": func(f fixture, me string) any {
		return obj{"name": "ds-" + me, "experiment_ids": []string{f.Exp}}
	},
	"POST 3.0/datasets/search":                          func(f fixture, me string) any { return obj{"experiment_ids": []string{f.Exp}} },
	"GET 3.0/datasets/search":                           func(f fixture, me string) any { return q{"experiment_ids": {f.Exp}} },
	"GET 3.0/datasets/{dataset_id}":                     func(f fixture, me string) any { return q{} },
	"DELETE 3.0/datasets/{dataset_id}":                  func(f fixture, me string) any { return obj{} },
	"PATCH 3.0/datasets/{dataset_id}/tags":              func(f fixture, me string) any { return obj{"tags": `{"k": "` + me + `"}`} },
	"DELETE 3.0/datasets/{dataset_id}/tags/{key}":       func(f fixture, me string) any { return q{} },
	"POST 3.0/datasets/{dataset_id}/records":            func(f fixture, me string) any { return obj{"records": `[{"inputs": {"q": "` + me + `"}}]`} },
	"GET 3.0/datasets/{dataset_id}/records":             func(f fixture, me string) any { return q{"max_results": {"10"}} },
	"GET 3.0/datasets/{dataset_id}/experiment-ids":      func(f fixture, me string) any { return q{} },
	"POST 3.0/datasets/{dataset_id}/add-experiments":    func(f fixture, me string) any { return obj{"experiment_ids": []string{f.Exp}} },
	"POST 3.0/datasets/{dataset_id}/remove-experiments": func(f fixture, me string) any { return obj{"experiment_ids": []string{"0"}} }, // not linked: the dataset keeps its experiment for the next user
	"POST 3.0/scorers/register": func(f fixture, me string) any {
		return obj{"experiment_id": f.Exp, "name": "s-" + me, "serialized_scorer": "{}"}
	},
	"GET 3.0/scorers/list":      func(f fixture, me string) any { return q{"experiment_id": {f.Exp}} },
	"GET 3.0/scorers/versions":  func(f fixture, me string) any { return q{"experiment_id": {f.Exp}, "name": {"s"}} },
	"GET 3.0/scorers/get":       func(f fixture, me string) any { return q{"experiment_id": {f.Exp}, "name": {"s"}} },
	"DELETE 3.0/scorers/delete": func(f fixture, me string) any { return obj{"experiment_id": f.Exp, "name": "s"} },
	"POST runs/create-promptlab-run": func(f fixture, me string) any {
		return obj{"experiment_id": f.Exp, "prompt_template": "t", "prompt_parameters": []obj{{"key": "k", "value": "v"}},
			"model_route": "r", "model_input": "i", "mlflow_version": "3.6.0"}
	},
	"POST runs/outputs": func(f fixture, me string) any {
		return obj{"run_id": f.Run, "models": []obj{{"model_id": f.LoggedModel, "step": 0}}}
	},
	"POST webhooks": func(f fixture, me string) any {
		return obj{"name": "hook-" + me + f.Exp, "url": "https://example.com/h", "events": []obj{{"entity": "REGISTERED_MODEL", "action": "CREATED"}}}
	},
	"GET webhooks":                    func(f fixture, me string) any { return q{"max_results": {"10"}} },
	"GET webhooks/{webhook_id}":       func(f fixture, me string) any { return q{} },
	"PATCH webhooks/{webhook_id}":     func(f fixture, me string) any { return obj{"description": "by " + me} },
	"DELETE webhooks/{webhook_id}":    func(f fixture, me string) any { return obj{} },
	"POST webhooks/{webhook_id}/test": func(f fixture, me string) any { return obj{} },

	"POST registered-models/create":              func(f fixture, me string) any { return obj{"name": "new-" + me + "-" + f.Model} },
	"GET registered-models/get":                  func(f fixture, me string) any { return q{"name": {f.Model}} },
	"POST registered-models/rename":              func(f fixture, me string) any { return obj{"name": f.Model, "new_name": f.Model + "-" + me} },
	"PATCH registered-models/update":             func(f fixture, me string) any { return obj{"name": f.Model, "description": me} },
	"DELETE registered-models/delete":            func(f fixture, me string) any { return obj{"name": f.Model} },
	"GET registered-models/search":               func(f fixture, me string) any { return q{"max_results": {"100"}} },
	"GET registered-models/get-latest-versions":  func(f fixture, me string) any { return q{"name": {f.Model}} },
	"POST registered-models/get-latest-versions": func(f fixture, me string) any { return obj{"name": f.Model} },
	"POST registered-models/set-tag":             func(f fixture, me string) any { return obj{"name": f.Model, "key": "k", "value": me} },
	"DELETE registered-models/delete-tag":        func(f fixture, me string) any { return obj{"name": f.Model, "key": "k"} },
	"POST registered-models/alias":               func(f fixture, me string) any { return obj{"name": f.Model, "alias": "champion", "version": "1"} },
	"DELETE registered-models/alias":             func(f fixture, me string) any { return obj{"name": f.Model, "alias": "champion"} },
	"GET registered-models/alias":                func(f fixture, me string) any { return q{"name": {f.Model}, "alias": {"champion"}} },
	"POST model-versions/create": func(f fixture, me string) any {
		return obj{"name": f.Model, "source": "mlflow-artifacts:/" + f.Exp + "/" + f.Run + "/artifacts/model", "run_id": f.Run}
	},
	"GET model-versions/get":               func(f fixture, me string) any { return q{"name": {f.Model}, "version": {"1"}} },
	"PATCH model-versions/update":          func(f fixture, me string) any { return obj{"name": f.Model, "version": "1", "description": me} },
	"POST model-versions/transition-stage": func(f fixture, me string) any { return obj{"name": f.Model, "version": "1", "stage": "Staging"} },
	"DELETE model-versions/delete":         func(f fixture, me string) any { return obj{"name": f.Model, "version": "1"} },
	"GET model-versions/search":            func(f fixture, me string) any { return q{"filter": {"name='" + f.Model + "'"}} },
	"GET model-versions/get-download-uri":  func(f fixture, me string) any { return q{"name": {f.Model}, "version": {"1"}} },
	"POST model-versions/set-tag":          func(f fixture, me string) any { return obj{"name": f.Model, "version": "1", "key": "k", "value": me} },
	"DELETE model-versions/delete-tag":     func(f fixture, me string) any { return obj{"name": f.Model, "version": "1", "key": "k"} },

	"POST traces":                              func(f fixture, me string) any { return obj{"experiment_id": f.Exp, "timestamp_ms": 1} },
	"GET traces":                               func(f fixture, me string) any { return q{"experiment_ids": {f.Exp}} },
	"PATCH traces/{request_id}":                func(f fixture, me string) any { return obj{"timestamp_ms": 5000, "status": "OK"} },
	"GET traces/{request_id}/info":             func(f fixture, me string) any { return q{} },
	"PATCH traces/{trace_id}/tags":             func(f fixture, me string) any { return obj{"key": "k", "value": me} },
	"DELETE traces/{trace_id}/tags":            func(f fixture, me string) any { return obj{"key": "k"} },
	"POST traces/delete-traces":                func(f fixture, me string) any { return obj{"experiment_id": f.Exp, "request_ids": []string{f.Trace}} },
	"POST traces/link-to-run":                  func(f fixture, me string) any { return obj{"trace_ids": []string{f.Trace}, "run_id": f.Run} },
	"GET get-trace-artifact":                   func(f fixture, me string) any { return q{"request_id": {f.Trace}} },
	"POST " + tracking.V3 + "traces":           func(f fixture, me string) any { return startTrace(f.Trace+"-"+me, f.Exp) },
	"GET " + tracking.V3 + "traces/{trace_id}": func(f fixture, me string) any { return q{} },
	"GET " + tracking.V3 + "traces/get":        func(f fixture, me string) any { return q{"trace_id": {f.Trace}} },
	"GET " + tracking.V3 + "traces/batchGet":   func(f fixture, me string) any { return q{"trace_ids": {f.Trace}} },
	"POST " + tracking.V3 + "traces/search": func(f fixture, me string) any {
		return obj{"locations": []obj{{"mlflow_experiment": obj{"experiment_id": f.Exp}}}, "filter": "tags.k = 'v'"}
	},
	"POST " + tracking.V3 + "traces/delete-traces": func(f fixture, me string) any { return obj{"experiment_id": f.Exp, "max_timestamp_millis": 1} },
	"POST " + tracking.V3 + "traces/calculate-filter-correlation": func(f fixture, me string) any {
		return obj{"experiment_ids": []string{f.Exp}, "filter_string1": "tags.k = 'v'", "filter_string2": "status = 'OK'"}
	},
	"PATCH " + tracking.V3 + "traces/{trace_id}/tags":  func(f fixture, me string) any { return obj{"key": "k", "value": me} },
	"DELETE " + tracking.V3 + "traces/{trace_id}/tags": func(f fixture, me string) any { return obj{"key": "k"} },
	"POST " + tracking.V3 + "traces/{trace_id}/assessments": func(f fixture, me string) any {
		return obj{"assessment": obj{"assessment_name": "q-" + me, "expectation": obj{"value": "x"}}}
	},
	"GET " + tracking.V3 + "traces/{trace_id}/assessments/{assessment_id}": func(f fixture, me string) any { return q{} },
	"PATCH " + tracking.V3 + "traces/{trace_id}/assessments/{assessment_id}": func(f fixture, me string) any {
		return obj{"assessment": obj{"rationale": me}, "update_mask": "rationale"}
	},
	"DELETE " + tracking.V3 + "traces/{trace_id}/assessments/{assessment_id}": func(f fixture, me string) any { return q{} },
	"POST /v1/traces": func(f fixture, me string) any {
		return otlpSpan(fmt.Sprintf("tr-%032x", 1<<40+otlpN.Add(1)), f.Exp)
	},

	// The Guard's own routes.
	"POST users/create":           func(f fixture, me string) any { return obj{"username": "u" + f.Exp + me, "password": "pw"} },
	"GET users/get":               func(f fixture, me string) any { return q{"username": {me}} },
	"PATCH users/update-password": func(f fixture, me string) any { return obj{"username": me, "password": me + "-pw"} },
	"PATCH users/update-admin":    func(f fixture, me string) any { return obj{"username": "read", "is_admin": false} },
	"DELETE users/delete":         func(f fixture, me string) any { return obj{"username": "nobody"} },
	"POST experiments/permissions/create": func(f fixture, me string) any {
		return obj{"experiment_id": f.Exp, "username": "read", "permission": "READ"}
	},
	"GET experiments/permissions/get": func(f fixture, me string) any { return q{"experiment_id": {f.Exp}, "username": {"read"}} },
	"PATCH experiments/permissions/update": func(f fixture, me string) any {
		return obj{"experiment_id": f.Exp, "username": "read", "permission": "READ"}
	},
	"DELETE experiments/permissions/delete": func(f fixture, me string) any { return obj{"experiment_id": f.Exp, "username": "nobody"} },
	"POST registered-models/permissions/create": func(f fixture, me string) any {
		return obj{"name": f.Model, "username": "read", "permission": "READ"}
	},
	"GET registered-models/permissions/get": func(f fixture, me string) any { return q{"name": {f.Model}, "username": {"read"}} },
	"PATCH registered-models/permissions/update": func(f fixture, me string) any {
		return obj{"name": f.Model, "username": "read", "permission": "READ"}
	},
	"DELETE registered-models/permissions/delete": func(f fixture, me string) any { return obj{"name": f.Model, "username": "nobody"} },
}

// otherRequests covers the routes outside /api/2.0/mlflow/: full paths.
var otherRequests = map[string]func(f fixture, me string) (string, any){
	"GET /get-artifact": func(f fixture, me string) (string, any) {
		return "/get-artifact", q{"run_id": {f.Run}, "path": {"model/f.txt"}}
	},
	"GET /model-versions/get-artifact": func(f fixture, me string) (string, any) {
		return "/model-versions/get-artifact", q{"name": {f.Model}, "version": {"1"}, "path": {"f.txt"}}
	},
	"GET /api/2.0/mlflow-artifacts/artifacts": func(f fixture, me string) (string, any) {
		return "/api/2.0/mlflow-artifacts/artifacts", q{"path": {f.Exp + "/" + f.Run + "/artifacts"}}
	},
	"GET /api/2.0/mlflow-artifacts/artifacts/{path...}": func(f fixture, me string) (string, any) {
		return "/api/2.0/mlflow-artifacts/artifacts/" + f.Exp + "/" + f.Run + "/artifacts/model/f.txt", nil
	},
	"PUT /api/2.0/mlflow-artifacts/artifacts/{path...}": func(f fixture, me string) (string, any) {
		return "/api/2.0/mlflow-artifacts/artifacts/" + f.Exp + "/" + f.Run + "/artifacts/" + me + ".txt", "x"
	},
	"POST /api/2.0/mlflow-artifacts/artifacts/{path...}": func(f fixture, me string) (string, any) {
		return "/api/2.0/mlflow-artifacts/artifacts/" + f.Exp + "/" + f.Run + "/artifacts/" + me + "-post.txt", "x"
	},
	"DELETE /api/2.0/mlflow-artifacts/artifacts/{path...}": func(f fixture, me string) (string, any) {
		return "/api/2.0/mlflow-artifacts/artifacts/" + f.Exp + "/" + f.Run + "/artifacts/model/f.txt", nil
	},
	"POST /api/2.0/mlflow-artifacts/mpu/{verb}/{path...}": func(f fixture, me string) (string, any) {
		return "/api/2.0/mlflow-artifacts/mpu/create/" + f.Exp + "/" + f.Run + "/artifacts/big.bin", obj{"num_parts": 2}
	},
	// MLflow's GraphQL endpoint: a run with its experiment and model
	// versions, and an experiment (graphql_test.go checks each object
	// resolved per level).
	"POST /graphql": func(f fixture, me string) (string, any) {
		return "/graphql", obj{"query": `{ mlflowGetRun(input: {runId: "` + f.Run + `"}) { run { info { runId } experiment { name } modelVersions { name } } } }`}
	},
	"GET /graphql": func(f fixture, me string) (string, any) {
		return "/graphql", q{"query": {`{ mlflowGetExperiment(input: {experimentId: "` + f.Exp + `"}) { experiment { name } } }`}}
	},
	// The server's own routes.
	"/api/":        func(f fixture, me string) (string, any) { return "/api/2.0/mlflow/no-such-endpoint", nil },
	"/ajax-api/":   func(f fixture, me string) (string, any) { return "/ajax-api/2.0/mlflow/no-such-endpoint", nil },
	"/v1/":         func(f fixture, me string) (string, any) { return "/v1/no-such-endpoint", nil },
	"GET /health":  func(f fixture, me string) (string, any) { return "/health", nil },
	"GET /version": func(f fixture, me string) (string, any) { return "/version", nil },
	"GET /metrics": func(f fixture, me string) (string, any) { return "/metrics", nil },
	"/":            func(f fixture, me string) (string, any) { return "/no/such/page", nil },
	"GET /{$}":     func(f fixture, me string) (string, any) { return "/", nil },
}

// wantRules is the specification the server's rules are held to, written
// out here rather than read from the route tables: MLflow's (READ to read,
// EDIT to change, MANAGE to delete, rename and grant; creates and searches
// for any signed-in user, searches filtered), plus users/ for admins (and
// the user themself for get and update-password), and webhooks/ for admins
// (a webhook belongs to no experiment or model and reads every registry
// event).
var wantRules = map[string]tracking.Rule{
	"GET artifacts/list":                                 tracking.NeedRead,
	"POST experiments/create":                            tracking.SignedIn,
	"POST experiments/delete":                            tracking.NeedManage,
	"POST experiments/delete-experiment-tag":             tracking.NeedEdit,
	"GET experiments/get":                                tracking.NeedRead,
	"GET experiments/get-by-name":                        tracking.NeedRead,
	"POST experiments/restore":                           tracking.NeedManage,
	"GET experiments/search":                             tracking.SignedIn,
	"POST experiments/search":                            tracking.SignedIn,
	"POST experiments/set-experiment-tag":                tracking.NeedEdit,
	"POST experiments/update":                            tracking.NeedEdit,
	"POST logged-models/search":                          tracking.SignedIn,
	"POST logged-models":                                 tracking.NeedEdit,
	"GET logged-models/{model_id}":                       tracking.NeedRead,
	"PATCH logged-models/{model_id}":                     tracking.NeedEdit,
	"DELETE logged-models/{model_id}":                    tracking.NeedEdit,
	"PATCH logged-models/{model_id}/tags":                tracking.NeedEdit,
	"DELETE logged-models/{model_id}/tags/{tag_key}":     tracking.NeedEdit,
	"POST logged-models/{model_id}/params":               tracking.NeedEdit,
	"GET logged-models/{model_id}/artifacts/directories": tracking.NeedRead,
	"GET logged-models/{model_id}/artifacts/files":       tracking.NeedRead,
	"POST experiments/search-datasets":                   tracking.SignedIn,
	"POST upload-artifact":                               tracking.NeedEdit,
	"POST runs/outputs":                                  tracking.NeedEdit,
	"POST webhooks":                                      tracking.AdminOnly,
	"GET webhooks":                                       tracking.AdminOnly,
	"GET webhooks/{webhook_id}":                          tracking.AdminOnly,
	"PATCH webhooks/{webhook_id}":                        tracking.AdminOnly,
	"DELETE webhooks/{webhook_id}":                       tracking.AdminOnly,
	"POST webhooks/{webhook_id}/test":                    tracking.AdminOnly,
	// MLflow 3's evaluation datasets and scorers (authz in
	// tracking/evaldatasets.go and tracking/scorers.go): a dataset's
	// permissions are its experiments'; a scorer's its experiment's.
	"POST 3.0/datasets/create":                                                tracking.NeedEdit,
	"POST 3.0/datasets/search":                                                tracking.SignedIn,
	"GET 3.0/datasets/search":                                                 tracking.SignedIn,
	"GET 3.0/datasets/{dataset_id}":                                           tracking.NeedRead,
	"DELETE 3.0/datasets/{dataset_id}":                                        tracking.NeedManage,
	"PATCH 3.0/datasets/{dataset_id}/tags":                                    tracking.NeedEdit,
	"DELETE 3.0/datasets/{dataset_id}/tags/{key}":                             tracking.NeedEdit,
	"POST 3.0/datasets/{dataset_id}/records":                                  tracking.NeedEdit,
	"GET 3.0/datasets/{dataset_id}/records":                                   tracking.NeedRead,
	"GET 3.0/datasets/{dataset_id}/experiment-ids":                            tracking.NeedRead,
	"POST 3.0/datasets/{dataset_id}/add-experiments":                          tracking.NeedEdit,
	"POST 3.0/datasets/{dataset_id}/remove-experiments":                       tracking.NeedEdit,
	"POST 3.0/scorers/register":                                               tracking.NeedEdit,
	"GET 3.0/scorers/list":                                                    tracking.NeedRead,
	"GET 3.0/scorers/versions":                                                tracking.NeedRead,
	"GET 3.0/scorers/get":                                                     tracking.NeedRead,
	"DELETE 3.0/scorers/delete":                                               tracking.NeedManage,
	"POST runs/create-promptlab-run":                                          tracking.NeedEdit,
	"GET metrics/get-history":                                                 tracking.NeedRead,
	"GET metrics/get-history-bulk":                                            tracking.NeedRead,
	"GET metrics/get-history-bulk-interval":                                   tracking.NeedRead,
	"POST model-versions/create":                                              tracking.NeedEdit,
	"DELETE model-versions/delete":                                            tracking.NeedManage,
	"DELETE model-versions/delete-tag":                                        tracking.NeedEdit,
	"GET model-versions/get":                                                  tracking.NeedRead,
	"GET model-versions/get-download-uri":                                     tracking.NeedRead,
	"GET model-versions/search":                                               tracking.SignedIn,
	"POST model-versions/set-tag":                                             tracking.NeedEdit,
	"POST model-versions/transition-stage":                                    tracking.NeedEdit,
	"PATCH model-versions/update":                                             tracking.NeedEdit,
	"DELETE registered-models/alias":                                          tracking.NeedEdit,
	"GET registered-models/alias":                                             tracking.NeedRead,
	"POST registered-models/alias":                                            tracking.NeedEdit,
	"POST registered-models/create":                                           tracking.SignedIn,
	"DELETE registered-models/delete":                                         tracking.NeedManage,
	"DELETE registered-models/delete-tag":                                     tracking.NeedEdit,
	"GET registered-models/get":                                               tracking.NeedRead,
	"GET registered-models/get-latest-versions":                               tracking.NeedRead,
	"POST registered-models/get-latest-versions":                              tracking.NeedRead,
	"POST registered-models/rename":                                           tracking.NeedManage,
	"GET registered-models/search":                                            tracking.SignedIn,
	"POST registered-models/set-tag":                                          tracking.NeedEdit,
	"PATCH registered-models/update":                                          tracking.NeedEdit,
	"POST runs/create":                                                        tracking.NeedEdit,
	"POST runs/delete":                                                        tracking.NeedManage,
	"POST runs/delete-tag":                                                    tracking.NeedEdit,
	"GET runs/get":                                                            tracking.NeedRead,
	"POST runs/log-batch":                                                     tracking.NeedEdit,
	"POST runs/log-inputs":                                                    tracking.NeedEdit,
	"POST runs/log-metric":                                                    tracking.NeedEdit,
	"POST runs/log-model":                                                     tracking.NeedEdit,
	"POST runs/log-parameter":                                                 tracking.NeedEdit,
	"POST runs/restore":                                                       tracking.NeedManage,
	"GET runs/search":                                                         tracking.SignedIn,
	"POST runs/search":                                                        tracking.SignedIn,
	"POST runs/set-tag":                                                       tracking.NeedEdit,
	"POST runs/update":                                                        tracking.NeedEdit,
	"POST users/create":                                                       tracking.AdminOnly,
	"GET users/get":                                                           tracking.SignedIn,
	"PATCH users/update-password":                                             tracking.SignedIn,
	"PATCH users/update-admin":                                                tracking.AdminOnly,
	"DELETE users/delete":                                                     tracking.AdminOnly,
	"POST experiments/permissions/create":                                     tracking.NeedManage,
	"GET experiments/permissions/get":                                         tracking.NeedManage,
	"PATCH experiments/permissions/update":                                    tracking.NeedManage,
	"DELETE experiments/permissions/delete":                                   tracking.NeedManage,
	"POST registered-models/permissions/create":                               tracking.NeedManage,
	"GET registered-models/permissions/get":                                   tracking.NeedManage,
	"PATCH registered-models/permissions/update":                              tracking.NeedManage,
	"DELETE registered-models/permissions/delete":                             tracking.NeedManage,
	"GET /get-artifact":                                                       tracking.NeedRead,
	"GET /model-versions/get-artifact":                                        tracking.NeedRead,
	"GET /api/2.0/mlflow-artifacts/artifacts":                                 tracking.NeedRead,
	"GET /api/2.0/mlflow-artifacts/artifacts/{path...}":                       tracking.NeedRead,
	"PUT /api/2.0/mlflow-artifacts/artifacts/{path...}":                       tracking.NeedEdit,
	"POST /api/2.0/mlflow-artifacts/artifacts/{path...}":                      tracking.NeedEdit,
	"DELETE /api/2.0/mlflow-artifacts/artifacts/{path...}":                    tracking.NeedManage,
	"POST /api/2.0/mlflow-artifacts/mpu/{verb}/{path...}":                     tracking.NeedEdit,
	"POST traces":                                                             tracking.NeedEdit,
	"GET traces":                                                              tracking.NeedRead,
	"PATCH traces/{request_id}":                                               tracking.NeedEdit,
	"GET traces/{request_id}/info":                                            tracking.NeedRead,
	"PATCH traces/{trace_id}/tags":                                            tracking.NeedEdit,
	"DELETE traces/{trace_id}/tags":                                           tracking.NeedEdit,
	"POST traces/delete-traces":                                               tracking.NeedEdit,
	"POST traces/link-to-run":                                                 tracking.NeedEdit,
	"GET get-trace-artifact":                                                  tracking.NeedRead,
	"POST " + tracking.V3 + "traces":                                          tracking.NeedEdit,
	"GET " + tracking.V3 + "traces/{trace_id}":                                tracking.NeedRead,
	"GET " + tracking.V3 + "traces/get":                                       tracking.NeedRead,
	"GET " + tracking.V3 + "traces/batchGet":                                  tracking.NeedRead,
	"POST " + tracking.V3 + "traces/search":                                   tracking.NeedRead,
	"POST " + tracking.V3 + "traces/delete-traces":                            tracking.NeedEdit,
	"POST " + tracking.V3 + "traces/calculate-filter-correlation":             tracking.NeedRead,
	"PATCH " + tracking.V3 + "traces/{trace_id}/tags":                         tracking.NeedEdit,
	"DELETE " + tracking.V3 + "traces/{trace_id}/tags":                        tracking.NeedEdit,
	"POST " + tracking.V3 + "traces/{trace_id}/assessments":                   tracking.NeedEdit,
	"GET " + tracking.V3 + "traces/{trace_id}/assessments/{assessment_id}":    tracking.NeedRead,
	"PATCH " + tracking.V3 + "traces/{trace_id}/assessments/{assessment_id}":  tracking.NeedEdit,
	"DELETE " + tracking.V3 + "traces/{trace_id}/assessments/{assessment_id}": tracking.NeedEdit,
	"POST /v1/traces":                                                         tracking.NeedEdit,
	"/api/":                                                                   tracking.SignedIn,
	"/ajax-api/":                                                              tracking.SignedIn,
	"/v1/":                                                                    tracking.SignedIn,
	"POST /graphql":                                                           tracking.SignedIn,
	"GET /graphql":                                                            tracking.SignedIn,
	"GET /health":                                                             tracking.Public,
	"GET /version":                                                            tracking.Public,
	"GET /metrics":                                                            tracking.AdminOnly,
	"/":                                                                       tracking.SignedIn,
	"GET /{$}":                                                                tracking.SignedIn,
}

// TestRoutesHaveRules: every route of the server has a row in the matrix
// and the rule the specification gives it.
func TestRoutesHaveRules(t *testing.T) {
	for _, rt := range append(tracking.Routes(), auth.Routes()...) {
		if !rt.Rule.Valid() {
			t.Errorf("%s %s: no rule", rt.Method, rt.Path)
		}
		if requests[rt.Method+" "+rt.Path] == nil {
			t.Errorf("%s %s has no row in the permission matrix", rt.Method, rt.Path)
		}
		if w, ok := wantRules[rt.Method+" "+rt.Path]; !ok || w != rt.Rule {
			t.Errorf("%s %s: rule %s, the specification says %q", rt.Method, rt.Path, rt.Rule, w)
		}
	}
	for _, rt := range append(tracking.ProxyRoutes(), server.Routes()...) {
		key := strings.TrimSpace(rt.Method + " " + rt.Path)
		if !rt.Rule.Valid() {
			t.Errorf("%s: no rule", key)
		}
		if otherRequests[key] == nil {
			t.Errorf("%s has no row in the permission matrix", key)
		}
		if w, ok := wantRules[key]; !ok || w != rt.Rule {
			t.Errorf("%s: rule %s, the specification says %q", key, rt.Rule, w)
		}
	}
}

// matrixRoute is one route to run through the matrix.
type matrixRoute struct {
	method, key string
	rule        tracking.Rule
	build       func(f fixture, me string) (string, any)
}

func matrixRoutes() []matrixRoute {
	var out []matrixRoute
	for _, rt := range append(tracking.Routes(), auth.Routes()...) {
		b := requests[rt.Method+" "+rt.Path]
		for _, path := range tracking.Mounts(rt.Path) {
			// Path values of the MLflow 3 routes name the fixture's logged
			// model, webhook, evaluation dataset, trace and assessment.
			build := func(f fixture, me string) (string, any) {
				return strings.NewReplacer("{model_id}", f.LoggedModel, "{tag_key}", "k", "{webhook_id}", f.Webhook, "{dataset_id}", f.Dataset, "{key}", "k",
					"{trace_id}", f.Trace, "{request_id}", f.Trace, "{assessment_id}", f.Assessment).Replace(path), b(f, me)
			}
			out = append(out, matrixRoute{rt.Method, rt.Method + " " + path, wantRules[rt.Method+" "+rt.Path], build})
			if rt.Method == "GET" {
				out = append(out, matrixRoute{"HEAD", "HEAD " + path, wantRules[rt.Method+" "+rt.Path], build})
			}
		}
	}
	for _, rt := range append(tracking.ProxyRoutes(), server.Routes()...) {
		key := strings.TrimSpace(rt.Method + " " + rt.Path)
		m := rt.Method
		if m == "" {
			m = "GET"
		}
		out = append(out, matrixRoute{m, key, wantRules[key], otherRequests[key]})
	}
	return out
}

func TestPermissionMatrix(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend)
			for _, rt := range matrixRoutes() {
				f := e.fixture()
				for _, level := range append([]string{""}, levels...) {
					me := ""
					if level != "" {
						me = userOf(level)
					}
					path, body := rt.build(f, me)
					code, out, _ := e.as(level).do(rt.method, path, body)
					allowed := rt.rule == tracking.Public || rt.rule == tracking.SignedIn && level != "" ||
						rt.rule.Valid() && rank[rt.rule] > 0 && level != "" && levelRank(level) >= rank[rt.rule]
					switch {
					case level == "" && rt.rule != tracking.Public:
						if code != 401 {
							t.Errorf("%s anonymous: %d %v, want 401", rt.key, code, out)
						}
					case allowed:
						if code == 401 || code == 403 || code >= 500 && code != 501 {
							t.Errorf("%s as %s: %d %v, want it allowed", rt.key, me, code, out)
						}
					default:
						if code != 403 {
							t.Errorf("%s as %s: %d %v, want 403", rt.key, me, code, out)
						}
					}
				}
			}
		})
	}
}
