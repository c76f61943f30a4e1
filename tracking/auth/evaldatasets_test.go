package auth_test

import (
	"net/url"
	"testing"

	"github.com/dawn-ml/dawn/tracking/auth"
)

// TestEvalDatasetPermissions: a dataset's permissions are those of every
// experiment it is linked to; linking needs EDIT on the new experiment
// too; a dataset linked to none is for admins only; searches leave out
// what the user may not read.
func TestEvalDatasetPermissions(t *testing.T) {
	e := newEnv(t, "sqlite")
	a := e.admin
	const v3 = "/api/3.0/mlflow/"
	expA := a.want(200, "POST", api+"experiments/create", obj{"name": "ds-a"})["experiment_id"].(string)
	expB := a.want(200, "POST", api+"experiments/create", obj{"name": "ds-b"})["experiment_id"].(string)
	grant := func(exp, level, perm string) {
		a.want(200, "POST", api+"experiments/permissions/create", obj{"experiment_id": exp, "username": userOf(level), "permission": perm})
	}
	grant(expA, auth.Edit, auth.Edit)
	grant(expA, auth.NoPermissions, auth.Read)
	grant(expB, auth.NoPermissions, auth.NoPermissions)
	id := a.want(200, "POST", v3+"datasets/create", obj{"name": "shared", "experiment_ids": []string{expA}})["dataset"].(map[string]any)["dataset_id"].(string)
	ds := v3 + "datasets/" + id
	edit, read, none := e.as(auth.Edit), e.as(auth.Read), e.as(auth.NoPermissions)
	searchHas := func(c caller) bool {
		out := c.want(200, "POST", v3+"datasets/search", obj{})
		for _, d := range asList(out["datasets"]) {
			if d.(map[string]any)["dataset_id"] == id {
				return true
			}
		}
		return false
	}

	read.want(200, "GET", ds, nil)
	read.want(403, "PATCH", ds+"/tags", obj{"tags": `{"k": "v"}`})
	edit.want(200, "PATCH", ds+"/tags", obj{"tags": `{"k": "v"}`})
	edit.want(200, "POST", ds+"/records", obj{"records": `[{"inputs": {"q": 1}}]`})
	edit.want(403, "DELETE", ds, nil) // deleting needs MANAGE
	// Linking to expB needs EDIT there too (edit holds the default READ).
	edit.want(403, "POST", ds+"/add-experiments", obj{"experiment_ids": []string{expB}})
	grant(expB, auth.Edit, auth.Edit)
	edit.want(200, "POST", ds+"/add-experiments", obj{"experiment_ids": []string{expB}})
	// Now linked to expB as well, where none holds NO_PERMISSIONS.
	none.want(403, "GET", ds, nil)
	none.want(403, "GET", ds+"/records", url.Values{})
	if searchHas(none) {
		t.Fatal("search shows none a dataset of an experiment it may not read")
	}
	if !searchHas(read) {
		t.Fatal("search hides from read a dataset it may read")
	}
	// Unlinked from every experiment, the dataset is the admins'.
	edit.want(200, "POST", ds+"/remove-experiments", obj{"experiment_ids": []string{expA, expB}})
	edit.want(403, "GET", ds, nil)
	read.want(403, "GET", ds, nil)
	if searchHas(read) {
		t.Fatal("search shows a dataset with no experiment to a non-admin")
	}
	a.want(200, "GET", ds, nil)
	edit.want(403, "POST", v3+"datasets/create", obj{"name": "orphan"})
	a.want(200, "POST", v3+"datasets/create", obj{"name": "orphan"})
	edit.want(404, "GET", v3+"datasets/d-00000000000000000000000000000000", nil)

	// Scorers: READ lists, EDIT registers, MANAGE deletes.
	sc := v3 + "scorers/"
	read.want(403, "POST", sc+"register", obj{"experiment_id": expA, "name": "s", "serialized_scorer": "{}"})
	edit.want(200, "POST", sc+"register", obj{"experiment_id": expA, "name": "s", "serialized_scorer": "{}"})
	read.want(200, "GET", sc+"list", url.Values{"experiment_id": {expA}})
	none.want(403, "GET", sc+"list", url.Values{"experiment_id": {expB}})
	edit.want(403, "DELETE", sc+"delete", obj{"experiment_id": expA, "name": "s"})
	a.want(200, "DELETE", sc+"delete", obj{"experiment_id": expA, "name": "s"})

	// The prompt lab's run needs EDIT on its experiment; a request with no
	// experiment gets MLflow's message, not a permission error.
	pl := obj{"experiment_id": expA, "prompt_template": "t", "prompt_parameters": []obj{{"key": "k", "value": "v"}},
		"model_route": "r", "model_input": "i", "mlflow_version": "3.6.0"}
	read.want(403, "POST", api+"runs/create-promptlab-run", pl)
	edit.want(200, "POST", api+"runs/create-promptlab-run", pl)
	out := read.want(400, "POST", api+"runs/create-promptlab-run", obj{})
	if out["message"] != "CreatePromptlabRun request must specify experiment_id." {
		t.Fatalf("message %v", out["message"])
	}
}

func asList(v any) []any { l, _ := v.([]any); return l }
