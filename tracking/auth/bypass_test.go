package auth_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/tracking/auth"
)

// The bypasses of issue 17, each as a user with NO_PERMISSIONS on the
// victim's experiment and model (the default being READ), on both
// backends. Each answered 200 before.
func TestBypasses(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend)
			f := e.fixture()
			eve := e.as(auth.NoPermissions)
			// Eve's own experiment, run and model, for decoys.
			mine := eve.want(200, "POST", api+"experiments/create", obj{"name": "eve"})["experiment_id"].(string)
			myRun := eve.want(200, "POST", api+"runs/create", obj{"experiment_id": mine})["run"].(map[string]any)["info"].(map[string]any)["run_id"].(string)
			eve.want(200, "POST", api+"registered-models/create", obj{"name": "eve-model"})

			cases := []struct {
				name         string
				method, path string
				body         any
				want         int
			}{
				// Upper-cased and Unicode-folded JSON keys name nothing the
				// handler would see: 400, as MLflow (protobuf JSON is
				// case-sensitive, so name is missing).
				{"NAME key", "POST", api + "registered-models/alias", obj{"NAME": f.Model, "alias": "champion", "version": "1"}, 400},
				{"name and NAME", "POST", api + "registered-models/alias", obj{"name": "eve-model", "NAME": f.Model, "alias": "x", "version": "1"}, 400},
				{"Kelvin-sign key", "POST", api + "runs/set-tag", obj{"run_id": f.Run, "\u212aey": "t", "value": "v"}, 400},
				{"RUN_ID key", "POST", api + "runs/delete", obj{"RUN_ID": f.Run}, 400},
				{"delete version NAME", "DELETE", api + "model-versions/delete", obj{"NAME": f.Model, "version": "1"}, 400},
				// Repeated query parameters: checked on the one the
				// handler uses.
				{"repeated run_id", "GET", api + "runs/get", q{"run_id": {f.Run, f.Run}}, 403},
				{"own run then victim's", "GET", api + "runs/get", q{"run_id": {f.Run, myRun}}, 403},
				// A decoy experiment_id does not stand in for the run.
				{"decoy experiment_id log-metric", "POST", api + "runs/log-metric", obj{"run_id": f.Run, "experiment_id": mine, "key": "m", "value": 1, "timestamp": 1}, 403},
				{"decoy experiment_id delete run", "POST", api + "runs/delete", obj{"run_id": f.Run, "experiment_id": mine}, 403},
				{"decoy run_id delete experiment", "POST", api + "experiments/delete", obj{"experiment_id": f.Exp, "run_id": myRun}, 403},
				// Bulk history endpoints.
				{"history bulk", "GET", api + "metrics/get-history-bulk", q{"run_id": {f.Run}, "metric_key": {"m"}}, 403},
				{"history bulk, own run first", "GET", api + "metrics/get-history-bulk", q{"run_id": {myRun, f.Run}, "metric_key": {"m"}}, 403},
				{"history bulk interval", "GET", api + "metrics/get-history-bulk-interval", q{"run_ids": {myRun, f.Run}, "metric_key": {"m"}}, 403},
				{"ajax history bulk", "GET", "/ajax-api/2.0/mlflow/metrics/get-history-bulk", q{"run_id": {f.Run}, "metric_key": {"m"}}, 403},
				// HEAD.
				{"HEAD runs/get", "HEAD", api + "runs/get", q{"run_id": {f.Run}}, 403},
				{"HEAD experiments/get", "HEAD", api + "experiments/get", q{"experiment_id": {f.Exp}}, 403},
				// Ids compared as ids: 01 and +1 name no experiment (404,
				// as MLflow for an unknown id).
				{"experiment_id 0N", "GET", api + "experiments/get", q{"experiment_id": {"0" + f.Exp}}, 404},
				{"experiment_id +N", "GET", api + "experiments/get", q{"experiment_id": {"+" + f.Exp}}, 404},
				{"experiment_id 0N delete", "POST", api + "experiments/delete", obj{"experiment_id": "0" + f.Exp}, 404},
				{"runs/create in 0N", "POST", api + "runs/create", obj{"experiment_id": "0" + f.Exp}, 404},
				{"permissions on 0N", "POST", api + "experiments/permissions/create", obj{"experiment_id": "0" + f.Exp, "username": "nopermissions", "permission": "MANAGE"}, 404},
				// The artifact proxy: the path the handler uses is the one
				// checked.
				{"proxy list ./N", "GET", "/api/2.0/mlflow-artifacts/artifacts", q{"path": {"./" + f.Exp + "/" + f.Run + "/artifacts"}}, 403},
				{"proxy list N/./run", "GET", "/api/2.0/mlflow-artifacts/artifacts", q{"path": {f.Exp + "/./" + f.Run}}, 403},
				{"proxy list 0N", "GET", "/api/2.0/mlflow-artifacts/artifacts", q{"path": {"0" + f.Exp + "/" + f.Run + "/artifacts"}}, 403},
				{"proxy list root", "GET", "/api/2.0/mlflow-artifacts/artifacts", q{"path": {""}}, 403},
				{"proxy get", "GET", "/api/2.0/mlflow-artifacts/artifacts/" + f.Exp + "/" + f.Run + "/artifacts/model/f.txt", nil, 403},
				{"proxy get 0N", "GET", "/api/2.0/mlflow-artifacts/artifacts/0" + f.Exp + "/" + f.Run + "/artifacts/model/f.txt", nil, 403},
				{"proxy get via //", "GET", "/api/2.0/mlflow-artifacts/artifacts//" + f.Exp + "/" + f.Run + "/artifacts/model/f.txt", nil, 403},
				{"ajax proxy get", "GET", "/ajax-api/2.0/mlflow-artifacts/artifacts/" + f.Exp + "/" + f.Run + "/artifacts/model/f.txt", nil, 403},
				{"proxy put", "PUT", "/api/2.0/mlflow-artifacts/artifacts/" + f.Exp + "/" + f.Run + "/artifacts/x", "x", 403},
				{"proxy delete", "DELETE", "/api/2.0/mlflow-artifacts/artifacts/" + f.Exp + "/" + f.Run + "/artifacts/model/f.txt", nil, 403},
				{"get-artifact", "GET", "/get-artifact", q{"run_id": {f.Run}, "path": {"model/f.txt"}}, 403},
				{"model-versions/get-artifact", "GET", "/model-versions/get-artifact", q{"name": {f.Model}, "version": {"1"}, "path": {"f.txt"}}, 403},
				// The quoted moves: prod@champion, a version, another user's
				// run and experiment.
				{"move alias", "POST", api + "registered-models/alias", obj{"name": f.Model, "alias": "champion", "version": "1"}, 403},
				{"delete version", "DELETE", api + "model-versions/delete", obj{"name": f.Model, "version": "1"}, 403},
				{"delete run", "POST", api + "runs/delete", obj{"run_id": f.Run}, 403},
				{"delete experiment", "POST", api + "experiments/delete", obj{"experiment_id": f.Exp}, 403},
				// Permissions are for managers; whether a user exists is
				// not told to others.
				{"permissions/get existing user", "GET", api + "experiments/permissions/get", q{"experiment_id": {f.Exp}, "username": {"read"}}, 403},
				{"permissions/get unknown user", "GET", api + "experiments/permissions/get", q{"experiment_id": {f.Exp}, "username": {"no-such-user"}}, 403},
				{"model permissions/get unknown user", "GET", api + "registered-models/permissions/get", q{"name": {f.Model}, "username": {"no-such-user"}}, 403},
				{"users/get other", "GET", api + "users/get", q{"username": {"read"}}, 403},
				{"users/get unknown", "GET", api + "users/get", q{"username": {"no-such-user"}}, 403},
				// Artifact locations are the server's to assign.
				{"proxy location", "POST", api + "experiments/create", obj{"name": "steal", "artifact_location": "mlflow-artifacts:/" + f.Exp}, 400},
				{"location outside roots", "POST", api + "experiments/create", obj{"name": "etc", "artifact_location": "/etc"}, 400},
				{"location escaping a root", "POST", api + "experiments/create", obj{"name": "etc2", "artifact_location": e.roots + "/../../etc"}, 400},
			}
			for _, c := range cases {
				code, out, _ := eve.do(c.method, c.path, c.body)
				if code != c.want {
					t.Errorf("%s: %s %s: %d %v, want %d", c.name, c.method, c.path, code, out, c.want)
				}
			}

			// A version of Eve's own model whose source is the victim's
			// artifacts does not open them.
			eve.want(200, "POST", api+"model-versions/create", obj{"name": "eve-model", "source": "mlflow-artifacts:/" + f.Exp + "/" + f.Run + "/artifacts/model"})
			eve.want(403, "GET", "/model-versions/get-artifact", q{"name": {"eve-model"}, "version": {"1"}, "path": {"f.txt"}})
			eve.want(200, "POST", api+"model-versions/create", obj{"name": "eve-model", "source": "runs:/" + f.Run + "/model"})
			eve.want(403, "GET", "/model-versions/get-artifact", q{"name": {"eve-model"}, "version": {"2"}, "path": {"f.txt"}})
			// ...while the victim's READ user reads them through the model.
			e.as(auth.Read).want(200, "GET", "/model-versions/get-artifact", q{"name": {f.Model}, "version": {"1"}, "path": {"f.txt"}})

			// Searches show only what Eve may read.
			for _, s := range []struct{ path, field, want string }{
				{"experiments/search", "experiments", "Default,eve"}, // sorted
				{"registered-models/search", "registered_models", "eve-model"},
			} {
				out := eve.want(200, "GET", api+s.path, q{})
				var names []string
				items, _ := out[s.field].([]any)
				for _, it := range items {
					names = append(names, it.(map[string]any)["name"].(string))
				}
				slices.Sort(names)
				if got := strings.Join(names, ","); got != s.want {
					t.Errorf("%s as eve: %q", s.path, got)
				}
			}
			if out := eve.want(200, "POST", api+"runs/search", obj{"experiment_ids": []string{f.Exp, "0" + f.Exp, "+" + f.Exp}}); out["runs"] != nil {
				t.Errorf("runs/search as eve: %v", out)
			}
			if out := eve.want(200, "GET", api+"model-versions/search", q{}); strings.Contains(stringify(out), f.Model+`"`) {
				t.Errorf("model-versions/search as eve shows %s: %v", f.Model, out)
			}

			// A deleted model's permissions do not pass to a new model of
			// the same name.
			e.admin.want(200, "DELETE", api+"registered-models/delete", obj{"name": f.Model})
			e.admin.want(200, "POST", api+"registered-models/create", obj{"name": f.Model})
			e.as(auth.Manage).want(403, "DELETE", api+"registered-models/delete", obj{"name": f.Model})
		})
	}
}

func stringify(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestArtifactConfinement: the repros of the confinement findings through
// the server, as the admin (who may do anything the API allows).
func TestArtifactConfinement(t *testing.T) {
	e := newEnv(t, "sqlite")
	f := e.fixture()
	a := e.admin
	root := filepath.Dir(e.roots) // the test's directory; the proxy root is ./a
	proxy := filepath.Join(root, "a")
	// A symbolic link inside the artifact root to a file and a directory
	// outside it.
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o644)
	runDir := filepath.Join(proxy, f.Exp, f.Run, "artifacts")
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(runDir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(runDir, "dirlink")); err != nil {
		t.Fatal(err)
	}
	base := "/api/2.0/mlflow-artifacts/artifacts/" + f.Exp + "/" + f.Run + "/artifacts/"
	for _, c := range []struct {
		method, path string
		body         any
		want         int
	}{
		{"GET", base + "link", nil, 400},
		{"GET", base + "dirlink/secret", nil, 400},
		{"PUT", base + "dirlink/new", "x", 400},
		{"DELETE", base + "dirlink/secret", nil, 400},
		{"PUT", base + "model/f.txt/below", "x", 400},      // below an existing file
		{"PUT", base + strings.Repeat("n", 300), "x", 400}, // name too long
		{"PUT", base + ".upload-123", "x", 400},            // a temp file's name
		{"GET", "/get-artifact", q{"run_id": {f.Run}, "path": {"link"}}, 400},
	} {
		code, out, _ := a.do(c.method, c.path, c.body)
		if code != c.want {
			t.Errorf("%s %s: %d %v, want %d", c.method, c.path, code, out, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(outside, "new")); err == nil {
		t.Errorf("PUT through a link wrote outside the root")
	}
	if _, err := os.Stat(filepath.Join(outside, "secret")); err != nil {
		t.Errorf("DELETE through a link removed a file outside the root: %v", err)
	}
	// A leftover upload temp file is neither listed nor served.
	os.WriteFile(filepath.Join(runDir, ".upload-42"), []byte("partial"), 0o644)
	code, _, _ := a.do("GET", base+".upload-42", nil)
	if code != 400 {
		t.Errorf("GET of a temp upload: %d, want 400", code)
	}
	out := a.want(200, "GET", "/api/2.0/mlflow-artifacts/artifacts", q{"path": {f.Exp + "/" + f.Run + "/artifacts"}})
	if s := stringify(out); strings.Contains(s, ".upload-") {
		t.Errorf("listing shows a temp upload: %s", s)
	}
	// artifacts/list of a run whose location is an arbitrary directory
	// (stored directly, as an older server would have) refuses it and
	// makes nothing there; inside a root it lists a missing directory as
	// empty without making it.
	for _, c := range []struct {
		loc           string
		list, getFile int
	}{{filepath.Join(outside, "elsewhere"), 400, 400}, {filepath.Join(e.roots, "later"), 200, 404}} {
		id, err := e.store.CreateExperiment(t.Context(), "loc-"+filepath.Base(c.loc), c.loc, nil)
		if err != nil {
			t.Fatal(err)
		}
		run := a.want(200, "POST", api+"runs/create", obj{"experiment_id": id})["run"].(map[string]any)["info"].(map[string]any)["run_id"].(string)
		a.want(c.list, "GET", api+"artifacts/list", q{"run_id": {run}})
		a.want(c.getFile, "GET", "/get-artifact", q{"run_id": {run}, "path": {"x"}})
		if _, err := os.Stat(c.loc); err == nil {
			t.Errorf("artifacts/list made %s", c.loc)
		}
	}
}
