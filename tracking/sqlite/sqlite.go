// Package sqlite is the default tracking store: one SQLite file in WAL mode
// (modernc.org/sqlite, pure Go). All writes go through a single connection,
// so concurrent writers queue instead of failing with "database is locked";
// reads use a separate pool of query-only connections.
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/dawn-ml/dawn/tracking/sqlstore"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite"
)

// Path turns a store URI into a file path: sqlite:///rel.db is relative,
// sqlite:////abs.db absolute (MLflow's convention); a bare path is a path.
func Path(uri string) string {
	if rest, ok := strings.CutPrefix(uri, "sqlite://"); ok {
		return strings.TrimPrefix(rest, "/")
	}
	return uri
}

// mmapBytes bounds the part of the database file readers map (address
// space, not memory: pages are the OS's page cache).
const mmapBytes = 1 << 30

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "case_sensitive_like(1)")
	q.Add("_pragma", "cache_size(-65536)")
	q.Add("_pragma", "temp_store(memory)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
		// Readers map the file: the pool's connections then share the
		// OS page cache instead of each reading pages into its own
		// cache (a 1,000,000-point history read by a cold connection
		// cost 3.7 s at load 30, mostly pread and page allocation).
		q.Add("_pragma", "mmap_size("+strconv.Itoa(mmapBytes)+")")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

func openDB(path string, readOnly bool) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn(path, readOnly))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return db, nil
}

// Open opens (creating if needed) the store at uri, runs pending
// migrations and returns it.
func Open(ctx context.Context, uri string, opts sqlstore.Options) (*sqlstore.Store, error) {
	path := Path(uri)
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("sqlite: create directory for %s: %w", path, err)
		}
	}
	w, err := openDB(path, false)
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r, err := openDB(path, true)
	if err != nil {
		w.Close()
		return nil, err
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s, err := sqlstore.New(ctx, w, r, sqlstore.SQLite, opts, r.Close, w.Close)
	if err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	return s, nil
}

// Migrations returns the migration provider for the store at uri and a
// function that closes its connection; it applies nothing by itself.
func Migrations(uri string) (*goose.Provider, func() error, error) {
	path := Path(uri)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, nil, fmt.Errorf("sqlite: create directory for %s: %w", path, err)
	}
	db, err := openDB(path, false)
	if err != nil {
		return nil, nil, err
	}
	db.SetMaxOpenConns(1)
	p, err := sqlstore.Provider(db, sqlstore.SQLite)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return p, db.Close, nil
}
