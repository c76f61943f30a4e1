package storetest

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

const api = "/api/2.0/mlflow/"

func getRun(t *testing.T, c *Client, id string) map[string]any {
	t.Helper()
	return obj(c.OK("GET", api+"runs/get", url.Values{"run_id": {id}})["run"])
}

func testRuns(t *testing.T, c *Client) {
	exp := newExperiment(t, c)
	r := obj(c.OK("POST", api+"runs/create", map[string]any{"experiment_id": exp, "user_id": "ann", "run_name": "first",
		"start_time": 1234, "tags": []any{map[string]any{"key": "k", "value": "v"}}})["run"])
	info := obj(r["info"])
	id := str(info["run_id"])
	t.Run("create", func(t *testing.T) {
		if len(id) != 32 {
			t.Fatalf("run_id %q is not a 32-char uuid", id)
		}
		eq(t, "run_uuid", str(info["run_uuid"]), id)
		eq(t, "experiment_id", str(info["experiment_id"]), exp)
		eq(t, "user_id", str(info["user_id"]), "ann")
		eq(t, "run_name", str(info["run_name"]), "first")
		eq(t, "status", str(info["status"]), "RUNNING")
		eq(t, "start_time", num(info["start_time"]), 1234.0)
		eq(t, "lifecycle_stage", str(info["lifecycle_stage"]), "active")
		eq(t, "artifact_uri", str(info["artifact_uri"]), "mlflow-artifacts:/"+exp+"/"+id+"/artifacts")
		if _, ok := info["end_time"]; ok {
			t.Fatal("end_time set on a new run")
		}
		tags := kv(obj(r["data"])["tags"])
		eq(t, "tag k", tags["k"], any("v"))
		eq(t, "mlflow.runName", tags["mlflow.runName"], any("first"))
	})
	t.Run("generated name", func(t *testing.T) {
		c := c.For(t)
		r := obj(c.OK("POST", api+"runs/create", map[string]any{"experiment_id": exp})["run"])
		if str(obj(r["info"])["run_name"]) == "" {
			t.Fatal("no run name generated")
		}
	})
	t.Run("update", func(t *testing.T) {
		c := c.For(t)
		ri := obj(c.OK("POST", api+"runs/update", map[string]any{"run_id": id, "status": "FINISHED", "end_time": 5678, "run_name": "second"})["run_info"])
		eq(t, "status", str(ri["status"]), "FINISHED")
		eq(t, "end_time", num(ri["end_time"]), 5678.0)
		eq(t, "run_name", str(ri["run_name"]), "second")
		run := getRun(t, c, id)
		eq(t, "tag mlflow.runName", kv(obj(run["data"])["tags"])["mlflow.runName"], any("second"))
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"runs/update", map[string]any{"run_id": id, "status": "DONE"})
		// run_uuid is accepted in place of run_id.
		c.OK("POST", api+"runs/update", map[string]any{"run_uuid": id, "status": "KILLED"})
		eq(t, "status", str(obj(getRun(t, c, id)["info"])["status"]), "KILLED")
	})
	t.Run("tags", func(t *testing.T) {
		c := c.For(t)
		c.OK("POST", api+"runs/set-tag", map[string]any{"run_id": id, "key": "k", "value": "v2"})
		eq(t, "overwritten", kv(obj(getRun(t, c, id)["data"])["tags"])["k"], any("v2"))
		c.OK("POST", api+"runs/delete-tag", map[string]any{"run_id": id, "key": "k"})
		if _, ok := kv(obj(getRun(t, c, id)["data"])["tags"])["k"]; ok {
			t.Fatal("tag not deleted")
		}
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "POST", api+"runs/delete-tag", map[string]any{"run_id": id, "key": "k"})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"runs/set-tag", map[string]any{"run_id": id, "key": "bad\x01key", "value": "x"})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"runs/set-tag", map[string]any{"run_id": id, "key": "../up", "value": "x"})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"runs/set-tag", map[string]any{"run_id": id, "key": "long", "value": strings.Repeat("x", 8001)})
		c.OK("POST", api+"runs/set-tag", map[string]any{"run_id": id, "key": "long", "value": strings.Repeat("x", 8000)})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"runs/set-tag", map[string]any{"run_id": id, "key": strings.Repeat("k", 251), "value": "x"})
	})
	t.Run("not found", func(t *testing.T) {
		c := c.For(t)
		missing := "0123456789abcdef0123456789abcdef"
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "GET", api+"runs/get", url.Values{"run_id": {missing}})
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "POST", api+"runs/log-metric", map[string]any{"run_id": missing, "key": "m", "value": 1, "timestamp": 1})
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "POST", api+"runs/create", map[string]any{"experiment_id": "424242"})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "GET", api+"runs/get", nil)
	})
	t.Run("delete and restore", func(t *testing.T) {
		c := c.For(t)
		c.OK("POST", api+"runs/delete", map[string]any{"run_id": id})
		eq(t, "stage", str(obj(getRun(t, c, id)["info"])["lifecycle_stage"]), "deleted")
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"runs/log-parameter", map[string]any{"run_id": id, "key": "p", "value": "1"})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"runs/set-tag", map[string]any{"run_id": id, "key": "p", "value": "1"})
		c.OK("POST", api+"runs/restore", map[string]any{"run_id": id})
		eq(t, "stage", str(obj(getRun(t, c, id)["info"])["lifecycle_stage"]), "active")
	})
	t.Run("log-model", func(t *testing.T) {
		c := c.For(t)
		model := `{"artifact_path": "model", "flavors": {"python_function": {}}, "utc_time_created": "2024-01-01 00:00:00", "run_id": "` + id + `"}`
		c.OK("POST", api+"runs/log-model", map[string]any{"run_id": id, "model_json": model})
		c.OK("POST", api+"runs/log-model", map[string]any{"run_id": id, "model_json": model})
		h := str(kv(obj(getRun(t, c, id)["data"])["tags"])["mlflow.log-model.history"])
		if strings.Count(h, `"artifact_path":"model"`) != 2 {
			t.Fatalf("log-model history: %s", h)
		}
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"runs/log-model", map[string]any{"run_id": id, "model_json": "{not json"})
	})
}

func testMetrics(t *testing.T, c *Client) {
	exp := newExperiment(t, c)
	id := newRun(t, c, exp)
	for i, v := range []any{0.5, 0.25, "NaN", 0.75, "Infinity"} {
		c.OK("POST", api+"runs/log-metric", map[string]any{"run_id": id, "key": "loss", "value": v, "timestamp": 100 + i, "step": i})
	}
	// An older step logged later does not become the latest value.
	c.OK("POST", api+"runs/log-metric", map[string]any{"run_id": id, "key": "loss", "value": 9, "timestamp": 999, "step": 1})
	t.Run("latest in run", func(t *testing.T) {
		c := c.For(t)
		m := list(obj(getRun(t, c, id)["data"])["metrics"])
		eq(t, "metrics", len(m), 1)
		eq(t, "latest value", obj(m[0])["value"], any("Infinity"))
		eq(t, "latest step", num(obj(m[0])["step"]), 4.0)
	})
	t.Run("history", func(t *testing.T) {
		c := c.For(t)
		h := list(c.OK("GET", api+"metrics/get-history", url.Values{"run_id": {id}, "metric_key": {"loss"}})["metrics"])
		var got []string
		for _, p := range h {
			got = append(got, fmt.Sprintf("%v@%v", obj(p)["value"], obj(p)["step"]))
		}
		eq(t, "history", strings.Join(got, " "), "0.5@0 0.25@1 9@1 NaN@2 0.75@3 Infinity@4")
	})
	t.Run("history paging", func(t *testing.T) {
		c := c.For(t)
		var got []string
		token := ""
		for pages := 0; ; pages++ {
			q := url.Values{"run_id": {id}, "metric_key": {"loss"}, "max_results": {"4"}}
			if token != "" {
				q.Set("page_token", token)
			}
			b := c.OK("GET", api+"metrics/get-history", q)
			for _, p := range list(b["metrics"]) {
				got = append(got, fmt.Sprint(obj(p)["value"]))
			}
			token = str(b["next_page_token"])
			if token == "" {
				eq(t, "pages", pages+1, 2)
				break
			}
		}
		eq(t, "paged history", strings.Join(got, " "), "0.5 0.25 9 NaN 0.75 Infinity")
	})
	t.Run("bulk interval", func(t *testing.T) {
		c := c.For(t)
		b := c.OK("GET", api+"metrics/get-history-bulk-interval", url.Values{"run_ids": {id}, "metric_key": {"loss"}, "start_step": {"1"}, "end_step": {"3"}})
		m := list(b["metrics"])
		eq(t, "points", len(m), 4)
		eq(t, "run_id", str(obj(m[0])["run_id"]), id)
		// Sampling as MLflow: 10 steps, max_results 4 -> interval 2.5 ->
		// steps 0, 2, 5, 7, plus the last step 9.
		var ms []any
		for i := range 10 {
			ms = append(ms, map[string]any{"key": "s", "value": i, "timestamp": 1, "step": i})
		}
		c.OK("POST", api+"runs/log-batch", map[string]any{"run_id": id, "metrics": ms})
		b = c.OK("GET", api+"metrics/get-history-bulk-interval", url.Values{"run_ids": {id}, "metric_key": {"s"}, "max_results": {"4"}})
		var steps []string
		for _, p := range list(b["metrics"]) {
			steps = append(steps, fmt.Sprint(obj(p)["step"]))
		}
		eq(t, "sampled steps", strings.Join(steps, ","), "0,2,5,7,9")
		c.Fail(400, "INVALID_PARAMETER_VALUE", "GET", api+"metrics/get-history-bulk-interval", url.Values{"run_ids": {id}, "metric_key": {"s"}, "max_results": {"2501"}})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "GET", api+"metrics/get-history-bulk-interval", url.Values{"run_ids": {id}, "metric_key": {"s"}, "start_step": {"3"}})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "GET", api+"metrics/get-history-bulk-interval", url.Values{"run_ids": {id}, "metric_key": {"s"}, "start_step": {"5"}, "end_step": {"1"}})
	})
	t.Run("history bulk", func(t *testing.T) {
		c := c.For(t)
		other := newRun(t, c, exp)
		c.OK("POST", api+"runs/log-metric", map[string]any{"run_id": other, "key": "loss", "value": 3, "timestamp": 50, "step": 0})
		b := c.OK("GET", "/ajax-api/2.0/mlflow/metrics/get-history-bulk", url.Values{"run_id": {id, other}, "metric_key": {"loss"}})
		eq(t, "points", len(list(b["metrics"])), 7)
		b = c.OK("GET", "/ajax-api/2.0/mlflow/metrics/get-history-bulk", url.Values{"run_id": {id, other}, "metric_key": {"loss"}, "max_results": {"2"}})
		eq(t, "limited", len(list(b["metrics"])), 2)
		c.Fail(400, "INVALID_PARAMETER_VALUE", "GET", "/ajax-api/2.0/mlflow/metrics/get-history-bulk", url.Values{"metric_key": {"loss"}})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "GET", "/ajax-api/2.0/mlflow/metrics/get-history-bulk", url.Values{"run_id": {id}})
	})
	t.Run("missing metric is empty", func(t *testing.T) {
		c := c.For(t)
		b := c.OK("GET", api+"metrics/get-history", url.Values{"run_id": {id}, "metric_key": {"nope"}})
		eq(t, "metrics", len(list(b["metrics"])), 0)
	})
	t.Run("errors", func(t *testing.T) {
		c := c.For(t)
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"runs/log-metric", map[string]any{"run_id": id, "key": "m", "value": 1})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"runs/log-metric", map[string]any{"run_id": id, "key": "m", "timestamp": 1})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"runs/log-metric", map[string]any{"run_id": id, "key": "", "value": 1, "timestamp": 1})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"runs/log-metric", map[string]any{"run_id": id, "key": "m", "value": 1, "timestamp": 1.5})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "GET", api+"metrics/get-history", url.Values{"run_id": {id}})
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "GET", api+"metrics/get-history", url.Values{"run_id": {"ffffffffffffffffffffffffffffffff"}, "metric_key": {"loss"}})
	})
}

func testParams(t *testing.T, c *Client) {
	exp := newExperiment(t, c)
	id := newRun(t, c, exp)
	c.OK("POST", api+"runs/log-parameter", map[string]any{"run_id": id, "key": "lr", "value": "0.1"})
	c.OK("POST", api+"runs/log-parameter", map[string]any{"run_id": id, "key": "lr", "value": "0.1"})
	r := c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"runs/log-parameter", map[string]any{"run_id": id, "key": "lr", "value": "0.2"})
	if !strings.Contains(str(r.Body["message"]), "Changing param values is not allowed") {
		t.Fatalf("message: %s", r.Raw)
	}
	eq(t, "lr", kv(obj(getRun(t, c, id)["data"])["params"])["lr"], any("0.1"))
	c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"runs/log-parameter", map[string]any{"run_id": id, "key": "big", "value": strings.Repeat("v", 6001)})
	c.OK("POST", api+"runs/log-parameter", map[string]any{"run_id": id, "key": "big", "value": strings.Repeat("v", 6000)})
	c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"runs/log-parameter", map[string]any{"run_id": id, "key": "nov"})
}

func testLogBatch(t *testing.T, c *Client) {
	exp := newExperiment(t, c)
	id := newRun(t, c, exp)
	metrics := func(n int) []any {
		var out []any
		for i := range n {
			out = append(out, map[string]any{"key": "m", "value": float64(i), "timestamp": 1, "step": i})
		}
		return out
	}
	kvs := func(n int, prefix string) []any {
		var out []any
		for i := range n {
			out = append(out, map[string]any{"key": fmt.Sprintf("%s%d", prefix, i), "value": "v"})
		}
		return out
	}
	c.OK("POST", api+"runs/log-batch", map[string]any{"run_id": id, "metrics": metrics(1000)})
	c.OK("POST", api+"runs/log-batch", map[string]any{"run_id": id, "params": kvs(100, "p"), "tags": kvs(100, "t"),
		"metrics": []any{map[string]any{"key": "acc", "value": 0.9, "timestamp": 5}}})
	run := getRun(t, c, id)
	d := obj(run["data"])
	eq(t, "params", len(list(d["params"])), 100)
	eq(t, "latest m", num(obj(list(d["metrics"])[1])["value"]), 999.0)
	h := list(c.OK("GET", api+"metrics/get-history", url.Values{"run_id": {id}, "metric_key": {"m"}})["metrics"])
	eq(t, "history", len(h), 1000)
	t.Run("limits", func(t *testing.T) {
		c := c.For(t)
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"runs/log-batch", map[string]any{"run_id": id, "metrics": metrics(1001)})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"runs/log-batch", map[string]any{"run_id": id, "params": kvs(101, "q")})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"runs/log-batch", map[string]any{"run_id": id, "tags": kvs(101, "u")})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"runs/log-batch", map[string]any{"run_id": id, "metrics": metrics(950), "params": kvs(60, "r")})
	})
	t.Run("atomic on param conflict", func(t *testing.T) {
		c := c.For(t)
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"runs/log-batch", map[string]any{"run_id": id,
			"params":  []any{map[string]any{"key": "p0", "value": "changed"}},
			"metrics": []any{map[string]any{"key": "never", "value": 1, "timestamp": 1}}})
		h := list(c.OK("GET", api+"metrics/get-history", url.Values{"run_id": {id}, "metric_key": {"never"}})["metrics"])
		eq(t, "metrics of failed batch", len(h), 0)
	})
	t.Run("missing metric fields", func(t *testing.T) {
		c := c.For(t)
		r := c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"runs/log-batch", map[string]any{"run_id": id, "metrics": []any{map[string]any{"key": "mae", "value": 2.5}}})
		eq(t, "message", str(r.Body["message"]), "Missing value for required parameter 'metrics[0].timestamp'")
		r = c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"runs/log-batch", map[string]any{"run_id": id, "metrics": []any{map[string]any{"key": "mae", "value": 2.5, "timestamp": 1}, map[string]any{"key": "x", "timestamp": 1, "step": "1"}}})
		eq(t, "message", str(r.Body["message"]), "Missing value for required parameter 'metrics[1].value'")
	})
	t.Run("missing run_id", func(t *testing.T) {
		c := c.For(t)
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"runs/log-batch", map[string]any{"metrics": metrics(1)})
	})
}

func testLogInputs(t *testing.T, c *Client) {
	exp := newExperiment(t, c)
	id := newRun(t, c, exp)
	other := newRun(t, c, exp)
	ds := func(name, digest, ctx string) map[string]any {
		return map[string]any{"tags": []any{map[string]any{"key": "mlflow.data.context", "value": ctx}},
			"dataset": map[string]any{"name": name, "digest": digest, "source_type": "local", "source": `{"uri": "/data/x.csv"}`, "schema": `{"mlflow_colspec": []}`}}
	}
	c.OK("POST", api+"runs/log-inputs", map[string]any{"run_id": id, "datasets": []any{ds("train", "abc123", "training"), ds("eval", "def456", "eval")}})
	c.OK("POST", api+"runs/log-inputs", map[string]any{"run_id": other, "datasets": []any{ds("train", "abc123", "training")}})
	in := list(obj(getRun(t, c, id)["inputs"])["dataset_inputs"])
	eq(t, "inputs", len(in), 2)
	first := obj(in[0])
	eq(t, "dataset name", str(obj(first["dataset"])["name"]), "eval")
	eq(t, "digest", str(obj(first["dataset"])["digest"]), "def456")
	eq(t, "context", kv(first["tags"])["mlflow.data.context"], any("eval"))
	b := c.OK("POST", api+"runs/search", map[string]any{"experiment_ids": []string{exp}, "filter": "datasets.name = 'eval'"})
	eq(t, "runs with eval", len(list(b["runs"])), 1)
	b = c.OK("POST", api+"runs/search", map[string]any{"experiment_ids": []string{exp}, "filter": "datasets.digest IN ('abc123')"})
	eq(t, "runs with abc123", len(list(b["runs"])), 2)
	b = c.OK("POST", api+"runs/search", map[string]any{"experiment_ids": []string{exp}, "filter": "datasets.context = 'eval'"})
	eq(t, "runs with context eval", len(list(b["runs"])), 1)
	c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"runs/log-inputs", map[string]any{"run_id": id, "datasets": []any{map[string]any{"dataset": map[string]any{"name": "x"}}}})
}
