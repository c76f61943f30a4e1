package auth_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/artifact"
	"github.com/dawn-ml/dawn/tracking"
	"github.com/dawn-ml/dawn/tracking/auth"
	"github.com/dawn-ml/dawn/tracking/server"
)

type caller struct {
	t          *testing.T
	base       string
	user, pass string
}

func (c caller) do(method, path string, body any) (int, map[string]any, http.Header) {
	c.t.Helper()
	var rd io.Reader
	u := c.base + path
	var hdr http.Header
	if h, ok := body.(withHeader); ok {
		hdr, body = h.header, h.body
	}
	if q, ok := body.(url.Values); ok {
		u += "?" + q.Encode()
	} else if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, u, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out, res.Header
}

func (c caller) want(status int, method, path string, body any) map[string]any {
	c.t.Helper()
	code, out, _ := c.do(method, path, body)
	if code != status {
		c.t.Fatalf("%s as %q %s %s: %d %v, want %d", c.t.Name(), c.user, method, path, code, out, status)
	}
	return out
}

const api = "/api/2.0/mlflow/"

// api3 is where MLflow 3-only routes live.
const api3 = "/api/3.0/mlflow/"

// withHeader is a request body sent with extra headers.
type withHeader struct {
	header http.Header
	body   any
}

func TestBasicAuth(t *testing.T) {
	dir := t.TempDir()
	store, err := server.OpenStore(t.Context(), filepath.Join(dir, "t.db"), tracking.ProxyScheme)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	users, err := auth.Open(t.Context(), filepath.Join(dir, "auth.db"), "admin", "s3cret-admin")
	if err != nil {
		t.Fatal(err)
	}
	defer users.Close()
	repo, _ := artifact.NewLocal(filepath.Join(dir, "a"))
	srv := httptest.NewServer(server.Handler(store, repo, "t", nil, &auth.Guard{Users: users, Data: store, Default: auth.Read}))
	defer srv.Close()
	anon := caller{t, srv.URL, "", ""}
	admin := caller{t, srv.URL, "admin", "s3cret-admin"}
	alice := caller{t, srv.URL, "alice", "alice-pw"}
	bob := caller{t, srv.URL, "bob", "bob-pw"}

	code, out, h := anon.do("GET", api+"experiments/get", url.Values{"experiment_id": {"0"}})
	if code != 401 || h.Get("WWW-Authenticate") != `Basic realm="mlflow"` || out["error_code"] != "UNAUTHENTICATED" {
		t.Fatalf("no credentials: %d %v %q", code, out, h.Get("WWW-Authenticate"))
	}
	caller{t, srv.URL, "admin", "wrong"}.want(401, "GET", api+"experiments/get", url.Values{"experiment_id": {"0"}})
	anon.want(200, "GET", "/health", nil)

	admin.want(200, "POST", api+"users/create", map[string]any{"username": "alice", "password": "alice-pw"})
	admin.want(200, "POST", api+"users/create", map[string]any{"username": "bob", "password": "bob-pw"})
	admin.want(400, "POST", api+"users/create", map[string]any{"username": "bob", "password": "x"})
	alice.want(403, "POST", api+"users/create", map[string]any{"username": "eve", "password": "x"})
	alice.want(200, "GET", api+"users/get", url.Values{"username": {"alice"}})
	alice.want(403, "GET", api+"users/get", url.Values{"username": {"bob"}})

	// The creator gets MANAGE; others get the default, READ.
	a := alice.want(200, "POST", api+"experiments/create", map[string]any{"name": "a"})["experiment_id"].(string)
	run := alice.want(200, "POST", api+"runs/create", map[string]any{"experiment_id": a})["run"].(map[string]any)["info"].(map[string]any)["run_id"].(string)
	bob.want(200, "GET", api+"experiments/get", url.Values{"experiment_id": {a}})
	bob.want(200, "GET", api+"runs/get", url.Values{"run_id": {run}})
	bob.want(403, "POST", api+"runs/create", map[string]any{"experiment_id": a})
	bob.want(403, "POST", api+"runs/log-metric", map[string]any{"run_id": run, "key": "m", "value": 1, "timestamp": 1})
	bob.want(403, "POST", api+"experiments/delete", map[string]any{"experiment_id": a})
	bob.want(403, "PUT", "/api/2.0/mlflow-artifacts/artifacts/"+a+"/"+run+"/artifacts/x.txt", "x")
	bob.want(403, "POST", api+"experiments/permissions/create", map[string]any{"experiment_id": a, "username": "bob", "permission": "MANAGE"})

	alice.want(200, "POST", api+"experiments/permissions/create", map[string]any{"experiment_id": a, "username": "bob", "permission": "EDIT"})
	p := alice.want(200, "GET", api+"experiments/permissions/get", url.Values{"experiment_id": {a}, "username": {"bob"}})
	if p["experiment_permission"].(map[string]any)["permission"] != "EDIT" {
		t.Fatalf("permission: %v", p)
	}
	bob.want(200, "POST", api+"runs/log-metric", map[string]any{"run_id": run, "key": "m", "value": 1, "timestamp": 1})
	bob.want(403, "POST", api+"runs/delete", map[string]any{"run_id": run})
	alice.want(400, "PATCH", api+"experiments/permissions/update", map[string]any{"experiment_id": a, "username": "bob", "permission": "ALL"})

	// NO_PERMISSIONS hides an experiment and its runs from searches.
	b := alice.want(200, "POST", api+"experiments/create", map[string]any{"name": "b"})["experiment_id"].(string)
	alice.want(200, "POST", api+"runs/create", map[string]any{"experiment_id": b})
	alice.want(200, "POST", api+"experiments/permissions/create", map[string]any{"experiment_id": b, "username": "bob", "permission": "NO_PERMISSIONS"})
	bob.want(403, "GET", api+"experiments/get", url.Values{"experiment_id": {b}})
	names := func(out map[string]any) string {
		var s []string
		for _, e := range out["experiments"].([]any) {
			s = append(s, e.(map[string]any)["name"].(string))
		}
		return strings.Join(s, ",")
	}
	if got := names(bob.want(200, "POST", api+"experiments/search", map[string]any{"order_by": []string{"name"}})); got != "Default,a" {
		t.Fatalf("bob's experiments: %s", got)
	}
	if got := names(alice.want(200, "POST", api+"experiments/search", map[string]any{"order_by": []string{"name"}})); got != "Default,a,b" {
		t.Fatalf("alice's experiments: %s", got)
	}
	runs := bob.want(200, "POST", api+"runs/search", map[string]any{"experiment_ids": []string{a, b}})["runs"].([]any)
	if len(runs) != 1 {
		t.Fatalf("bob sees %d runs, want 1", len(runs))
	}

	// Registered models.
	alice.want(200, "POST", api+"registered-models/create", map[string]any{"name": "m"})
	bob.want(200, "GET", api+"registered-models/get", url.Values{"name": {"m"}})
	bob.want(403, "DELETE", api+"registered-models/delete", map[string]any{"name": "m"})
	bob.want(403, "POST", api+"model-versions/create", map[string]any{"name": "m", "source": "s"})
	alice.want(200, "POST", api+"registered-models/permissions/create", map[string]any{"name": "m", "username": "bob", "permission": "NO_PERMISSIONS"})
	if out := bob.want(200, "GET", api+"registered-models/search", nil); out["registered_models"] != nil {
		t.Fatalf("bob's models: %v", out)
	}
	alice.want(200, "POST", api+"registered-models/rename", map[string]any{"name": "m", "new_name": "m2"})
	bob.want(403, "GET", api+"registered-models/get", url.Values{"name": {"m2"}})
	admin.want(200, "DELETE", api+"registered-models/delete", map[string]any{"name": "m2"})

	// Password changes take effect at once.
	bob.want(200, "PATCH", api+"users/update-password", map[string]any{"username": "bob", "password": "new-pw"})
	bob.want(401, "GET", api+"experiments/get", url.Values{"experiment_id": {a}})
	caller{t, srv.URL, "bob", "new-pw"}.want(200, "GET", api+"experiments/get", url.Values{"experiment_id": {a}})
	admin.want(200, "PATCH", api+"users/update-admin", map[string]any{"username": "bob", "is_admin": true})
	caller{t, srv.URL, "bob", "new-pw"}.want(200, "GET", api+"experiments/get", url.Values{"experiment_id": {b}})
	admin.want(200, "DELETE", api+"users/delete", map[string]any{"username": "bob"})
	caller{t, srv.URL, "bob", "new-pw"}.want(401, "GET", api+"experiments/get", url.Values{"experiment_id": {a}})
}
