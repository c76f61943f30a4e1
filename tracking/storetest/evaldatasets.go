package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
)

const api3 = "/api/3.0/mlflow/"

// digestOf is MLflow's dataset digest, computed here on its own:
// sha256("<name>:<last_update_time>")[:8].
func digestOf(name string, ts float64) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s:%d", name, int64(ts))))
	return hex.EncodeToString(sum[:])[:8]
}

// tagsOf decodes a dataset's tags field (a JSON string).
func tagsOf(t *testing.T, d map[string]any) map[string]string {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal([]byte(str(d["tags"])), &m); err != nil {
		t.Fatalf("tags %q: %v", d["tags"], err)
	}
	return m
}

func strList(v any) []string {
	var out []string
	for _, e := range list(v) {
		out = append(out, str(e))
	}
	sort.Strings(out)
	return out
}

func newDataset(t *testing.T, c *Client, name string, exps []string, tags string) map[string]any {
	t.Helper()
	body := map[string]any{"name": name, "experiment_ids": exps}
	if tags != "" {
		body["tags"] = tags
	}
	return obj(c.OK("POST", api3+"datasets/create", body)["dataset"])
}

// testEvalDatasets drives MLflow 3's evaluation-dataset API the way
// mlflow.genai.datasets and MLflow's REST tests do.
func testEvalDatasets(t *testing.T, c *Client) {
	exp := newExperiment(t, c)
	name := unique("ds")
	d := newDataset(t, c, name, []string{exp}, `{"environment": "test", "version": "1.0", "mlflow.user": "alice"}`)
	id := str(d["dataset_id"])
	ds := api3 + "datasets/" + id
	t.Run("create", func(t *testing.T) {
		if !strings.HasPrefix(id, "d-") || len(id) != 34 {
			t.Fatalf("dataset_id %q is not d- plus 32 hex digits", id)
		}
		eq(t, "name", str(d["name"]), name)
		eq(t, "experiment_ids", fmt.Sprint(strList(d["experiment_ids"])), fmt.Sprint([]string{exp}))
		tags := tagsOf(t, d)
		eq(t, "tag environment", tags["environment"], "test")
		eq(t, "tag version", tags["version"], "1.0")
		eq(t, "created_by", str(d["created_by"]), "alice")
		eq(t, "last_updated_by", str(d["last_updated_by"]), "alice")
		eq(t, "last_update_time", num(d["last_update_time"]), num(d["created_time"]))
		eq(t, "digest", str(d["digest"]), digestOf(name, num(d["created_time"])))
		if _, ok := d["schema"]; ok {
			t.Fatalf("a dataset without records has a schema: %v", d)
		}
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api3+"datasets/create", map[string]any{"experiment_ids": []string{exp}})
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "POST", api3+"datasets/create", map[string]any{"name": "x", "experiment_ids": []string{"987654"}})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api3+"datasets/create", map[string]any{"name": "x", "tags": "[1]"})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api3+"datasets/create", map[string]any{"name": strings.Repeat("n", 256)})
	})
	t.Run("get", func(t *testing.T) {
		c := c.For(t)
		g := obj(c.OK("GET", ds, nil)["dataset"])
		eq(t, "name", str(g["name"]), name)
		eq(t, "tags", fmt.Sprint(tagsOf(t, g)), fmt.Sprint(tagsOf(t, d)))
		if _, ok := g["experiment_ids"]; ok {
			t.Fatalf("get answers with experiment_ids, MLflow leaves them to experiment-ids: %v", g)
		}
		eq(t, "experiment-ids", fmt.Sprint(strList(c.OK("GET", ds+"/experiment-ids", nil)["experiment_ids"])), fmt.Sprint([]string{exp}))
		r := c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "GET", api3+"datasets/d-00000000000000000000000000000000", nil)
		if !strings.Contains(str(r.Body["message"]), "not found") {
			t.Fatalf("message %q does not say not found", r.Body["message"])
		}
	})
	t.Run("tags", func(t *testing.T) {
		c := c.For(t)
		c.OK("PATCH", ds+"/tags", map[string]any{"tags": `{"environment": "staging", "new_tag": "new_value", "n": 3, "b": true, "gone": null}`})
		tags := tagsOf(t, obj(c.OK("GET", ds, nil)["dataset"]))
		want := map[string]string{"environment": "staging", "version": "1.0", "mlflow.user": "alice", "new_tag": "new_value", "n": "3", "b": "True"}
		eq(t, "tags", fmt.Sprint(tags), fmt.Sprint(want))
		c.OK("DELETE", ds+"/tags/new_tag", nil)
		c.OK("DELETE", ds+"/tags/never-set", nil)
		tags = tagsOf(t, obj(c.OK("GET", ds, nil)["dataset"]))
		if _, ok := tags["new_tag"]; ok || tags["environment"] != "staging" {
			t.Fatalf("tags after delete: %v", tags)
		}
		c.Fail(400, "INVALID_PARAMETER_VALUE", "PATCH", ds+"/tags", map[string]any{})
		c.Fail(400, "INVALID_PARAMETER_VALUE", "PATCH", ds+"/tags", map[string]any{"tags": "not json"})
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "PATCH", api3+"datasets/d-missing/tags", map[string]any{"tags": `{"a": "b"}`})
	})
	t.Run("records", func(t *testing.T) { testEvalRecords(t, c.For(t), ds, name) })
	t.Run("experiments", func(t *testing.T) {
		c := c.For(t)
		exp2, exp3 := newExperiment(t, c), newExperiment(t, c)
		before := num(obj(c.OK("GET", ds, nil)["dataset"])["last_update_time"])
		c.OK("POST", ds+"/add-experiments", map[string]any{"experiment_ids": []string{exp2, exp3}})
		ids := func() string { return fmt.Sprint(strList(c.OK("GET", ds+"/experiment-ids", nil)["experiment_ids"])) }
		all := []string{exp, exp2, exp3}
		sort.Strings(all)
		eq(t, "after add", ids(), fmt.Sprint(all))
		if after := num(obj(c.OK("GET", ds, nil)["dataset"])["last_update_time"]); after < before {
			t.Fatalf("last_update_time went back: %v < %v", after, before)
		}
		c.OK("POST", ds+"/add-experiments", map[string]any{"experiment_ids": []string{exp2}})
		eq(t, "idempotent add", ids(), fmt.Sprint(all))
		r := c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "POST", ds+"/add-experiments", map[string]any{"experiment_ids": []string{"987654"}})
		eq(t, "message", str(r.Body["message"]), "No Experiment with id=987654")
		eq(t, "failed add changes nothing", ids(), fmt.Sprint(all))
		c.OK("POST", ds+"/remove-experiments", map[string]any{"experiment_ids": []string{exp2, "987654"}})
		two := []string{exp, exp3}
		sort.Strings(two)
		eq(t, "after remove", ids(), fmt.Sprint(two))
		c.OK("POST", ds+"/remove-experiments", map[string]any{"experiment_ids": []string{exp2}})
		eq(t, "idempotent remove", ids(), fmt.Sprint(two))
		for _, path := range []string{"add-experiments", "remove-experiments"} {
			r := c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "POST", api3+"datasets/d-nonexistent1234567890abcdef1234/"+path, map[string]any{"experiment_ids": []string{exp}})
			eq(t, path+" message", str(r.Body["message"]), "Dataset 'd-nonexistent1234567890abcdef1234' not found")
		}
		c.OK("POST", ds+"/remove-experiments", map[string]any{"experiment_ids": []string{exp, exp3}})
		eq(t, "all removed", ids(), fmt.Sprint([]string(nil)))
		c.OK("POST", ds+"/add-experiments", map[string]any{"experiment_ids": []string{exp}})
	})
	t.Run("search", func(t *testing.T) { testEvalDatasetSearch(t, c.For(t)) })
	t.Run("delete", func(t *testing.T) {
		c := c.For(t)
		c.OK("DELETE", ds, nil)
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "GET", ds, nil)
		c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "GET", ds+"/records", nil)
		c.OK("DELETE", ds, nil) // MLflow: deleting a missing dataset is no error
	})
}

func testEvalRecords(t *testing.T, c *Client, ds, name string) {
	upsert := func(recs string) (float64, float64) {
		t.Helper()
		b := c.OK("POST", ds+"/records", map[string]any{"records": recs})
		return num(b["inserted_count"]), num(b["updated_count"])
	}
	ins, upd := upsert(`[{"inputs": {"question": "What is MLflow?"}, "expectations": {"answer": "MLflow is an ML platform"}, "tags": {"difficulty": "easy"}},
		{"inputs": {"question": "What is Python?"}, "expectations": {"answer": "Python is a programming language"}, "tags": {"difficulty": "easy"}}]`)
	eq(t, "inserted", ins, 2.0)
	eq(t, "updated", upd, 0.0)
	// The same inputs with other spacing and key order are the same record.
	ins, upd = upsert(`[{"inputs": {"question":"What is MLflow?"}, "expectations": {"answer": "MLflow is an open-source ML platform", "extra": 1}, "tags": {"updated": "true", "mlflow.user": "bob"}},
		{"inputs": {"question": "What is Docker?", "lang": "en"}, "outputs": "Docker is a container platform", "source": {"source_type": "trace", "source_data": {"trace_id": "tr-1"}}}]`)
	eq(t, "inserted", ins, 1.0)
	eq(t, "updated", upd, 1.0)
	d := obj(c.OK("GET", ds, nil)["dataset"])
	eq(t, "profile", str(d["profile"]), `{"num_records": 3}`)
	// Field types in first-seen order; records without outputs add none,
	// so the first outputs seen (a string) give the outputs one type.
	eq(t, "schema", str(d["schema"]), `{"inputs": {"question": "string", "lang": "string"}, "outputs": "string", "expectations": {"answer": "string", "extra": "integer"}, "version": "1.0"}`)
	eq(t, "digest", str(d["digest"]), digestOf(name, num(d["last_update_time"])))
	eq(t, "last_updated_by", str(d["last_updated_by"]), "bob")

	page := func(q url.Values) ([]map[string]any, string) {
		t.Helper()
		b := c.OK("GET", ds+"/records", q)
		var recs []map[string]any
		if err := json.Unmarshal([]byte(str(b["records"])), &recs); err != nil {
			t.Fatalf("records %q: %v", b["records"], err)
		}
		return recs, str(b["next_page_token"])
	}
	first, tok := page(url.Values{"max_results": {"2"}})
	if len(first) != 2 || tok == "" {
		t.Fatalf("first page: %d records, token %q", len(first), tok)
	}
	rest, tok2 := page(url.Values{"max_results": {"2"}, "page_token": {tok}})
	if len(rest) != 1 || tok2 != "" {
		t.Fatalf("second page: %d records, token %q", len(rest), tok2)
	}
	all, _ := page(nil)
	eq(t, "all records", len(all), 3)
	byQ := map[string]map[string]any{}
	for _, r := range append(first, rest...) {
		byQ[str(obj(r["inputs"])["question"])] = r
		if !strings.HasPrefix(str(r["dataset_record_id"]), "dr-") {
			t.Fatalf("record id %q", r["dataset_record_id"])
		}
	}
	ml := byQ["What is MLflow?"]
	eq(t, "merged answer", str(obj(ml["expectations"])["answer"]), "MLflow is an open-source ML platform")
	eq(t, "merged extra", num(obj(ml["expectations"])["extra"]), 1.0)
	eq(t, "merged tags", fmt.Sprint(obj(ml["tags"])), fmt.Sprint(map[string]any{"difficulty": "easy", "updated": "true", "mlflow.user": "bob"}))
	eq(t, "outputs default", fmt.Sprint(ml["outputs"]), fmt.Sprint(map[string]any{}))
	eq(t, "updater", str(ml["last_updated_by"]), "bob")
	if _, ok := ml["created_by"]; ok {
		t.Fatalf("record created without mlflow.user has created_by: %v", ml)
	}
	if num(ml["last_update_time"]) < num(ml["created_time"]) {
		t.Fatalf("times: %v", ml)
	}
	dk := byQ["What is Docker?"]
	eq(t, "outputs", str(dk["outputs"]), "Docker is a container platform")
	eq(t, "source_type", str(dk["source_type"]), "TRACE")
	eq(t, "source_id", str(dk["source_id"]), "tr-1")
	eq(t, "source", str(obj(dk["source"])["source_type"]), "TRACE")
	if _, ok := dk["expectations"]; ok {
		t.Fatalf("record without expectations has some: %v", dk)
	}

	for _, bad := range []string{`not json`, `{"inputs": {}}`, `[{"inputs": 3}]`, `[{"inputs": {}, "expectations": "x"}]`,
		`[{"inputs": {}, "source": {"source_type": "robot"}}]`, `[{"inputs": {}, "source": {"source_type": "HUMAN", "who": 1}}]`} {
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", ds+"/records", map[string]any{"records": bad})
	}
	c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", ds+"/records", map[string]any{})
	c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "POST", api3+"datasets/invalid-id/records", map[string]any{"records": "[]"})
	c.Fail(400, "INVALID_PARAMETER_VALUE", "GET", ds+"/records", url.Values{"page_token": {"???"}})
	c.Fail(400, "INVALID_PARAMETER_VALUE", "GET", ds+"/records", url.Values{"max_results": {"100000"}})
}

func testEvalDatasetSearch(t *testing.T, c *Client) {
	exp1, exp2 := newExperiment(t, c), newExperiment(t, c)
	team := unique("team")
	n1, n2, n3 := unique("search_a"), unique("search_b"), unique("search_c")
	newDataset(t, c, n1, []string{exp1}, `{"team": "`+team+`-ml", "status": "active"}`)
	newDataset(t, c, n2, []string{exp1, exp2}, `{"team": "`+team+`-data", "status": "active"}`)
	newDataset(t, c, n3, []string{exp2}, `{"team": "`+team+`-ml", "status": "archived"}`)
	names := func(body map[string]any) ([]string, string) {
		t.Helper()
		b := c.OK("POST", api3+"datasets/search", body)
		var out []string
		for _, d := range list(b["datasets"]) {
			out = append(out, str(obj(d)["name"]))
		}
		return out, str(b["next_page_token"])
	}
	// The default order is newest first; datasets made in the same
	// millisecond tie, so these compare as sets.
	got, _ := names(map[string]any{"experiment_ids": []string{exp1}})
	sort.Strings(got)
	eq(t, "by experiment", fmt.Sprint(got), fmt.Sprint([]string{n1, n2}))
	got, _ = names(map[string]any{"filter_string": "tags.team = '" + team + "-ml'"})
	sort.Strings(got)
	eq(t, "by tag", fmt.Sprint(got), fmt.Sprint([]string{n1, n3}))
	got, _ = names(map[string]any{"experiment_ids": []string{exp1, exp2}, "order_by": []string{"name ASC"}})
	eq(t, "ordered", fmt.Sprint(got), fmt.Sprint([]string{n1, n2, n3}))
	got, _ = names(map[string]any{"experiment_ids": []string{exp2}, "filter_string": "name LIKE '%search_c%' AND tags.status != 'active'"})
	eq(t, "like and tag", fmt.Sprint(got), fmt.Sprint([]string{n3}))
	got, _ = names(map[string]any{"experiment_ids": []string{exp2}, "filter_string": "created_time > 0"})
	eq(t, "numeric", len(got), 2)
	var paged []string
	tok := ""
	for range 4 {
		body := map[string]any{"experiment_ids": []string{exp1, exp2}, "max_results": 1, "order_by": []string{"name DESC"}}
		if tok != "" {
			body["page_token"] = tok
		}
		var p []string
		p, tok = names(body)
		paged = append(paged, p...)
		if tok == "" {
			break
		}
	}
	eq(t, "paged", fmt.Sprint(paged), fmt.Sprint([]string{n3, n2, n1}))
	b := c.OK("GET", api3+"datasets/search", url.Values{"experiment_ids": {exp2}, "order_by": {"name"}})
	eq(t, "GET search", len(list(b["datasets"])), 2)
	for _, bad := range []map[string]any{
		{"filter_string": "digest = 'x'"},
		{"filter_string": "params.a = 'x'"},
		{"filter_string": "created_time = 'x'"},
		{"order_by": []string{"created_by"}},
		{"order_by": []string{"tags.team"}},
		{"max_results": 0},
		{"max_results": 50001},
		{"page_token": "bad token"},
	} {
		c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", api3+"datasets/search", bad)
	}
}

// testScorers drives the scorer API as MLflow's test_scorer_CRUD does.
func testScorers(t *testing.T, c *Client) {
	exp := newExperiment(t, c)
	sc := api3 + "scorers/"
	reg := func(name, ser string) map[string]any {
		t.Helper()
		return c.OK("POST", sc+"register", map[string]any{"experiment_id": exp, "name": name, "serialized_scorer": ser})
	}
	v1 := reg("test_scorer", `{"name": "test_scorer"}`)
	eq(t, "version", num(v1["version"]), 1.0)
	eq(t, "experiment_id", str(v1["experiment_id"]), exp)
	eq(t, "name", str(v1["name"]), "test_scorer")
	eq(t, "serialized", str(v1["serialized_scorer"]), `{"name": "test_scorer"}`)
	if len(str(v1["scorer_id"])) != 36 || num(v1["creation_time"]) <= 0 {
		t.Fatalf("register: %v", v1)
	}
	q := func(kv ...string) url.Values {
		v := url.Values{"experiment_id": {exp}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	scorers := func(path string, v url.Values) []map[string]any {
		t.Helper()
		var out []map[string]any
		for _, s := range list(c.OK("GET", sc+path, v)["scorers"]) {
			out = append(out, obj(s))
		}
		return out
	}
	l := scorers("list", q())
	eq(t, "list", len(l), 1)
	eq(t, "list name", str(l[0]["scorer_name"]), "test_scorer")
	eq(t, "list experiment (a number)", l[0]["experiment_id"], any(float64(mustAtoi(t, exp))))
	v2 := reg("test_scorer", `{"name": "test_scorer_v2"}`)
	eq(t, "version 2", num(v2["version"]), 2.0)
	eq(t, "same scorer id", str(v2["scorer_id"]), str(v1["scorer_id"]))
	reg("another", `{}`)
	l = scorers("list", q())
	eq(t, "list latest", fmt.Sprintf("%s %v %s %v", str(l[0]["scorer_name"]), num(l[0]["scorer_version"]), str(l[1]["scorer_name"]), num(l[1]["scorer_version"])), "another 1 test_scorer 2")
	vs := scorers("versions", q("name", "test_scorer"))
	eq(t, "versions", fmt.Sprint(num(vs[0]["scorer_version"]), num(vs[1]["scorer_version"])), "1 2")
	get := obj(c.OK("GET", sc+"get", q("name", "test_scorer"))["scorer"])
	eq(t, "get latest", num(get["scorer_version"]), 2.0)
	eq(t, "get serialized", str(get["serialized_scorer"]), `{"name": "test_scorer_v2"}`)
	get = obj(c.OK("GET", sc+"get", q("name", "test_scorer", "version", "1"))["scorer"])
	eq(t, "get v1", str(get["serialized_scorer"]), `{"name": "test_scorer"}`)
	r := c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "GET", sc+"get", q("name", "test_scorer", "version", "9"))
	eq(t, "message", str(r.Body["message"]), "Scorer with name 'test_scorer' and version 9 not found for experiment "+exp+".")
	c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "GET", sc+"get", q("name", "nope"))
	c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "GET", sc+"versions", q("name", "nope"))
	c.OK("DELETE", sc+"delete", map[string]any{"experiment_id": exp, "name": "test_scorer", "version": 1})
	vs = scorers("versions", q("name", "test_scorer"))
	eq(t, "after delete v1", fmt.Sprint(len(vs), num(vs[0]["scorer_version"])), "1 2")
	c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "DELETE", sc+"delete", map[string]any{"experiment_id": exp, "name": "test_scorer", "version": 1})
	c.OK("DELETE", sc+"delete", map[string]any{"experiment_id": exp, "name": "test_scorer"})
	l = scorers("list", q())
	eq(t, "after delete all", len(l), 1)
	c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "DELETE", sc+"delete", map[string]any{"experiment_id": exp, "name": "test_scorer"})
	v := reg("test_scorer", `{}`)
	eq(t, "a deleted scorer starts again at 1", num(v["version"]), 1.0)

	c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", sc+"register", map[string]any{"experiment_id": exp, "name": "x"})
	c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", sc+"register", map[string]any{"experiment_id": exp, "serialized_scorer": "{}"})
	c.Fail(400, "INVALID_PARAMETER_VALUE", "GET", sc+"list", url.Values{})
	c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "POST", sc+"register", map[string]any{"experiment_id": "987654", "name": "x", "serialized_scorer": "{}"})
	c.OK("POST", api+"experiments/delete", map[string]any{"experiment_id": exp})
	r = c.Fail(400, "INVALID_PARAMETER_VALUE", "GET", sc+"list", q())
	eq(t, "deleted experiment", str(r.Body["message"]), "The experiment "+exp+" must be in the 'active' state. Current state is deleted.")
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// testPromptLab drives runs/create-promptlab-run as MLflow's REST tests do.
func testPromptLab(t *testing.T, c *Client) {
	path := "/ajax-api/2.0/mlflow/runs/create-promptlab-run"
	body := map[string]any{}
	for _, step := range []struct {
		field string
		value any
	}{
		{"experiment_id", "123"},
		{"prompt_template", "my_prompt_template"},
		{"prompt_parameters", []any{map[string]any{"key": "my_key", "value": "my_value"}}},
		{"model_route", "my_route"},
		{"model_input", "my_input"},
		{"mlflow_version", "1.0.0"},
	} {
		r := c.Fail(400, "INVALID_PARAMETER_VALUE", "POST", path, body)
		eq(t, "message", str(r.Body["message"]), "CreatePromptlabRun request must specify "+step.field+".")
		body[step.field] = step.value
	}
	c.Fail(404, "RESOURCE_DOES_NOT_EXIST", "POST", path, body)

	exp := newExperiment(t, c)
	b := c.OK("POST", path, map[string]any{
		"experiment_id": exp, "run_name": "my_run_name", "prompt_template": "my_prompt_template",
		"prompt_parameters": []any{map[string]any{"key": "my_key", "value": "my_value"}},
		"model_route":       "my_route",
		"model_parameters":  []any{map[string]any{"key": "temperature", "value": 0.1}, map[string]any{"key": "stream", "value": false}},
		"model_input":       "my_input", "model_output": "my_output",
		"model_output_parameters": []any{map[string]any{"key": "latency", "value": 100}},
		"mlflow_version":          "1.0.0", "user_id": "username", "start_time": 456,
		"tags": []any{map[string]any{"key": "team", "value": "genai"}},
	})
	run := obj(b["run"])
	info := obj(run["info"])
	eq(t, "run_name", str(info["run_name"]), "my_run_name")
	eq(t, "experiment_id", str(info["experiment_id"]), exp)
	eq(t, "user_id", str(info["user_id"]), "username")
	eq(t, "status", str(info["status"]), "FINISHED")
	eq(t, "start_time", num(info["start_time"]), 456.0)
	if num(info["end_time"]) <= 456 {
		t.Fatalf("end_time %v", info["end_time"])
	}
	params := kv(obj(run["data"])["params"])
	eq(t, "params", fmt.Sprint(params), fmt.Sprint(map[string]any{"model_route": "my_route", "prompt_template": "my_prompt_template", "temperature": "0.1", "stream": "False"}))
	tags := kv(obj(run["data"])["tags"])
	eq(t, "loggedArtifacts", str(tags["mlflow.loggedArtifacts"]), `[{"path": "eval_results_table.json", "type": "table"}]`)
	eq(t, "runSourceType", str(tags["mlflow.runSourceType"]), "PROMPT_ENGINEERING")
	eq(t, "own tag", str(tags["team"]), "genai")
	if !strings.Contains(str(tags["mlflow.log-model.history"]), `"artifact_path":"model"`) {
		t.Fatalf("log-model history: %v", tags["mlflow.log-model.history"])
	}
	read := func(p string) string {
		t.Helper()
		res, err := http.Get(c.base + "/api/2.0/mlflow-artifacts/artifacts/" + exp + "/" + str(info["run_id"]) + "/artifacts/" + p)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		eq(t, p+" status", res.StatusCode, 200)
		return string(raw)
	}
	eq(t, "eval results", read("eval_results_table.json"), `{"columns": ["my_key", "prompt", "output", "latency"], "data": [["my_value", "my_input", "my_output", "100"]]}`)
	if mm := read("model/MLmodel"); !strings.Contains(mm, "loader_module: mlflow.prompt.promptlab_model") || !strings.Contains(mm, "run_id: "+str(info["run_id"])) {
		t.Fatalf("MLmodel:\n%s", mm)
	}
	if p := read("model/parameters.yaml"); !strings.Contains(p, "model_route: my_route") || !strings.Contains(p, "my_key: my_value") {
		t.Fatalf("parameters.yaml:\n%s", p)
	}
	eq(t, "requirements", read("model/requirements.txt"), "mlflow[gateway]==1.0.0")
}
