// Package trackingtest starts an in-process dawn tracking server (a SQLite
// store in a temporary directory behind the MLflow REST API and the artifact
// proxy) for the tests of packages that talk to one.
package trackingtest

import (
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/dawn-ml/dawn/artifact"
	"github.com/dawn-ml/dawn/tracking"
	"github.com/dawn-ml/dawn/tracking/sqlite"
	"github.com/dawn-ml/dawn/tracking/sqlstore"
)

// Server is a running test server; it stops when the test ends.
type Server struct {
	URL          string           // base URL, e.g. http://127.0.0.1:PORT
	Client       *tracking.Client // a client for URL
	ArtifactRoot string           // the directory behind the artifact proxy
}

// Start starts a server for the duration of t.
func Start(t testing.TB) *Server {
	t.Helper()
	dir := t.TempDir()
	store, err := sqlite.Open(t.Context(), filepath.Join(dir, "t.db"), sqlstore.Options{ArtifactRoot: tracking.ProxyScheme})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	repo, err := artifact.NewLocal(filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tracking.NewHandler(tracking.Options{Store: store, Artifacts: repo}))
	t.Cleanup(srv.Close)
	c, err := tracking.NewClient(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return &Server{URL: srv.URL, Client: c, ArtifactRoot: repo.Root()}
}
