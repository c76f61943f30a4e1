package auth_test

import (
	"testing"
)

// TestNULParity: a NUL character in a string value is refused with 400
// INVALID_PARAMETER_VALUE on both backends (PostgreSQL answered 500 on 16
// endpoints, SQLite stored it), whatever the endpoint.
func TestNULParity(t *testing.T) {
	const nul = "a\x00b"
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend)
			f := e.fixture()
			a := e.admin
			for _, c := range []struct {
				method, path string
				body         any
			}{
				{"POST", "experiments/create", obj{"name": nul}},
				{"POST", "experiments/update", obj{"experiment_id": f.Exp, "new_name": nul}},
				{"POST", "experiments/set-experiment-tag", obj{"experiment_id": f.Exp, "key": "k", "value": nul}},
				{"GET", "experiments/get-by-name", q{"experiment_name": {nul}}},
				{"GET", "experiments/get", q{"experiment_id": {nul}}},
				{"POST", "runs/create", obj{"experiment_id": f.Exp, "run_name": nul}},
				{"POST", "runs/update", obj{"run_id": f.Run, "run_name": nul}},
				{"POST", "runs/set-tag", obj{"run_id": f.Run, "key": "k", "value": nul}},
				{"POST", "runs/log-parameter", obj{"run_id": f.Run, "key": "k2", "value": nul}},
				{"POST", "runs/log-batch", obj{"run_id": f.Run, "tags": []obj{{"key": "k", "value": nul}}}},
				{"POST", "runs/search", obj{"experiment_ids": []string{f.Exp}, "filter": "tags.k = '" + nul + "'"}},
				{"POST", "runs/log-inputs", obj{"run_id": f.Run, "datasets": []obj{{"dataset": obj{"name": nul, "digest": "x", "source_type": "l", "source": "s"}}}}},
				{"GET", "metrics/get-history", q{"run_id": {f.Run}, "metric_key": {nul}}},
				{"POST", "registered-models/create", obj{"name": nul}},
				{"GET", "registered-models/get", q{"name": {nul}}},
				{"PATCH", "registered-models/update", obj{"name": f.Model, "description": nul}},
				{"POST", "registered-models/set-tag", obj{"name": f.Model, "key": "k", "value": nul}},
				{"POST", "registered-models/alias", obj{"name": f.Model, "alias": nul, "version": "1"}},
				{"POST", "model-versions/create", obj{"name": f.Model, "source": "mlflow-artifacts:/" + f.Exp + "/" + nul}},
				{"PATCH", "model-versions/update", obj{"name": f.Model, "version": "1", "description": nul}},
				{"POST", "model-versions/set-tag", obj{"name": f.Model, "version": "1", "key": "k", "value": nul}},
				{"GET", "model-versions/search", q{"filter": {"name='" + nul + "'"}}},
				{"POST", "users/create", obj{"username": nul, "password": "pw"}},
			} {
				code, out, _ := a.do(c.method, api+c.path, c.body)
				if code != 400 || out["error_code"] != "INVALID_PARAMETER_VALUE" {
					t.Errorf("%s %s with NUL: %d %v, want 400 INVALID_PARAMETER_VALUE", c.method, c.path, code, out)
				}
			}
			code, _, _ := a.do("GET", "/model-versions/get-artifact", q{"name": {nul}, "version": {"1"}, "path": {"f"}})
			if code != 400 {
				t.Errorf("get-artifact with NUL name: %d, want 400", code)
			}
			// An escaped backslash followed by u0000 is text, not NUL.
			a.want(200, "POST", api+"runs/set-tag", obj{"run_id": f.Run, "key": "k", "value": `\u0000`})
		})
	}
}
