package storetest

import (
	"net/url"
	"strings"
	"testing"
)

func testRegistry(t *testing.T, c *Client) {
	name := unique("model")
	m := obj(c.OK("POST", api+"registered-models/create", map[string]any{"name": name, "description": "d0",
		"tags": []any{map[string]any{"key": "owner", "value": "ann"}}})["registered_model"])
	eq(t, "name", str(m["name"]), name)
	eq(t, "description", str(m["description"]), "d0")
	if num(m["creation_timestamp"]) <= 0 {
		t.Fatalf("creation_timestamp: %v", m)
	}
	t.Run("errors", func(t *testing.T) {
		c := c.For(t)
		c.Fail(400, "RESOURCE_ALREADY_EXISTS", "POST", api+"registered-models/create", map[string]any{"name": name})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"registered-models/create", map[string]any{"name": ""})
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "GET", api+"registered-models/get", url.Values{"name": {"no-" + name}})
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "POST", api+"model-versions/create", map[string]any{"name": "no-" + name, "source": "s3://b/s"})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"registered-models/set-tag", map[string]any{"name": name, "key": "k", "value": strings.Repeat("v", 5001)})
	})
	exp := newExperiment(t, c)
	run := newRun(t, c, exp)
	var versions []string
	for i := range 3 {
		v := obj(c.OK("POST", api+"model-versions/create", map[string]any{"name": name, "source": "mlflow-artifacts:/" + exp + "/" + run + "/artifacts/model",
			"run_id": run, "description": "v", "tags": []any{map[string]any{"key": "i", "value": string(rune('0' + i))}}})["model_version"])
		versions = append(versions, str(v["version"]))
		eq(t, "current_stage", str(v["current_stage"]), "None")
		eq(t, "status", str(v["status"]), "READY")
		eq(t, "run_id", str(v["run_id"]), run)
	}
	eq(t, "versions", strings.Join(versions, ","), "1,2,3")
	t.Run("source validation", func(t *testing.T) {
		c := c.For(t)
		for _, src := range []string{"/etc", "file:///etc/passwd", "relative/dir", "mlflow-artifacts://host:9000/models/../../../", "http://host:9000/models/%2E%2E/%2E%2E/x", "s3://b/a/../../x",
			"mlflow-artifacts://host:9000/models/..%2f..%2fartifacts", "mlflow-artifacts://host:9000/models/artifact%00", "dbfs:/x/a%3f/../../"} {
			c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"model-versions/create", map[string]any{"name": name, "source": src})
		}
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"model-versions/create", map[string]any{"name": name, "source": "/tmp", "run_id": run})
		v := obj(c.OK("POST", api+"model-versions/create", map[string]any{"name": name, "source": "runs:/" + run + "/model"})["model_version"])
		c.OK("DELETE", api+"model-versions/delete", map[string]any{"name": name, "version": str(v["version"])})
	})
	t.Run("get version", func(t *testing.T) {
		c := c.For(t)
		v := obj(c.OK("GET", api+"model-versions/get", url.Values{"name": {name}, "version": {"2"}})["model_version"])
		eq(t, "tag i", kv(v["tags"])["i"], any("1"))
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "GET", api+"model-versions/get", url.Values{"name": {name}, "version": {"9"}})
		r := c.Fail(400, "INVALID_PARAMETER_VALUE", "GET", api+"model-versions/get", url.Values{"name": {name}, "version": {"something not correct"}})
		eq(t, "message", str(r.Body["message"]), "Parameter 'version' must be an integer, got 'something not correct'.")
		u := c.OK("GET", api+"model-versions/get-download-uri", url.Values{"name": {name}, "version": {"2"}})
		eq(t, "artifact_uri", str(u["artifact_uri"]), "mlflow-artifacts:/"+exp+"/"+run+"/artifacts/model")
	})
	t.Run("update", func(t *testing.T) {
		c := c.For(t)
		m := obj(c.OK("PATCH", api+"registered-models/update", map[string]any{"name": name, "description": "d1"})["registered_model"])
		eq(t, "description", str(m["description"]), "d1")
		v := obj(c.OK("PATCH", api+"model-versions/update", map[string]any{"name": name, "version": "1", "description": "first"})["model_version"])
		eq(t, "version description", str(v["description"]), "first")
	})
	t.Run("stages", func(t *testing.T) {
		c := c.For(t)
		c.OK("POST", api+"model-versions/transition-stage", map[string]any{"name": name, "version": "1", "stage": "Production"})
		v := obj(c.OK("POST", api+"model-versions/transition-stage", map[string]any{"name": name, "version": "2", "stage": "production", "archive_existing_versions": true})["model_version"])
		eq(t, "stage", str(v["current_stage"]), "Production")
		v1 := obj(c.OK("GET", api+"model-versions/get", url.Values{"name": {name}, "version": {"1"}})["model_version"])
		eq(t, "archived", str(v1["current_stage"]), "Archived")
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"model-versions/transition-stage", map[string]any{"name": name, "version": "3", "stage": "Prod"})
		lv := list(c.OK("POST", api+"registered-models/get-latest-versions", map[string]any{"name": name, "stages": []string{"Production"}})["model_versions"])
		eq(t, "latest production", len(lv), 1)
		eq(t, "latest production version", str(obj(lv[0])["version"]), "2")
		lv = list(c.OK("GET", api+"registered-models/get-latest-versions", url.Values{"name": {name}})["model_versions"])
		eq(t, "latest per stage", len(lv), 3)
		m := obj(c.OK("GET", api+"registered-models/get", url.Values{"name": {name}})["registered_model"])
		eq(t, "latest_versions", len(list(m["latest_versions"])), 3)
	})
	t.Run("aliases", func(t *testing.T) {
		c := c.For(t)
		c.OK("POST", api+"registered-models/alias", map[string]any{"name": name, "alias": "champion", "version": "3"})
		v := obj(c.OK("GET", api+"registered-models/alias", url.Values{"name": {name}, "alias": {"champion"}})["model_version"])
		eq(t, "alias version", str(v["version"]), "3")
		eq(t, "aliases", strings.Join(func() []string {
			var s []string
			for _, a := range list(v["aliases"]) {
				s = append(s, str(a))
			}
			return s
		}(), ","), "champion")
		m := obj(c.OK("GET", api+"registered-models/get", url.Values{"name": {name}})["registered_model"])
		eq(t, "model aliases", str(obj(list(m["aliases"])[0])["alias"]), "champion")
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"registered-models/alias", map[string]any{"name": name, "alias": "latest", "version": "1"})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api+"registered-models/alias", map[string]any{"name": name, "alias": "v1", "version": "1"})
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "POST", api+"registered-models/alias", map[string]any{"name": name, "alias": "x", "version": "42"})
		c.OK("DELETE", api+"registered-models/alias", map[string]any{"name": name, "alias": "champion"})
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "GET", api+"registered-models/alias", url.Values{"name": {name}, "alias": {"champion"}})
	})
	t.Run("tags", func(t *testing.T) {
		c := c.For(t)
		c.OK("POST", api+"registered-models/set-tag", map[string]any{"name": name, "key": "owner", "value": "bob"})
		m := obj(c.OK("GET", api+"registered-models/get", url.Values{"name": {name}})["registered_model"])
		eq(t, "owner", kv(m["tags"])["owner"], any("bob"))
		c.OK("DELETE", api+"registered-models/delete-tag", map[string]any{"name": name, "key": "owner"})
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "DELETE", api+"registered-models/delete-tag", map[string]any{"name": name, "key": "owner"})
		c.OK("POST", api+"model-versions/set-tag", map[string]any{"name": name, "version": "1", "key": "q", "value": "good"})
		v := obj(c.OK("GET", api+"model-versions/get", url.Values{"name": {name}, "version": {"1"}})["model_version"])
		eq(t, "q", kv(v["tags"])["q"], any("good"))
		c.OK("DELETE", api+"model-versions/delete-tag", map[string]any{"name": name, "version": "1", "key": "q"})
	})
	t.Run("delete version keeps numbering", func(t *testing.T) {
		c := c.For(t)
		c.OK("DELETE", api+"model-versions/delete", map[string]any{"name": name, "version": "3"})
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "GET", api+"model-versions/get", url.Values{"name": {name}, "version": {"3"}})
		v := obj(c.OK("POST", api+"model-versions/create", map[string]any{"name": name, "source": "s3://b/s"})["model_version"])
		eq(t, "next version", str(v["version"]), "5") // 4 was made and deleted in "source validation"
	})
	t.Run("rename and delete", func(t *testing.T) {
		c := c.For(t)
		nn := unique("renamed-model")
		m := obj(c.OK("POST", api+"registered-models/rename", map[string]any{"name": name, "new_name": nn})["registered_model"])
		eq(t, "new name", str(m["name"]), nn)
		v := obj(c.OK("GET", api+"model-versions/get", url.Values{"name": {nn}, "version": {"2"}})["model_version"])
		eq(t, "version moved", str(v["name"]), nn)
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "GET", api+"registered-models/get", url.Values{"name": {name}})
		c.OK("DELETE", api+"registered-models/delete", map[string]any{"name": nn})
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "GET", api+"registered-models/get", url.Values{"name": {nn}})
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "GET", api+"model-versions/get", url.Values{"name": {nn}, "version": {"2"}})
	})
}

func testRegistrySearch(t *testing.T, c *Client) {
	prefix := unique("rs")
	for _, n := range []string{"b", "a", "c", "D"} {
		c.OK("POST", api+"registered-models/create", map[string]any{"name": prefix + "-" + n,
			"tags": []any{map[string]any{"key": "upper", "value": map[bool]string{true: "yes", false: "no"}[n == "D"]}}})
		c.OK("POST", api+"model-versions/create", map[string]any{"name": prefix + "-" + n, "source": "s3://b/src/" + n, "run_id": "run" + n})
	}
	names := func(b map[string]any, field string) string {
		var s []string
		for _, m := range list(b[field]) {
			s = append(s, strings.TrimPrefix(str(obj(m)["name"]), prefix+"-"))
		}
		return strings.Join(s, ",")
	}
	b := c.OK("GET", api+"registered-models/search", url.Values{"filter": {"name LIKE '" + prefix + "-%'"}})
	eq(t, "default name order", names(b, "registered_models"), "D,a,b,c")
	b = c.OK("GET", api+"registered-models/search", url.Values{"filter": {"name ILIKE '" + prefix + "-d'"}})
	eq(t, "ILIKE", names(b, "registered_models"), "D")
	b = c.OK("GET", api+"registered-models/search", url.Values{"filter": {"name LIKE '" + prefix + "-%' AND tags.upper = 'no'"}, "order_by": {"name DESC"}})
	eq(t, "tag filter, desc", names(b, "registered_models"), "c,b,a")
	var pages []string
	token := ""
	for {
		q := url.Values{"filter": {"name LIKE '" + prefix + "-%'"}, "max_results": {"3"}}
		if token != "" {
			q.Set("page_token", token)
		}
		b := c.OK("GET", api+"registered-models/search", q)
		pages = append(pages, names(b, "registered_models"))
		if token = str(b["next_page_token"]); token == "" {
			break
		}
	}
	eq(t, "pages", strings.Join(pages, " | "), "D,a,b | c")
	b = c.OK("GET", api+"model-versions/search", url.Values{"filter": {"run_id = 'runc'"}})
	eq(t, "version by run_id", names(b, "model_versions"), "c")
	b = c.OK("GET", api+"model-versions/search", url.Values{"filter": {"name = '" + prefix + "-a'"}})
	eq(t, "version by name", names(b, "model_versions"), "a")
	b = c.OK("GET", api+"model-versions/search", url.Values{"filter": {"run_id IN ('runa', 'runb')"}, "order_by": {"name"}})
	eq(t, "version by run_id IN", names(b, "model_versions"), "a,b")
	// MLflow clients add the prompt clause to every model search; models
	// without the tag match it, prompts do not.
	prompt := "tag.`mlflow.prompt.is_prompt` != 'true'"
	b = c.OK("GET", api+"registered-models/search", url.Values{"filter": {"name LIKE '" + prefix + "-%' AND " + prompt}})
	eq(t, "prompt clause", names(b, "registered_models"), "D,a,b,c")
	c.OK("POST", api+"registered-models/set-tag", map[string]any{"name": prefix + "-b", "key": "mlflow.prompt.is_prompt", "value": "true"})
	b = c.OK("GET", api+"registered-models/search", url.Values{"filter": {"name LIKE '" + prefix + "-%' AND " + prompt}})
	eq(t, "prompt excluded", names(b, "registered_models"), "D,a,c")
	b = c.OK("GET", api+"model-versions/search", url.Values{"filter": {"name = '" + prefix + "-a'"}})
	if d, ok := obj(list(b["model_versions"])[0])["description"]; !ok || d != "" {
		t.Fatalf("description of a version created without one: %v, %v (MLflow sends \"\")", d, ok)
	}
	c.OK("POST", api+"model-versions/create", map[string]any{"name": prefix + "-c", "source": "models:/" + prefix + "-a/1"})
	u := c.OK("GET", api+"model-versions/get-download-uri", url.Values{"name": {prefix + "-c"}, "version": {"2"}})
	eq(t, "copied version resolves", str(u["artifact_uri"]), "s3://b/src/a")
	c.Fail(400, "INVALID_PARAMETER_VALUE", "GET", api+"registered-models/search", url.Values{"max_results": {"1001"}})
	c.Fail(400, "INVALID_PARAMETER_VALUE", "GET", api+"registered-models/search", url.Values{"filter": {"metrics.x > 1"}})
	c.Fail(400, "INVALID_PARAMETER_VALUE", "GET", api+"model-versions/search", url.Values{"max_results": {"200001"}})
}
