package storetest

import (
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// testMLflowCompat asserts behaviours that MLflow 3.6's own REST tests and
// client depend on (see docs/mlflow-compat.md), each as MLflow's server
// answers them.
func testMLflowCompat(t *testing.T, c *Client) {
	t.Run("prompt filter", func(t *testing.T) { testPromptFilter(t, c.For(t)) })
	t.Run("logged models search", func(t *testing.T) { testLoggedModelsSearch(t, c.For(t)) })
	t.Run("multipart unsupported", func(t *testing.T) { testMultipartUnsupported(t, c.For(t)) })
	t.Run("error messages", func(t *testing.T) { testErrorMessages(t, c.For(t)) })
	t.Run("version source", func(t *testing.T) { testVersionSource(t, c.For(t)) })
	t.Run("field semantics", func(t *testing.T) { testFieldSemantics(t, c.For(t)) })
	t.Run("get-artifact", func(t *testing.T) { testGetArtifact(t, c.For(t)) })
	t.Run("bulk interval", func(t *testing.T) { testBulkInterval(t, c.For(t)) })
	t.Run("history bulk", func(t *testing.T) { testHistoryBulk(t, c.For(t)) })
}

// testPromptFilter: MLflow clients append
// "tag.`mlflow.prompt.is_prompt` != 'true'" to every registered-model
// search; MLflow's store leaves prompts out (anti-join on the tag) and keeps
// models that lack the tag. A "!=" on any other tag still needs the tag.
func testPromptFilter(t *testing.T, c *Client) {
	prefix := unique("pf")
	tag := func(k, v string) []any { return []any{map[string]any{"key": k, "value": v}} }
	for _, m := range []struct {
		n    string
		tags []any
	}{
		{"plain", nil},
		{"other", tag("team", "x")},
		{"prompt", tag("mlflow.prompt.is_prompt", "true")},
		{"notprompt", tag("mlflow.prompt.is_prompt", "false")},
	} {
		name := prefix + "-" + m.n
		c.OK("POST", api+"registered-models/create", map[string]any{"name": name, "tags": m.tags})
		c.OK("POST", api+"model-versions/create", map[string]any{"name": name, "source": "mlflow-artifacts:/0/r/artifacts/" + m.n, "tags": m.tags})
	}
	names := func(b map[string]any, field string) string {
		var s []string
		for _, m := range list(b[field]) {
			s = append(s, strings.TrimPrefix(str(obj(m)["name"]), prefix+"-"))
		}
		sort.Strings(s)
		return strings.Join(s, ",")
	}
	own := "name LIKE '" + prefix + "-%'"
	for _, tc := range []struct{ filter, want string }{
		// What MlflowClient.search_registered_models() sends.
		{"tag.`mlflow.prompt.is_prompt` != 'true'", "notprompt,other,plain"},
		{own + " AND tag.`mlflow.prompt.is_prompt` != 'true'", "notprompt,other,plain"},
		{own + " AND tags.`mlflow.prompt.is_prompt` = 'false'", "notprompt,other,plain"},
		// No prompt clause: prompts are still left out.
		{own, "notprompt,other,plain"},
		// Asking for prompts: the clause is an ordinary tag comparison.
		{own + " AND tag.`mlflow.prompt.is_prompt` = 'true'", "prompt"},
		{own + " AND tag.`mlflow.prompt.is_prompt` = 'TRUE'", ""},
		{own + " AND tag.`mlflow.prompt.is_prompt` != 'false'", "prompt"},
		// Other tags: "!=" needs the tag to be present, as in MLflow.
		{own + " AND tags.team != 'y'", "other"},
		{own + " AND tags.team != 'x'", ""},
	} {
		t.Run(tc.filter, func(t *testing.T) {
			c := c.For(t)
			b := c.OK("GET", api+"registered-models/search", url.Values{"filter": {tc.filter}})
			if tc.filter[0] == 't' {
				// Unscoped: other subtests' models may match too; keep ours.
				var mine []any
				for _, m := range list(b["registered_models"]) {
					if strings.HasPrefix(str(obj(m)["name"]), prefix+"-") {
						mine = append(mine, m)
					}
				}
				b = map[string]any{"registered_models": mine}
			}
			eq(t, "registered models", names(b, "registered_models"), tc.want)
			b = c.OK("GET", api+"model-versions/search", url.Values{"filter": {tc.filter}})
			if tc.filter[0] != 't' {
				eq(t, "model versions", names(b, "model_versions"), tc.want)
			}
		})
	}
}

// testLoggedModelsSearch: the 3.x client's list_artifacts(run, "dir") and
// register_model("runs:/...") first POST logged-models/search; with no
// logged models MLflow answers {} (SearchLoggedModels.Response, empty).
func testLoggedModelsSearch(t *testing.T, c *Client) {
	exp := newExperiment(t, c)
	for _, prefix := range []string{"/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/"} {
		r := c.Do("POST", prefix+"logged-models/search", map[string]any{"experiment_ids": []string{exp}, "filter": "name = 'sub'"})
		if r.Status != 200 || strings.TrimSpace(string(r.Raw)) != "{}" {
			t.Fatalf("%slogged-models/search: %d %s, want 200 {}", prefix, r.Status, r.Raw)
		}
	}
	c.OK("POST", api+"logged-models/search", map[string]any{"experiment_ids": []string{}, "max_results": "10",
		"datasets": []any{map[string]any{"dataset_name": "d"}}, "order_by": []any{map[string]any{"field_name": "creation_time", "ascending": false}}})
	for _, tc := range []struct {
		name string
		body any
		msg  string
	}{
		{"no experiment_ids", map[string]any{"filter": "name = 'x'"}, "Missing value for required parameter 'experiment_ids'."},
		{"null experiment_ids", map[string]any{"experiment_ids": nil}, "Missing value for required parameter 'experiment_ids'."},
		{"experiment_ids not a list", map[string]any{"experiment_ids": exp}, "for parameter 'experiment_ids' supplied"},
		{"experiment id not a string", map[string]any{"experiment_ids": []any{1}}, "for parameter 'experiment_ids' supplied"},
		{"filter not a string", map[string]any{"experiment_ids": []string{exp}, "filter": 3}, "Invalid value 3 for parameter 'filter' supplied"},
		{"max_results not an int", map[string]any{"experiment_ids": []string{exp}, "max_results": "ten"}, "for parameter 'max_results' supplied"},
		{"dataset without name", map[string]any{"experiment_ids": []string{exp}, "datasets": []any{map[string]any{"dataset_digest": "d"}}}, "`dataset_name` in the `datasets` clause must be specified."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := c.For(t)
			r := c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"logged-models/search", tc.body)
			if msg := str(r.Body["message"]); !strings.Contains(msg, tc.msg) {
				t.Fatalf("message %q, want it to contain %q", msg, tc.msg)
			}
		})
	}
	c.Fail(405, "METHOD_NOT_ALLOWED", "GET", api+"logged-models/search", url.Values{"experiment_ids": {exp}})
}

// testMultipartUnsupported: MLflow's client falls back to a plain PUT only
// when the 501 message starts with MLflow's exact text.
func testMultipartUnsupported(t *testing.T, c *Client) {
	exp := newExperiment(t, c)
	run := newRun(t, c, exp)
	r := c.Fail(501, "NOT_IMPLEMENTED", "POST", "/api/2.0/mlflow-artifacts/mpu/create/"+exp+"/"+run+"/artifacts/big",
		map[string]any{"path": "big.bin", "num_parts": 3})
	if msg := str(r.Body["message"]); !strings.HasPrefix(msg, "Multipart upload is not supported for the current artifact repository") {
		t.Fatalf("mpu/create message %q", msg)
	}
}

// testErrorMessages: MLflow's REST tests match these message texts.
func testErrorMessages(t *testing.T, c *Client) {
	exp := newExperiment(t, c)
	run := newRun(t, c, exp)
	for _, tc := range []struct {
		name, path string
		body       any
		want       string
	}{
		{"experiment name 123", "experiments/create", map[string]any{"name": 123},
			"Invalid value 123 for parameter 'name' supplied:  Hint: Value was of type 'int'. See the API docs for more information about request parameters."},
		{"artifact_location 9.0", "experiments/create", `{"name": "x", "artifact_location": 9.0}`,
			"Invalid value 9.0 for parameter 'artifact_location' supplied:  Hint: Value was of type 'float'."},
		{"tags string", "experiments/create", map[string]any{"name": "x", "tags": "5"},
			`Invalid value "5" for parameter 'tags' supplied:  Hint: Value was of type 'str'.`},
		{"metric run_id", "runs/log-metric", map[string]any{"run_id": 31, "key": "m", "value": 41, "timestamp": 59, "step": 26},
			"Invalid value 31 for parameter 'run_id' supplied"},
		{"metric key", "runs/log-metric", map[string]any{"run_id": run, "key": 31, "value": 41, "timestamp": 59, "step": 26},
			"Invalid value 31 for parameter 'key' supplied"},
		{"metric step", "runs/log-metric", map[string]any{"run_id": run, "key": "foo", "value": 31, "timestamp": 59, "step": "foo"},
			`Invalid value "foo" for parameter 'step' supplied`},
		{"metric timestamp", "runs/log-metric", map[string]any{"run_id": run, "key": "foo", "value": 31, "timestamp": "foo", "step": 41},
			`Invalid value "foo" for parameter 'timestamp' supplied`},
		{"tag value", "runs/set-tag", map[string]any{"run_id": run, "key": "k", "value": 41},
			"Invalid value 41 for parameter 'value' supplied"},
		{"batch metrics", "runs/log-batch", map[string]any{"run_id": run, "metrics": "foo"},
			`Invalid value "foo" for parameter 'metrics' supplied:  Hint: Value was of type 'str'.`},
		{"batch params", "runs/log-batch", map[string]any{"run_id": run, "params": map[string]any{"b": 1, "a": []any{true, nil}}},
			`Invalid value {"a":[true,null],"b":1} for parameter 'params' supplied:  Hint: Value was of type 'dict'.`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := c.For(t)
			r := c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+tc.path, tc.body)
			msg := str(r.Body["message"])
			if !strings.Contains(msg, tc.want) {
				t.Fatalf("message %q, want it to contain %q", msg, tc.want)
			}
			if strings.Contains(msg, "tracking.") || strings.Contains(msg, "[]") || strings.Contains(msg, "int64") {
				t.Fatalf("message %q names a Go type", msg)
			}
		})
	}
	t.Run("log-batch required fields", func(t *testing.T) {
		c := c.For(t)
		for _, tc := range []struct {
			body map[string]any
			want string
		}{
			{map[string]any{"run_id": run, "metrics": []any{map[string]any{"key": "mae", "value": 2.5}}}, "'metrics[0].timestamp'"},
			{map[string]any{"run_id": run, "metrics": []any{map[string]any{"key": "a", "value": 1, "timestamp": 1}, map[string]any{"key": "b", "timestamp": 1}}}, "'metrics[1].value'"},
			{map[string]any{"run_id": run, "metrics": []any{map[string]any{"key": "", "value": 1, "timestamp": 1}}}, "'metrics[0].key'"},
			{map[string]any{"run_id": run, "params": []any{map[string]any{"value": "v"}}}, "'params[0].key'"},
			{map[string]any{"run_id": run, "tags": []any{map[string]any{"key": nil, "value": "v"}}}, "'tags[0].key'"},
		} {
			r := c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"runs/log-batch", tc.body)
			if msg := str(r.Body["message"]); !strings.Contains(msg, "Missing value for required parameter "+tc.want) {
				t.Fatalf("message %q, want missing %s", msg, tc.want)
			}
		}
		// Zero values are values; step may be absent.
		c.OK("POST", api+"runs/log-batch", map[string]any{"run_id": run, "metrics": []any{map[string]any{"key": "z", "value": 0, "timestamp": 123456789}}})
		c.OK("POST", api+"runs/log-batch", map[string]any{"run_id": run, "metrics": []any{map[string]any{"key": "mae", "value": 2.5, "timestamp": 123456789}}})
	})
	t.Run("invalid path", func(t *testing.T) {
		c := c.For(t)
		for _, path := range []string{api + "artifacts/list", "/ajax-api/2.0/mlflow/artifacts/list"} {
			r := c.Fail(400, "INVALID_PARAMETER_VALUE", "GET", path, url.Values{"run_id": {run}, "path": {"../path"}})
			eq(t, "message", str(r.Body["message"]), "Invalid path")
		}
		r := c.Fail(400, "INVALID_PARAMETER_VALUE", "GET", "/api/2.0/mlflow-artifacts/artifacts", url.Values{"path": {"../x"}})
		eq(t, "proxy list message", str(r.Body["message"]), "Invalid path")
	})
	t.Run("version not an integer", func(t *testing.T) {
		c := c.For(t)
		name := unique("vint")
		c.OK("POST", api+"registered-models/create", map[string]any{"name": name})
		r := c.Fail(400, "INVALID_PARAMETER_VALUE", "GET", api+"model-versions/get", url.Values{"name": {name}, "version": {"something not correct"}})
		eq(t, "message", str(r.Body["message"]), "Parameter 'version' must be an integer, got 'something not correct'.")
	})
}

// testVersionSource: model-versions/create rejects local sources outside
// the run's (local) artifact directory and remote sources that climb with
// "..", as MLflow's server does (its test_create_model_version_with_*_source).
func testVersionSource(t *testing.T, c *Client) {
	root := t.TempDir()
	exp := str(c.OK("POST", api+"experiments/create", map[string]any{"name": unique("src"), "artifact_location": "file://" + root})["experiment_id"])
	run := newRun(t, c, exp)
	info := obj(obj(c.OK("GET", api+"runs/get", url.Values{"run_id": {run}})["run"])["info"])
	artURI := str(info["artifact_uri"])
	if !strings.HasPrefix(artURI, "file://"+root+"/") {
		t.Fatalf("artifact_uri %q, want it under file://%s", artURI, root)
	}
	artDir := strings.TrimPrefix(artURI, "file://")
	proxyExp := newExperiment(t, c)
	proxyRun := newRun(t, c, proxyExp)
	name := unique("srcmodel")
	c.OK("POST", api+"registered-models/create", map[string]any{"name": name})
	const local = "To use a local path as a model version"
	const remote = "If supplying a source as an http, https,"
	for _, tc := range []struct {
		source, run string
		want        string // "" for 200, else a part of the 400 message
	}{
		{artDir, run, ""},
		{artDir + "/model", run, ""},
		{"file://" + artDir + "/model", run, ""},
		{artDir, "", local},
		{"/tmp", run, local},
		{"/etc", "", local},
		{artDir + "/../../other", run, local},
		{"relative/model", run, local},
		{"file://" + artDir, proxyRun, local}, // the run's root is not local
		{"mlflow-artifacts:/models", run, ""},
		{"mlflow-artifacts:/models/", run, ""},
		{"mlflow-artifacts:/models///", run, ""},
		{"mlflow-artifacts:/models/foo///bar", run, ""},
		{"mlflow-artifacts://host:9000/models", run, ""},
		{"mlflow-artifacts://host:9000/models/artifact/..../", run, ""},
		{"runs:/" + run + "/model", "", ""},
		{"s3://bucket/path/model", "", ""},
		{"mlflow-artifacts://host:9000/models/../../../", run, remote},
		{"http://host:9000/models/../../../", run, remote},
		{"https://host/api/2.0/mlflow-artifacts/artifacts/../../../", run, remote},
		{"s3a://my_bucket/api/2.0/mlflow-artifacts/artifacts/../../../", run, remote},
		{"ftp://host:8888/api/2.0/mlflow-artifacts/artifacts/../../../", run, remote},
		{"mlflow-artifacts://host:9000/models/..%2f..%2fartifacts", run, remote},
		{"mlflow-artifacts://host:9000/models/..%252f..%252fartifacts", run, remote},
		{"mlflow-artifacts://host:9000/models/artifact%00", run, remote},
		{"dbfs:/" + run + "/artifacts/a%3f/../../../../../../../../../../", run, "Invalid model version source"},
		{"mlflow-artifacts:/models/./x", "", remote},
	} {
		t.Run(tc.source, func(t *testing.T) {
			c := c.For(t)
			body := map[string]any{"name": name, "source": tc.source}
			if tc.run != "" {
				body["run_id"] = tc.run
			}
			if tc.want == "" {
				c.OK("POST", api+"model-versions/create", body)
				return
			}
			r := c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"model-versions/create", body)
			if msg := str(r.Body["message"]); !strings.Contains(msg, tc.want) {
				t.Fatalf("message %q, want it to contain %q", msg, tc.want)
			}
		})
	}
	t.Run("prompt versions are not checked", func(t *testing.T) {
		c := c.For(t)
		c.OK("POST", api+"model-versions/create", map[string]any{"name": name, "source": "/etc",
			"tags": []any{map[string]any{"key": "mlflow.prompt.is_prompt", "value": "true"}}})
	})
	t.Run("unknown run", func(t *testing.T) {
		c := c.For(t)
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "POST", api+"model-versions/create", map[string]any{"name": name, "source": artDir, "run_id": strings.Repeat("f", 32)})
	})
}

// testFieldSemantics: description "" on new versions, models:/ sources
// resolved by get-download-uri, relative artifact_location made absolute.
func testFieldSemantics(t *testing.T, c *Client) {
	name := unique("fs")
	m := obj(c.OK("POST", api+"registered-models/create", map[string]any{"name": name})["registered_model"])
	if _, ok := m["description"]; ok {
		t.Fatalf("registered model without description sends one (MLflow omits it): %v", m)
	}
	r := c.Do("POST", api+"model-versions/create", map[string]any{"name": name, "source": "runs:/abc/model"})
	if !strings.Contains(string(r.Raw), `"description":""`) {
		t.Fatalf("version without description: %s, want \"description\":\"\"", r.Raw)
	}
	v := obj(c.OK("GET", api+"model-versions/get", url.Values{"name": {name}, "version": {"1"}})["model_version"])
	if d, ok := v["description"]; !ok || d != "" {
		t.Fatalf("get: description %v (present %v), want \"\"", d, ok)
	}

	// copy_model_version: a version whose source is models:/NAME/VERSION.
	copyName := unique("fs-copy")
	c.OK("POST", api+"registered-models/create", map[string]any{"name": copyName})
	c.OK("POST", api+"model-versions/create", map[string]any{"name": copyName, "source": "models:/" + name + "/1"})
	c.OK("POST", api+"model-versions/create", map[string]any{"name": copyName, "source": "models:/" + copyName + "/1"})
	for _, tc := range []struct{ name, version, want string }{
		{name, "1", "runs:/abc/model"},
		{copyName, "1", "runs:/abc/model"},
		{copyName, "2", "runs:/abc/model"},
	} {
		u := c.OK("GET", api+"model-versions/get-download-uri", url.Values{"name": {tc.name}, "version": {tc.version}})
		eq(t, tc.name+"/"+tc.version+" artifact_uri", str(u["artifact_uri"]), tc.want)
	}
	v = obj(c.OK("GET", api+"model-versions/get", url.Values{"name": {copyName}, "version": {"1"}})["model_version"])
	eq(t, "copy keeps its source", str(v["source"]), "models:/"+name+"/1")
	for _, src := range []string{"models:/" + name + "/9", "models:/no-such-model/1", "models:/" + name + "/Production"} {
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"model-versions/create", map[string]any{"name": copyName, "source": src})
	}

	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ loc, want string }{
		{"my_location", wd + "/my_location"},
		{"./a//b/", wd + "/a/b"},
		{"file:rel/x", "file://" + wd + "/rel/x"},
		{"/abs/loc", "/abs/loc"},
		{"s3://bucket/loc", "s3://bucket/loc"},
	} {
		id := str(c.OK("POST", api+"experiments/create", map[string]any{"name": unique("loc"), "artifact_location": tc.loc})["experiment_id"])
		e := obj(c.OK("GET", api+"experiments/get", url.Values{"experiment_id": {id}})["experiment"])
		eq(t, tc.loc+" artifact_location", str(e["artifact_location"]), tc.want)
	}
}

// testGetArtifact: the UI's download routes outside /api/, with MLflow's
// exact "Invalid path" answer (its test_path_validation).
func testGetArtifact(t *testing.T, c *Client) {
	exp := newExperiment(t, c)
	run := newRun(t, c, exp)
	put := c.Do("PUT", "/api/2.0/mlflow-artifacts/artifacts/"+exp+"/"+run+"/artifacts/dir/f.txt", "hello artifact")
	if put.Status != 200 {
		t.Fatalf("PUT artifact: %d %s", put.Status, put.Raw)
	}
	name := unique("ga")
	c.OK("POST", api+"registered-models/create", map[string]any{"name": name})
	c.OK("POST", api+"model-versions/create", map[string]any{"name": name, "source": "runs:/" + run + "/dir", "run_id": run})
	for _, tc := range []struct {
		path string
		q    url.Values
	}{
		{"/get-artifact", url.Values{"run_id": {run}, "path": {"dir/f.txt"}}},
		{"/get-artifact", url.Values{"run_uuid": {run}, "path": {"dir/f.txt"}}},
		{"/model-versions/get-artifact", url.Values{"name": {name}, "version": {"1"}, "path": {"f.txt"}}},
	} {
		r := c.Do("GET", tc.path, tc.q)
		if r.Status != 200 || string(r.Raw) != "hello artifact" {
			t.Fatalf("GET %s?%s: %d %q", tc.path, tc.q.Encode(), r.Status, r.Raw)
		}
	}
	for _, tc := range []struct {
		path string
		q    url.Values
	}{
		{"/get-artifact", url.Values{"run_id": {run}, "path": {"../path"}}},
		{"/get-artifact", url.Values{"run_id": {run}, "path": {"dir/../../x"}}},
		{"/model-versions/get-artifact", url.Values{"name": {"model"}, "version": {"1"}, "path": {"../path"}}},
	} {
		r := c.Do("GET", tc.path, tc.q)
		if r.Status != 400 || strings.TrimSpace(string(r.Raw)) != `{"error_code":"INVALID_PARAMETER_VALUE","message":"Invalid path"}` {
			t.Fatalf("GET %s?%s: %d %s, want MLflow's Invalid path", tc.path, tc.q.Encode(), r.Status, r.Raw)
		}
	}
	c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "GET", "/get-artifact", url.Values{"run_id": {run}, "path": {"dir/none.txt"}})
	c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "GET", "/model-versions/get-artifact", url.Values{"name": {name}, "version": {"7"}, "path": {"f.txt"}})
}

// testBulkInterval: MLflow's sampling and validation of
// get-history-bulk-interval (its test_get_metric_history_bulk_interval_*).
func testBulkInterval(t *testing.T, c *Client) {
	exp := newExperiment(t, c)
	run := newRun(t, c, exp)
	for i := range 10 {
		c.OK("POST", api+"runs/log-metric", map[string]any{"run_id": run, "key": "metricA", "value": 10.0, "timestamp": 1, "step": i})
	}
	u := "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval"
	b := c.OK("GET", u, url.Values{"run_ids": {run}, "metric_key": {"metricA"}, "max_results": {"5"}})
	var got []string
	for _, m := range list(b["metrics"]) {
		m := obj(m)
		eq(t, "run_id", str(m["run_id"]), run)
		got = append(got, jsonNum(m["step"]))
	}
	eq(t, "sampled steps", strings.Join(got, ","), "0,2,4,6,8,9")
	for _, tc := range []struct {
		q    url.Values
		want string
	}{
		{url.Values{"metric_key": {"key"}}, "Missing value for required parameter 'run_ids'."},
		{url.Values{"run_ids": {"123"}, "metric_key": {"key"}, "max_results": {"0"}}, "max_results must be between 1 and 2500"},
		{url.Values{"run_ids": {"123"}, "metric_key": {"key"}, "max_results": {"2501"}}, "max_results must be between 1 and 2500"},
		{url.Values{"run_ids": {"123"}, "metric_key": {""}}, "Missing value for required parameter 'metric_key'"},
		{url.Values{"run_ids": {"123"}, "metric_key": {"key"}, "start_step": {"1"}, "end_step": {"0"}, "max_results": {"5"}}, "end_step must be greater than start_step. "},
		{url.Values{"run_ids": {"123"}, "metric_key": {"key"}, "start_step": {"1"}, "max_results": {"5"}}, "If either start step or end step are specified, both must be specified."},
	} {
		r := c.Fail(400, "INVALID_PARAMETER_VALUE", "GET", u, tc.q)
		if msg := str(r.Body["message"]); !strings.Contains(msg, tc.want) {
			t.Fatalf("%s: message %q, want %q", tc.q.Encode(), msg, tc.want)
		}
	}
	c.OK("GET", u, url.Values{"run_ids": {run}, "metric_key": {"metricA"}, "max_results": {"2500"}})
}

func jsonNum(v any) string {
	f, _ := v.(float64)
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// testHistoryBulk: the UI's ajax-api metrics/get-history-bulk, as MLflow's
// test_get_metric_history_bulk_* expect it.
func testHistoryBulk(t *testing.T, c *Client) {
	exp := newExperiment(t, c)
	r1, r2 := newRun(t, c, exp), newRun(t, c, exp)
	for i := range 3 {
		// Logged newest first, so the answer must be re-ordered by timestamp.
		c.OK("POST", api+"runs/log-metric", map[string]any{"run_id": r1, "key": "a", "value": float64(i), "timestamp": 100 - i, "step": i})
		c.OK("POST", api+"runs/log-metric", map[string]any{"run_id": r2, "key": "a", "value": float64(i) + 1, "timestamp": 100 - i, "step": i})
	}
	u := "/ajax-api/2.0/mlflow/metrics/get-history-bulk"
	render := func(b map[string]any) string {
		var s []string
		for _, m := range list(b["metrics"]) {
			m := obj(m)
			id := "r1"
			if str(m["run_id"]) == r2 {
				id = "r2"
			}
			s = append(s, id+":"+str(m["key"])+":"+jsonNum(m["step"])+"@"+jsonNum(m["timestamp"])+"="+jsonNum(m["value"]))
		}
		return strings.Join(s, " ")
	}
	one := render(c.OK("GET", u, url.Values{"run_id": {r1}, "metric_key": {"a"}}))
	eq(t, "one run", one, "r1:a:2@98=2 r1:a:1@99=1 r1:a:0@100=0")
	both := render(c.OK("GET", u, url.Values{"run_id": {r2, r1, strings.Repeat("f", 32)}, "metric_key": {"a"}}))
	fv, sv := "r1:a:2@98=2 r1:a:1@99=1 r1:a:0@100=0", "r2:a:2@98=3 r2:a:1@99=2 r2:a:0@100=1"
	if r2 < r1 { // ordered by run id
		fv, sv = sv, fv
	}
	eq(t, "two runs by run id", both, fv+" "+sv)
	limited := render(c.OK("GET", u, url.Values{"run_id": {r1}, "metric_key": {"a"}, "max_results": {"2"}}))
	eq(t, "max_results", limited, "r1:a:2@98=2 r1:a:1@99=1")
	r := c.Do("GET", u, url.Values{"run_id": {r1}, "metric_key": {"none"}})
	if r.Status != 200 || strings.TrimSpace(string(r.Raw)) != `{"metrics":[]}` {
		t.Fatalf("no history: %d %s, want {\"metrics\":[]}", r.Status, r.Raw)
	}
	c.Fail(400, "INVALID_PARAMETER_VALUE", "GET", u, url.Values{"metric_key": {"a"}})
	c.Fail(400, "INVALID_PARAMETER_VALUE", "GET", u, url.Values{"run_id": {r1}})
}
