// Package trackingtest starts an in-process dawn tracking server (a SQLite
// store in a temporary directory behind the MLflow REST API and the artifact
// proxy) for the tests of packages that talk to one.
package trackingtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dawn-ml/dawn/artifact"
	"github.com/dawn-ml/dawn/tracking"
	"github.com/dawn-ml/dawn/tracking/sqlite"
	"github.com/dawn-ml/dawn/tracking/sqlstore"
	_ "github.com/jackc/pgx/v5/stdlib"
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

// PostgresBase is the test PostgreSQL server; DAWN_TEST_POSTGRES
// overrides it.
func PostgresBase() string {
	if u := os.Getenv("DAWN_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgresql://postgres@127.0.0.1:5432/test"
}

// PostgresSchema creates a schema of its own for one test and returns a
// URI whose search_path points at it; the schema is dropped at the end.
// The test is skipped when PostgreSQL is not reachable.
func PostgresSchema(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", PostgresBase())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		t.Skipf("PostgreSQL is not reachable at %s (%v); start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start", PostgresBase(), err)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "dawn_test_" + hex.EncodeToString(b[:])
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		db.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Exec("DROP SCHEMA " + schema + " CASCADE")
		db.Close()
	})
	sep := "?"
	if strings.Contains(PostgresBase(), "?") {
		sep = "&"
	}
	return PostgresBase() + sep + "search_path=" + schema
}
