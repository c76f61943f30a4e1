package storetest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func testProtocol(t *testing.T, c *Client) {
	exp := newExperiment(t, c)
	run := newRun(t, c, exp)
	t.Run("unknown endpoint", func(t *testing.T) {
		c := c.For(t)
		c.Fail(404, "ENDPOINT_NOT_FOUND", "GET", "/api/2.0/mlflow/no-such-thing", nil)
	})
	t.Run("wrong method", func(t *testing.T) {
		c := c.For(t)
		r := c.Fail(405, "METHOD_NOT_ALLOWED", "GET", "/api/2.0/mlflow/runs/log-batch", nil)
		_ = r
	})
	t.Run("malformed JSON", func(t *testing.T) {
		c := c.For(t)
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", "/api/2.0/mlflow/runs/log-batch", `{"run_id": "`+run+`", "metrics": [`)
	})
	t.Run("trailing garbage", func(t *testing.T) {
		c := c.For(t)
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", "/api/2.0/mlflow/runs/log-batch", `{"run_id": "`+run+`"} x`)
	})
	t.Run("wrong type", func(t *testing.T) {
		c := c.For(t)
		r := c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", "/api/2.0/mlflow/runs/log-metric",
			map[string]any{"run_id": run, "key": "k", "value": "abc", "timestamp": 1})
		_ = r
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", "/api/2.0/mlflow/runs/log-batch",
			map[string]any{"run_id": run, "params": "notalist"})
	})
	t.Run("MLflow's wording for wrong types", func(t *testing.T) {
		c := c.For(t)
		r := c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", "/api/2.0/mlflow/experiments/create", map[string]any{"name": 123})
		hasPrefix(t, "message", str(r.Body["message"]), "Invalid value 123 for parameter 'name' supplied")
		r = c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", "/api/2.0/mlflow/runs/log-batch", map[string]any{"run_id": run, "metrics": "foo"})
		hasPrefix(t, "message", str(r.Body["message"]), `Invalid value "foo" for parameter 'metrics' supplied`)
		r = c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", "/api/2.0/mlflow/runs/log-metric", map[string]any{"run_id": run, "key": "k", "value": 1, "timestamp": 1, "step": "foo"})
		hasPrefix(t, "message", str(r.Body["message"]), `Invalid value "foo" for parameter 'step' supplied`)
		r = c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", "/api/2.0/mlflow/runs/log-metric", map[string]any{"run_id": run, "key": "k", "value": "x", "timestamp": 1})
		hasPrefix(t, "message", str(r.Body["message"]), `Invalid value "x" for parameter 'value' supplied`)
		r = c.Fail(400, "INVALID_PARAMETER_VALUE", "GET", "/api/2.0/mlflow/artifacts/list", url.Values{"run_id": {run}, "path": {"../path"}})
		hasPrefix(t, "message", str(r.Body["message"]), "Invalid path")
	})
	t.Run("logged-models/search answers no models", func(t *testing.T) {
		c := c.For(t)
		r := c.Do("POST", "/api/2.0/mlflow/logged-models/search", map[string]any{"experiment_ids": []string{exp}, "filter": "name = 'sub'"})
		eq(t, "status", r.Status, 200)
		eq(t, "body", strings.TrimSpace(string(r.Raw)), "{}")
		// MLflow's store filters by experiment id without checking that the
		// experiment exists: an unknown one finds no models.
		r = c.Do("POST", "/api/2.0/mlflow/logged-models/search", map[string]any{"experiment_ids": []string{"987654"}})
		eq(t, "unknown experiment", r.Status, 200)
	})
	t.Run("unknown fields ignored", func(t *testing.T) {
		c := c.For(t)
		c.OK("POST", "/api/2.0/mlflow/runs/log-parameter", map[string]any{"run_id": run, "key": "u", "value": "1", "future_field": 3})
	})
	t.Run("content type", func(t *testing.T) {
		c := c.For(t)
		req, _ := http.NewRequest("POST", c.base+"/api/2.0/mlflow/runs/set-tag", strings.NewReader(`{"run_id":"`+run+`","key":"a","value":"b"}`))
		req.Header.Set("Content-Type", "text/plain")
		r := c.send(req)
		if r.Status != 400 || r.Body["error_code"] != "INVALID_PARAMETER_VALUE" {
			t.Fatalf("text/plain POST: %d %s", r.Status, r.Raw)
		}
	})
	t.Run("oversize body", func(t *testing.T) {
		c := c.For(t)
		big := `{"run_id":"` + run + `","tags":[{"key":"x","value":"` + strings.Repeat("a", 1<<20) + `"}]}`
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", "/api/2.0/mlflow/runs/log-batch", big)
	})
	t.Run("ajax prefix", func(t *testing.T) {
		c := c.For(t)
		r := c.OK("GET", "/ajax-api/2.0/mlflow/runs/get", url.Values{"run_id": {run}})
		eq(t, "run_id", str(obj(obj(r["run"])["info"])["run_id"]), run)
	})
	t.Run("empty success is {}", func(t *testing.T) {
		c := c.For(t)
		r := c.Do("POST", "/api/2.0/mlflow/runs/set-tag", map[string]any{"run_id": run, "key": "a", "value": "b"})
		eq(t, "body", strings.TrimSpace(string(r.Raw)), "{}")
	})
}

// hasPrefix asserts got starts with want (MLflow appends a type hint and a
// pointer to the API docs to these messages).
func hasPrefix(t *testing.T, what, got, want string) {
	t.Helper()
	if !strings.HasPrefix(got, want) {
		t.Fatalf("%s = %q, want it to start with %q", what, got, want)
	}
}
