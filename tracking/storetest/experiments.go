package storetest

import (
	"net/url"
	"strings"
	"testing"
)

func testExperiments(t *testing.T, c *Client) {
	const api = "/api/2.0/mlflow/"
	t.Run("default experiment", func(t *testing.T) {
		c := c.For(t)
		e := obj(c.OK("GET", api+"experiments/get", url.Values{"experiment_id": {"0"}})["experiment"])
		eq(t, "name", str(e["name"]), "Default")
		eq(t, "lifecycle_stage", str(e["lifecycle_stage"]), "active")
		eq(t, "artifact_location", str(e["artifact_location"]), "mlflow-artifacts:/0")
	})
	name := unique("exp")
	id := str(c.OK("POST", api+"experiments/create", map[string]any{"name": name, "tags": []any{map[string]any{"key": "team", "value": "a"}}})["experiment_id"])
	if id == "" || id == "0" {
		t.Fatalf("experiment_id %q", id)
	}
	t.Run("get", func(t *testing.T) {
		c := c.For(t)
		e := obj(c.OK("GET", api+"experiments/get", url.Values{"experiment_id": {id}})["experiment"])
		eq(t, "experiment_id", str(e["experiment_id"]), id)
		eq(t, "name", str(e["name"]), name)
		eq(t, "artifact_location", str(e["artifact_location"]), "mlflow-artifacts:/"+id)
		eq(t, "tag team", kv(e["tags"])["team"], any("a"))
		if num(e["creation_time"]) <= 0 || num(e["last_update_time"]) <= 0 {
			t.Fatalf("times not set: %v", e)
		}
	})
	t.Run("get-by-name", func(t *testing.T) {
		c := c.For(t)
		e := obj(c.OK("GET", api+"experiments/get-by-name", url.Values{"experiment_name": {name}})["experiment"])
		eq(t, "experiment_id", str(e["experiment_id"]), id)
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "GET", api+"experiments/get-by-name", url.Values{"experiment_name": {"nope-" + name}})
	})
	t.Run("errors", func(t *testing.T) {
		c := c.For(t)
		c.Fail(400, "RESOURCE_ALREADY_EXISTS", "POST", api+"experiments/create", map[string]any{"name": name})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"experiments/create", map[string]any{"name": ""})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"experiments/create", map[string]any{"name": strings.Repeat("x", 501)})
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "GET", api+"experiments/get", url.Values{"experiment_id": {"987654"}})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "GET", api+"experiments/get", nil)
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"experiments/delete", map[string]any{"experiment_id": "0"})
	})
	t.Run("explicit artifact location", func(t *testing.T) {
		c := c.For(t)
		id2 := str(c.OK("POST", api+"experiments/create", map[string]any{"name": unique("exp"), "artifact_location": "/tmp/somewhere"})["experiment_id"])
		e := obj(c.OK("GET", api+"experiments/get", url.Values{"experiment_id": {id2}})["experiment"])
		eq(t, "artifact_location", str(e["artifact_location"]), "/tmp/somewhere")
		// A bare relative location is resolved against the server's
		// working directory, as MLflow does.
		id3 := str(c.OK("POST", api+"experiments/create", map[string]any{"name": unique("exp"), "artifact_location": "my_location"})["experiment_id"])
		loc := str(obj(c.OK("GET", api+"experiments/get", url.Values{"experiment_id": {id3}})["experiment"])["artifact_location"])
		if !strings.HasPrefix(loc, "/") || !strings.HasSuffix(loc, "/my_location") {
			t.Fatalf("relative artifact_location stored as %q", loc)
		}
	})
	t.Run("update", func(t *testing.T) {
		c := c.For(t)
		other := unique("exp")
		c.OK("POST", api+"experiments/create", map[string]any{"name": other})
		c.Fail(400, "RESOURCE_ALREADY_EXISTS", "POST", api+"experiments/update", map[string]any{"experiment_id": id, "new_name": other})
		name = unique("renamed")
		c.OK("POST", api+"experiments/update", map[string]any{"experiment_id": id, "new_name": name})
		e := obj(c.OK("GET", api+"experiments/get", url.Values{"experiment_id": {id}})["experiment"])
		eq(t, "name", str(e["name"]), name)
	})
	t.Run("tags", func(t *testing.T) {
		c := c.For(t)
		c.OK("POST", api+"experiments/set-experiment-tag", map[string]any{"experiment_id": id, "key": "team", "value": "b"})
		c.OK("POST", api+"experiments/set-experiment-tag", map[string]any{"experiment_id": id, "key": "x", "value": "1"})
		e := obj(c.OK("GET", api+"experiments/get", url.Values{"experiment_id": {id}})["experiment"])
		eq(t, "team", kv(e["tags"])["team"], any("b"))
		c.OK("POST", api+"experiments/delete-experiment-tag", map[string]any{"experiment_id": id, "key": "x"})
		e = obj(c.OK("GET", api+"experiments/get", url.Values{"experiment_id": {id}})["experiment"])
		if _, ok := kv(e["tags"])["x"]; ok {
			t.Fatal("deleted tag still there")
		}
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "POST", api+"experiments/set-experiment-tag", map[string]any{"experiment_id": "98765", "key": "a", "value": "b"})
	})
	t.Run("delete and restore", func(t *testing.T) {
		c := c.For(t)
		run := newRun(t, c, id)
		c.OK("POST", api+"experiments/delete", map[string]any{"experiment_id": id})
		e := obj(c.OK("GET", api+"experiments/get", url.Values{"experiment_id": {id}})["experiment"])
		eq(t, "lifecycle_stage", str(e["lifecycle_stage"]), "deleted")
		r := obj(obj(c.OK("GET", api+"runs/get", url.Values{"run_id": {run}})["run"])["info"])
		eq(t, "run lifecycle_stage", str(r["lifecycle_stage"]), "deleted")
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"runs/create", map[string]any{"experiment_id": id})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"experiments/delete", map[string]any{"experiment_id": id})
		c.OK("POST", api+"experiments/restore", map[string]any{"experiment_id": id})
		r = obj(obj(c.OK("GET", api+"runs/get", url.Values{"run_id": {run}})["run"])["info"])
		eq(t, "run lifecycle_stage", str(r["lifecycle_stage"]), "active")
	})
}

func testExperimentSearch(t *testing.T, c *Client) {
	const api = "/api/2.0/mlflow/"
	prefix := unique("srch")
	var ids []string
	for i := range 5 {
		ids = append(ids, str(c.OK("POST", api+"experiments/create", map[string]any{"name": prefix + "-" + string(rune('a'+i)),
			"tags": []any{map[string]any{"key": "parity", "value": []string{"even", "odd"}[i%2]}}})["experiment_id"]))
	}
	c.OK("POST", api+"experiments/delete", map[string]any{"experiment_id": ids[4]})
	names := func(b map[string]any) []string {
		var out []string
		for _, e := range list(b["experiments"]) {
			out = append(out, str(obj(e)["name"]))
		}
		return out
	}
	t.Run("filter and order", func(t *testing.T) {
		c := c.For(t)
		b := c.OK("POST", api+"experiments/search", map[string]any{"filter": "name LIKE '" + prefix + "-%'", "order_by": []string{"name DESC"}})
		eq(t, "names", strings.Join(names(b), ","), prefix+"-d,"+prefix+"-c,"+prefix+"-b,"+prefix+"-a")
		b = c.OK("POST", api+"experiments/search", map[string]any{"filter": "name LIKE '" + prefix + "-%' AND tags.parity = 'odd'", "order_by": []string{"name"}})
		eq(t, "odd", strings.Join(names(b), ","), prefix+"-b,"+prefix+"-d")
		b = c.OK("GET", api+"experiments/search", url.Values{"filter": {"attribute.name = '" + prefix + "-c'"}})
		eq(t, "get", strings.Join(names(b), ","), prefix+"-c")
	})
	t.Run("view type", func(t *testing.T) {
		c := c.For(t)
		b := c.OK("POST", api+"experiments/search", map[string]any{"filter": "name LIKE '" + prefix + "-%'", "view_type": "DELETED_ONLY"})
		eq(t, "deleted", strings.Join(names(b), ","), prefix+"-e")
		b = c.OK("POST", api+"experiments/search", map[string]any{"filter": "name LIKE '" + prefix + "-%'", "view_type": "ALL"})
		eq(t, "all count", len(names(b)), 5)
	})
	t.Run("paging", func(t *testing.T) {
		c := c.For(t)
		var got []string
		token := ""
		pages := 0
		for {
			req := map[string]any{"filter": "name LIKE '" + prefix + "-%'", "order_by": []string{"name"}, "max_results": 3}
			if token != "" {
				req["page_token"] = token
			}
			b := c.OK("POST", api+"experiments/search", req)
			got = append(got, names(b)...)
			pages++
			token = str(b["next_page_token"])
			if token == "" {
				break
			}
		}
		eq(t, "pages", pages, 2)
		eq(t, "all", strings.Join(got, ","), prefix+"-a,"+prefix+"-b,"+prefix+"-c,"+prefix+"-d")
	})
	t.Run("errors", func(t *testing.T) {
		c := c.For(t)
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"experiments/search", map[string]any{"max_results": 50001})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"experiments/search", map[string]any{"filter": "name = "})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"experiments/search", map[string]any{"filter": "metrics.x > 1"})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"experiments/search", map[string]any{"page_token": "!!notatoken"})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"experiments/search", map[string]any{"view_type": "SOMETIMES"})
	})
}
