package server

import (
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
	"github.com/dawn-ml/dawn/tracking/graphql"
	"github.com/dawn-ml/dawn/tracking/sqlite"
	"github.com/dawn-ml/dawn/tracking/sqlstore"
)

// TestConsoleWithAuth serves the console behind the basic-auth guard: a
// user with the default READ permission sees the pages without edit
// controls and cannot change anything; the admin sees the controls.
func TestConsoleWithAuth(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "t.db"), sqlstore.Options{ArtifactRoot: tracking.ProxyScheme})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	repo, _ := artifact.NewLocal(filepath.Join(dir, "a"))
	users, err := auth.Open(ctx, filepath.Join(dir, "auth.db"), "admin", "s3cret-admin")
	if err != nil {
		t.Fatal(err)
	}
	defer users.Close()
	if _, err := users.CreateUser(ctx, "reader", "reader-pass", false); err != nil {
		t.Fatal(err)
	}
	store.CreateRegisteredModel(ctx, tracking.RegisteredModel{Name: "spam"})
	store.CreateModelVersion(ctx, tracking.ModelVersion{Name: "spam", Source: "x"})
	srv := httptest.NewServer(Handler(store, repo, "t", nil, &auth.Guard{Users: users, Data: store, Default: auth.Read}))
	defer srv.Close()
	do := func(method, path, user, pass string, form url.Values) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(form.Encode()))
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
		}
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, _ := do("GET", "/models/spam", "", "", nil); code != 401 {
		t.Fatalf("anonymous: %d, want 401", code)
	}
	code, body := do("GET", "/models/spam", "reader", "reader-pass", nil)
	if code != 200 || !strings.Contains(body, "<h1>spam</h1>") {
		t.Fatalf("reader: %d", code)
	}
	if strings.Contains(body, `id="alias-form"`) || strings.Contains(body, `method="post"`) {
		t.Fatal("READ user sees edit controls")
	}
	if code, _ := do("POST", "/models/spam/alias", "reader", "reader-pass", url.Values{"alias": {"champion"}, "version": {"1"}}); code != 403 {
		t.Fatalf("reader set alias: %d, want 403", code)
	}
	_, body = do("GET", "/models/spam", "admin", "s3cret-admin", nil)
	if !strings.Contains(body, `id="alias-form"`) {
		t.Fatal("admin lacks edit controls")
	}
	if code, _ := do("POST", "/models/spam/alias", "admin", "s3cret-admin", url.Values{"alias": {"champion"}, "version": {"1"}}); code != 303 {
		t.Fatalf("admin set alias: %d, want 303", code)
	}
	// /metrics stays admin-only: the guard passes only console paths.
	if code, _ := do("GET", "/metrics", "reader", "reader-pass", nil); code != 403 {
		t.Fatalf("reader /metrics: %d, want 403", code)
	}
}

func TestStaticPrefixServer(t *testing.T) {
	dir := t.TempDir()
	store, err := sqlite.Open(t.Context(), filepath.Join(dir, "t.db"), sqlstore.Options{ArtifactRoot: tracking.ProxyScheme})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	srv := httptest.NewServer(handler(store, nil, "t", tracking.MLflowVersion, nil, nil, "/mlflow", nil, graphql.Options{}))
	defer srv.Close()
	get := func(p string) (int, string) {
		res, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := get("/mlflow/"); code != 200 || !strings.Contains(body, `href="/mlflow/models"`) {
		t.Fatalf("console under prefix: %d", code)
	}
	if code, body := get("/mlflow/api/2.0/mlflow/experiments/search?max_results=10"); code != 200 || !strings.Contains(body, "Default") {
		t.Fatalf("API under prefix: %d %s", code, body)
	}
	if code, _ := get("/api/2.0/mlflow/experiments/search"); code != 404 {
		t.Fatalf("API outside the prefix: %d, want 404", code)
	}
}
