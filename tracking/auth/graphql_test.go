package auth_test

import (
	"encoding/json"
	"testing"

	"github.com/dawn-ml/dawn/tracking/auth"
)

// TestGraphQLChecksEachObject: /graphql lets any signed-in user send a
// query, and each object the query resolves passes the check of the REST
// route that serves it, so a user without READ reads through GraphQL
// nothing that REST refuses them: the field is null with "Permission
// denied." among the errors, and searches leave out what they may not
// read. The user is checked on the experiment and on the registered
// model separately (a run's modelVersions follow the model's permission).
func TestGraphQLChecksEachObject(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend)
			f := e.fixture()
			// A user with READ on the experiment but none on the model.
			e.admin.want(200, "POST", api+"users/create", obj{"username": "expreader", "password": "expreader-pw"})
			e.admin.want(200, "POST", api+"experiments/permissions/create", obj{"experiment_id": f.Exp, "username": "expreader", "permission": auth.Read})
			e.admin.want(200, "POST", api+"registered-models/permissions/create", obj{"name": f.Model, "username": "expreader", "permission": auth.NoPermissions})
			run := `"` + f.Run + `"`
			fields := []struct{ name, query string }{
				{"mlflowGetExperiment", `mlflowGetExperiment(input: {experimentId: "` + f.Exp + `"}) { experiment { name } }`},
				{"mlflowGetRun", `mlflowGetRun(input: {runId: ` + run + `}) { run { info { runId } } }`},
				{"mlflowListArtifacts", `mlflowListArtifacts(input: {runId: ` + run + `}) { files { path } }`},
				{"mlflowGetMetricHistoryBulkInterval", `mlflowGetMetricHistoryBulkInterval(input: {runIds: [` + run + `], metricKey: "m"}) { metrics { value } }`},
			}
			searches := `mlflowSearchRuns(input: {experimentIds: ["` + f.Exp + `"]}) { runs { info { runId } } }
				mlflowSearchModelVersions(input: {filter: "name = '` + f.Model + `'"}) { modelVersions { name } }`
			for _, c := range []struct {
				user string
				// readExp: the experiment's objects are answered;
				// readModel: the model's versions are.
				readExp, readModel bool
			}{
				{"nopermissions", false, false},
				{"read", true, true},
				{"manage", true, true},
				{"expreader", true, false},
				{"admin", true, true},
			} {
				pw := c.user + "-pw"
				if c.user == "admin" {
					pw = "s3cret-admin"
				}
				u := caller{t, e.url, c.user, pw}
				for _, fl := range fields {
					code, out, _ := u.do("POST", "/graphql", obj{"query": "{ " + fl.query + " }"})
					data, _ := out["data"].(map[string]any)
					errs, _ := out["errors"].([]any)
					switch {
					case code != 200:
						t.Errorf("%s %s: status %d %v", c.user, fl.name, code, out)
					case c.readExp && (data[fl.name] == nil || len(errs) > 0):
						t.Errorf("%s %s: %v, want it answered", c.user, fl.name, out)
					case !c.readExp && (data[fl.name] != nil || len(errs) != 1 || errs[0] != "Permission denied."):
						t.Errorf("%s %s: %v, want null and Permission denied.", c.user, fl.name, out)
					}
				}
				code, out, _ := u.do("POST", "/graphql", obj{"query": "{ " + searches + ` mlflowGetRun(input: {runId: ` + run + `}) { run { modelVersions { name } experiment { name } } } }`})
				b, _ := json.Marshal(out)
				runs := dig(out, "data", "mlflowSearchRuns", "runs")
				versions := dig(out, "data", "mlflowSearchModelVersions", "modelVersions")
				runVersions := dig(out, "data", "mlflowGetRun", "run", "modelVersions")
				if code != 200 || (len(runs) == 1) != c.readExp || (len(versions) == 1) != c.readModel {
					t.Errorf("%s searches: %d %s", c.user, code, b)
				}
				if c.readExp && (len(runVersions) == 1) != c.readModel {
					t.Errorf("%s: a run's modelVersions %s, want the model's versions only with READ on the model", c.user, b)
				}
			}
		})
	}
}

// dig follows keys through nested JSON objects to a list.
func dig(v any, keys ...string) []any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	l, _ := v.([]any)
	return l
}
