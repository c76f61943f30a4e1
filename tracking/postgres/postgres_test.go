package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dawn-ml/dawn/tracking"
	"github.com/dawn-ml/dawn/tracking/postgres"
	"github.com/dawn-ml/dawn/tracking/sqlstore"
	"github.com/dawn-ml/dawn/tracking/storetest"
	_ "github.com/jackc/pgx/v5/stdlib"
)

// baseURI is the test server; DAWN_TEST_POSTGRES overrides it.
func baseURI() string {
	if u := os.Getenv("DAWN_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgresql://postgres@127.0.0.1:5432/test"
}

// freshSchema creates a schema of its own for one test and returns a URI
// whose search_path points at it; the schema is dropped at the end.
func freshSchema(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", baseURI())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		t.Skipf("PostgreSQL is not reachable at %s (%v); start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start", baseURI(), err)
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
	if strings.Contains(baseURI(), "?") {
		sep = "&"
	}
	return baseURI() + sep + "search_path=" + schema
}

func TestConformance(t *testing.T) {
	uri := freshSchema(t)
	storetest.Run(t, func(t *testing.T, root string) tracking.Store {
		s, err := postgres.Open(t.Context(), uri, sqlstore.Options{ArtifactRoot: root})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
