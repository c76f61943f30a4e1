package storetest

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// testLoggedModels drives MLflow 3's logged-model API the way
// mlflow.<flavor>.log_model, register_model and search_logged_models do.
func testLoggedModels(t *testing.T, c *Client) {
	exp := newExperiment(t, c)
	run := newRun(t, c, exp)
	lm := api + "logged-models"
	create := func(t *testing.T, c *Client, body map[string]any) map[string]any {
		t.Helper()
		return obj(c.OK("POST", lm, body)["model"])
	}
	m := create(t, c, map[string]any{"experiment_id": exp, "name": "model", "source_run_id": run, "model_type": "Classifier",
		"params": []any{map[string]any{"key": "alpha", "value": "0.5"}},
		"tags":   []any{map[string]any{"key": "mlflow.source.name", "value": "train.py"}}})
	info := obj(m["info"])
	id := str(info["model_id"])
	t.Run("create", func(t *testing.T) {
		if !strings.HasPrefix(id, "m-") || len(id) != 34 {
			t.Fatalf("model_id %q is not m- plus 32 hex digits", id)
		}
		eq(t, "experiment_id", str(info["experiment_id"]), exp)
		eq(t, "name", str(info["name"]), "model")
		eq(t, "status", str(info["status"]), "LOGGED_MODEL_PENDING")
		eq(t, "source_run_id", str(info["source_run_id"]), run)
		eq(t, "model_type", str(info["model_type"]), "Classifier")
		eq(t, "artifact_uri", str(info["artifact_uri"]), "mlflow-artifacts:/"+exp+"/models/"+id+"/artifacts")
		if num(info["creation_timestamp_ms"]) <= 0 || num(info["last_updated_timestamp_ms"]) < num(info["creation_timestamp_ms"]) {
			t.Fatalf("timestamps: %v", info)
		}
		eq(t, "param", kv(obj(m["data"])["params"])["alpha"], any("0.5"))
		eq(t, "tag", kv(info["tags"])["mlflow.source.name"], any("train.py"))
		unnamed := obj(create(t, c, map[string]any{"experiment_id": exp})["info"])
		if str(unnamed["name"]) == "" {
			t.Fatal("no name generated")
		}
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", lm, map[string]any{"name": "x"})
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "POST", lm, map[string]any{"experiment_id": "987654"})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", lm, map[string]any{"experiment_id": exp, "name": "a/b"})
		// As MLflow: source_run_id is stored as given.
		eq(t, "unchecked source run", str(obj(create(t, c, map[string]any{"experiment_id": exp, "source_run_id": "123"})["info"])["source_run_id"]), "123")
	})
	t.Run("get finalize", func(t *testing.T) {
		c := c.For(t)
		got := obj(obj(c.OK("GET", lm+"/"+id, nil)["model"])["info"])
		eq(t, "get id", str(got["model_id"]), id)
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "GET", lm+"/m-0123456789abcdef0123456789abcdef", nil)
		c.Fail(400, "INVALID_PARAMETER_VALUE", "PATCH", lm+"/"+id, map[string]any{"status": "LOGGED_MODEL_PENDING"})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "PATCH", lm+"/"+id, map[string]any{})
		fin := obj(obj(c.OK("PATCH", lm+"/"+id, map[string]any{"model_id": id, "status": "LOGGED_MODEL_READY"})["model"])["info"])
		eq(t, "finalized", str(fin["status"]), "LOGGED_MODEL_READY")
	})
	t.Run("tags params", func(t *testing.T) {
		c := c.For(t)
		b := c.OK("PATCH", lm+"/"+id+"/tags", map[string]any{"tags": []any{map[string]any{"key": "k", "value": "v"}, map[string]any{"key": "mlflow.source.name", "value": "b.py"}}})
		tags := kv(obj(obj(b["model"])["info"])["tags"])
		eq(t, "new tag", tags["k"], any("v"))
		eq(t, "overwritten", tags["mlflow.source.name"], any("b.py"))
		c.OK("DELETE", lm+"/"+id+"/tags/k", nil)
		if _, ok := kv(obj(obj(c.OK("GET", lm+"/"+id, nil)["model"])["info"])["tags"])["k"]; ok {
			t.Fatal("tag not deleted")
		}
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "DELETE", lm+"/"+id+"/tags/k", nil)
		c.Fail(400, "INVALID_PARAMETER_VALUE", "PATCH", lm+"/"+id+"/tags", map[string]any{"tags": []any{map[string]any{"key": strings.Repeat("k", 251), "value": "v"}}})
		c.OK("POST", lm+"/"+id+"/params", map[string]any{"params": []any{map[string]any{"key": "beta", "value": "2"}, map[string]any{"key": "alpha", "value": "0.5"}}})
		params := kv(obj(obj(c.OK("GET", lm+"/"+id, nil)["model"])["data"])["params"])
		eq(t, "params", len(params), 2)
		eq(t, "beta", params["beta"], any("2"))
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", lm+"/"+id+"/params", map[string]any{"params": []any{map[string]any{"key": "alpha", "value": "0.7"}}})
	})
	t.Run("metrics linked from runs", func(t *testing.T) {
		c := c.For(t)
		c.OK("POST", api+"runs/log-metric", map[string]any{"run_id": run, "key": "acc", "value": 0.8, "timestamp": 10, "step": 0, "model_id": id})
		c.OK("POST", api+"runs/log-batch", map[string]any{"run_id": run, "metrics": []any{
			map[string]any{"key": "acc", "value": 0.9, "timestamp": 20, "step": 1, "model_id": id, "dataset_name": "test", "dataset_digest": "d1"},
			map[string]any{"key": "loss", "value": 0.1, "timestamp": 20, "step": 1},
		}})
		ms := list(obj(obj(c.OK("GET", lm+"/"+id, nil)["model"])["data"])["metrics"])
		eq(t, "model metrics", len(ms), 2)
		m0, m1 := obj(ms[0]), obj(ms[1])
		eq(t, "first value", num(m0["value"]), 0.8)
		eq(t, "run_id", str(m0["run_id"]), run)
		eq(t, "model_id", str(m0["model_id"]), id)
		eq(t, "dataset", str(m1["dataset_name"]), "test")
		eq(t, "digest", str(m1["dataset_digest"]), "d1")
		// The run sees them as ordinary metrics.
		eq(t, "run latest acc", num(obj(list(obj(getRun(t, c, run)["data"])["metrics"])[0])["value"]), 0.9)
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "POST", api+"runs/log-metric", map[string]any{"run_id": run, "key": "acc", "value": 1, "timestamp": 30, "model_id": "m-0123456789abcdef0123456789abcdef"})
	})
	t.Run("artifacts", func(t *testing.T) {
		c := c.For(t)
		base := c.base + "/api/2.0/mlflow-artifacts/artifacts/" + exp + "/models/" + id + "/artifacts/"
		for p, body := range map[string]string{"MLmodel": "flavors: {}\n", "data/model.bin": "weights"} {
			req, _ := http.NewRequest("PUT", base+p, strings.NewReader(body))
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			eq(t, "put "+p, res.StatusCode, 200)
		}
		b := c.OK("GET", lm+"/"+id+"/artifacts/directories", nil)
		eq(t, "root_uri", str(b["root_uri"]), "mlflow-artifacts:/"+exp+"/models/"+id+"/artifacts")
		files := list(b["files"])
		eq(t, "entries", len(files), 2)
		eq(t, "MLmodel", str(obj(files[0])["path"]), "MLmodel")
		eq(t, "dir", str(obj(files[1])["path"]), "data")
		files = list(c.OK("GET", lm+"/"+id+"/artifacts/directories", url.Values{"artifact_directory_path": {"data"}})["files"])
		eq(t, "nested", str(obj(files[0])["path"]), "data/model.bin")
		c.Fail(400, "INVALID_PARAMETER_VALUE", "GET", lm+"/"+id+"/artifacts/directories", url.Values{"artifact_directory_path": {"../x"}})
		res, err := http.Get(c.base + "/ajax-api/2.0/mlflow/logged-models/" + id + "/artifacts/files?artifact_file_path=data/model.bin")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		eq(t, "download", res.StatusCode, 200)
		eq(t, "content", string(body), "weights")
	})
	t.Run("outputs and registry", func(t *testing.T) {
		c := c.For(t)
		c.OK("POST", api+"runs/outputs", map[string]any{"run_id": run, "models": []any{map[string]any{"model_id": id, "step": 3}}})
		outs := list(obj(getRun(t, c, run)["outputs"])["model_outputs"])
		eq(t, "outputs", len(outs), 1)
		eq(t, "output model", str(obj(outs[0])["model_id"]), id)
		eq(t, "output step", num(obj(outs[0])["step"]), 3.0)
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "POST", api+"runs/outputs", map[string]any{"run_id": run, "models": []any{map[string]any{"model_id": "m-00", "step": 0}}})
		c.OK("POST", api+"runs/log-inputs", map[string]any{"run_id": run, "models": []any{map[string]any{"model_id": id}}})
		ins := list(obj(getRun(t, c, run)["inputs"])["model_inputs"])
		eq(t, "model inputs", len(ins), 1)
		eq(t, "input model", str(obj(ins[0])["model_id"]), id)
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "POST", api+"runs/log-inputs", map[string]any{"run_id": run, "models": []any{map[string]any{"model_id": "m-00"}}})
		other := newRun(t, c, exp)
		if _, ok := getRun(t, c, other)["outputs"]; ok {
			t.Fatal("a run without logged models has outputs")
		}
		name := unique("lm-reg")
		c.OK("POST", api+"registered-models/create", map[string]any{"name": name})
		v := obj(c.OK("POST", api+"model-versions/create", map[string]any{"name": name, "source": "models:/" + id, "run_id": run, "model_id": id})["model_version"])
		eq(t, "version model_id", str(v["model_id"]), id)
		uri := c.OK("GET", api+"model-versions/get-download-uri", url.Values{"name": {name}, "version": {"1"}})
		eq(t, "download uri", str(uri["artifact_uri"]), "mlflow-artifacts:/"+exp+"/models/"+id+"/artifacts")
		c.OK("POST", api+"model-versions/create", map[string]any{"name": name, "source": "models:/" + id, "model_id": id})
		info := obj(obj(c.OK("GET", lm+"/"+id, nil)["model"])["info"])
		eq(t, "mlflow.modelVersions", kv(info["tags"])["mlflow.modelVersions"], any(`[{"name": "`+name+`", "version": 1}, {"name": "`+name+`", "version": 2}]`))
		regs := list(info["registrations"])
		eq(t, "registrations", len(regs), 2)
		eq(t, "registration", str(obj(regs[0])["name"])+"/"+str(obj(regs[0])["version"]), name+"/1")
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "POST", api+"model-versions/create", map[string]any{"name": name, "source": "models:/m-0123", "model_id": "m-0123"})
	})
	t.Run("search", func(t *testing.T) {
		c := c.For(t)
		exp2 := newExperiment(t, c)
		r2 := newRun(t, c, exp2)
		var ids []string
		for i, acc := range []float64{0.7, 0.95, 0.85} {
			time.Sleep(2 * time.Millisecond) // distinct creation times, so the default order is known
			mi := str(obj(create(t, c, map[string]any{"experiment_id": exp2, "name": []string{"a", "b", "c"}[i], "source_run_id": r2})["info"])["model_id"])
			ids = append(ids, mi)
			ds := "val"
			if i == 2 {
				ds = "test"
			}
			c.OK("POST", api+"runs/log-metric", map[string]any{"run_id": r2, "key": "acc", "value": acc, "timestamp": 100 + i, "model_id": mi, "dataset_name": ds})
		}
		search := func(body map[string]any) []string {
			t.Helper()
			body["experiment_ids"] = []string{exp2}
			var out []string
			for _, m := range list(c.OK("POST", lm+"/search", body)["models"]) {
				out = append(out, str(obj(obj(m)["info"])["name"]))
			}
			return strings.Split(strings.Join(out, ","), ",")
		}
		same := func(what string, got []string, want string) {
			t.Helper()
			eq(t, what, strings.Join(got, ","), want)
		}
		same("default order: newest first", search(map[string]any{}), "c,b,a")
		same("by name", search(map[string]any{"filter": "name = 'b'"}), "b")
		same("run and name, as register_model asks", search(map[string]any{"filter": "source_run_id = '" + r2 + "' AND name = 'a'"}), "a")
		same("metric filter", search(map[string]any{"filter": "metrics.acc > 0.8"}), "c,b")
		same("metric on a dataset", search(map[string]any{"filter": "metrics.acc > 0.8", "datasets": []any{map[string]any{"dataset_name": "val"}}}), "b")
		same("datasets alone", search(map[string]any{"datasets": []any{map[string]any{"dataset_name": "test"}}}), "c")
		same("order by metric", search(map[string]any{"order_by": []any{map[string]any{"field_name": "metrics.acc", "ascending": false}}}), "b,c,a")
		same("order by metric ascending", search(map[string]any{"order_by": []any{map[string]any{"field_name": "metrics.acc"}}}), "a,c,b")
		same("order by name", search(map[string]any{"order_by": []any{map[string]any{"field_name": "name"}}}), "a,b,c")
		same("IN", search(map[string]any{"filter": "name IN ('a', 'c')", "order_by": []any{map[string]any{"field_name": "name"}}}), "a,c")
		same("LIKE", search(map[string]any{"filter": "name LIKE 'b%'"}), "b")
		page := c.OK("POST", lm+"/search", map[string]any{"experiment_ids": []string{exp2}, "max_results": 2})
		eq(t, "page 1", len(list(page["models"])), 2)
		tok := str(page["next_page_token"])
		if tok == "" {
			t.Fatal("no next_page_token")
		}
		page = c.OK("POST", lm+"/search", map[string]any{"experiment_ids": []string{exp2}, "max_results": 2, "page_token": tok})
		eq(t, "page 2", len(list(page["models"])), 1)
		eq(t, "page 2 model", str(obj(obj(list(page["models"])[0])["info"])["name"]), "a")
		if _, ok := page["next_page_token"]; ok {
			t.Fatal("token on the last page")
		}
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", lm+"/search", map[string]any{"filter": "name = 'a'"})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", lm+"/search", map[string]any{"experiment_ids": []string{exp2}, "filter": "bogus.x = 'a'"})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", lm+"/search", map[string]any{"experiment_ids": []string{exp2}, "order_by": []any{map[string]any{"field_name": "params.x"}}})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", lm+"/search", map[string]any{"experiment_ids": []string{exp2}, "page_token": "garbage"})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", lm+"/search", map[string]any{"experiment_ids": []string{exp2}, "max_results": 100000})
		// Deleted models leave search and get.
		c.OK("DELETE", lm+"/"+ids[1], nil)
		same("after delete", search(map[string]any{}), "c,a")
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "GET", lm+"/"+ids[1], nil)
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "DELETE", lm+"/"+ids[1], nil)
	})
}

// testSearchDatasets: experiments/search-datasets as the UI calls it.
func testSearchDatasets(t *testing.T, c *Client) {
	exp := newExperiment(t, c)
	run := newRun(t, c, exp)
	ds := func(name, ctx string) map[string]any {
		in := map[string]any{"dataset": map[string]any{"name": name, "digest": "d-" + name, "source_type": "local", "source": "/x"}}
		if ctx != "" {
			in["tags"] = []any{map[string]any{"key": "mlflow.data.context", "value": ctx}}
		}
		return in
	}
	c.OK("POST", api+"runs/log-inputs", map[string]any{"run_id": run, "datasets": []any{ds("train", "training"), ds("eval", "")}})
	got := list(c.OK("POST", "/ajax-api/2.0/mlflow/experiments/search-datasets", map[string]any{"experiment_ids": []string{exp}})["dataset_summaries"])
	eq(t, "summaries", len(got), 2)
	e0, e1 := obj(got[0]), obj(got[1])
	eq(t, "first", str(e0["name"])+"/"+str(e0["digest"])+"/"+str(e0["experiment_id"]), "eval/d-eval/"+exp)
	if _, ok := e0["context"]; ok {
		t.Fatalf("context on a dataset without one: %v", e0)
	}
	eq(t, "second context", str(e1["context"]), "training")
	c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"experiments/search-datasets", map[string]any{})
	ids := make([]string, 21)
	for i := range ids {
		ids[i] = fmt.Sprint(i)
	}
	c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"experiments/search-datasets", map[string]any{"experiment_ids": ids})
	if got := c.OK("POST", api+"experiments/search-datasets", map[string]any{"experiment_ids": []string{"id_0"}}); len(got) != 0 {
		t.Fatalf("non-numeric id: %v, want {}", got)
	}
}
