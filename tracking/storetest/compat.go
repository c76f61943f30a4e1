package storetest

import (
	"net/url"
	"sort"
	"strings"
	"testing"
)

// testMLflowCompat asserts behaviours that MLflow 3.6's own REST tests and
// client depend on (see docs/mlflow-compat.md), each as MLflow's server
// answers them.
func testMLflowCompat(t *testing.T, c *Client) {
	t.Run("prompt filter", func(t *testing.T) { testPromptFilter(t, c.For(t)) })
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
