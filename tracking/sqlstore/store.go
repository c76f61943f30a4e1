// Package sqlstore implements tracking.Store over database/sql for both
// SQLite (modernc.org/sqlite) and PostgreSQL (pgx): the SQL is written once
// with ? placeholders and rebound for PostgreSQL. The backend packages
// tracking/sqlite and tracking/postgres open the connections and call New.
package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dawn-ml/dawn/tracking"
	"github.com/pressly/goose/v3"
)

//go:embed migrations
var migrations embed.FS

// Dialect names the SQL flavour.
type Dialect int

// Supported dialects.
const (
	SQLite Dialect = iota
	Postgres
)

// Store is a tracking.Store over SQL. Writes go through w and reads through
// r; for SQLite w is a single connection (one writer) and r a pool, for
// PostgreSQL both are the same pool.
type Store struct {
	w, r         *sql.DB
	dialect      Dialect
	artifactRoot string
	rebound      sync.Map // query text -> rebound text, at most maxRebound entries
	nRebound     atomic.Int64
	stmts        sync.Map // query text -> *sql.Stmt prepared on w
	closers      []func() error
}

var _ tracking.Store = (*Store)(nil)

// Options configures New.
type Options struct {
	// ArtifactRoot is the default root of experiments' artifact locations,
	// e.g. "mlflow-artifacts:" or "/data/artifacts"; an experiment created
	// without a location gets ArtifactRoot + "/" + its id.
	ArtifactRoot string
}

// Provider returns the goose migration provider for db.
func Provider(db *sql.DB, d Dialect) (*goose.Provider, error) {
	dir, gd := "migrations/sqlite", goose.DialectSQLite3
	if d == Postgres {
		dir, gd = "migrations/postgres", goose.DialectPostgres
	}
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		return nil, err
	}
	p, err := goose.NewProvider(gd, db, sub)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: migrations: %w", err)
	}
	return p, nil
}

// New migrates the database to the newest schema, ensures the Default
// experiment exists and returns the store. closers run on Close.
func New(ctx context.Context, w, r *sql.DB, d Dialect, opts Options, closers ...func() error) (*Store, error) {
	p, err := Provider(w, d)
	if err != nil {
		return nil, err
	}
	if _, err := p.Up(ctx); err != nil {
		return nil, fmt.Errorf("sqlstore: migrate up: %w", err)
	}
	s := &Store{w: w, r: r, dialect: d, artifactRoot: strings.TrimSuffix(opts.ArtifactRoot, "/"), closers: closers}
	if err := s.prepareHot(ctx); err != nil {
		return nil, err
	}
	now := nowMillis()
	if _, err := s.w.ExecContext(ctx, s.q(`INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
		VALUES (0, 'Default', ?, 'active', ?, ?) ON CONFLICT DO NOTHING`), s.defaultLocation("0"), now, now); err != nil {
		return nil, fmt.Errorf("sqlstore: create Default experiment: %w", err)
	}
	return s, nil
}

// Close closes the connections.
func (s *Store) Close() error {
	var errs []error
	s.stmts.Range(func(_, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
	for _, c := range s.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

func (s *Store) defaultLocation(id string) string {
	if s.artifactRoot == "" {
		return id
	}
	return s.artifactRoot + "/" + id
}

// maxRebound bounds the rebound-query cache.
const maxRebound = 4096

// q rebinds ? placeholders to $n for PostgreSQL, caching the result.
func (s *Store) q(query string) string {
	if s.dialect != Postgres {
		return query
	}
	if v, ok := s.rebound.Load(query); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	inStr := false
	for i := 0; i < len(query); i++ {
		c := query[i]
		if c == '\'' {
			inStr = !inStr
		}
		if c == '?' && !inStr {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	out := b.String()
	// Search queries differ in shape with their filters, so a client could
	// grow the cache without end: past maxRebound it only rebinds.
	if s.nRebound.Load() < maxRebound {
		if _, loaded := s.rebound.LoadOrStore(query, out); !loaded {
			s.nRebound.Add(1)
		}
	}
	return out
}

func nowMillis() int64 { return time.Now().UnixMilli() }

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return hex.EncodeToString(b[:])
}

// prepareHot prepares the statements of the hot write paths once, outside
// any transaction: preparing inside one would deadlock SQLite's single
// writer connection.
func (s *Store) prepareHot(ctx context.Context) error {
	hot := []string{
		qRunStage, qUpsertTag, qInsertParam,
		metricInsertSQL(1), metricInsertSQL(metricRowsPerInsert),
		qTraceForSpans, qTraceRange, qTraceKV("trace_tags"), qSpanInsert1, qSpanInsertN,
	}
	// A batch upserts one latest row per distinct key, so its statement
	// has as many rows as the batch has keys; the common counts are
	// prepared (a 10-key batch re-prepared its upsert on every request).
	for n := 1; n <= latestPrepared; n++ {
		hot = append(hot, latestUpsertSQL(n))
	}
	for _, q := range hot {
		st, err := s.w.PrepareContext(ctx, s.q(q))
		if err != nil {
			return fmt.Errorf("sqlstore: prepare: %w", err)
		}
		s.stmts.Store(q, st)
	}
	return nil
}

// exec runs query inside tx, through its prepared statement when it is a
// hot one.
func (s *Store) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if v, ok := s.stmts.Load(query); ok {
		return tx.StmtContext(ctx, v.(*sql.Stmt)).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, s.q(query), args...)
}

// queryRow is exec for a one-row query.
func (s *Store) queryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if v, ok := s.stmts.Load(query); ok {
		return tx.StmtContext(ctx, v.(*sql.Stmt)).QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, s.q(query), args...)
}

// tx runs fn in a write transaction.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: commit: %w", err)
	}
	return nil
}

func isUnique(err error) bool {
	if err == nil {
		return false
	}
	m := err.Error()
	return strings.Contains(m, "UNIQUE constraint") || strings.Contains(m, "duplicate key") || strings.Contains(m, "SQLSTATE 23505")
}

func placeholders(n int) string {
	if n == 0 {
		return ""
	}
	return strings.Repeat("?,", n-1) + "?"
}

func parseExperimentID(id string) (int64, error) {
	// Ids are compared as the server writes them: "01" and "+1" name no
	// experiment (they are not aliases of "1").
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || !tracking.CanonicalID(id) {
		return 0, tracking.NotFoundf("No Experiment with id=%s exists", id)
	}
	return n, nil
}

func stagesFor(v tracking.ViewType) []string {
	switch v {
	case tracking.DeletedOnly:
		return []string{tracking.StageDeleted}
	case tracking.All:
		return []string{tracking.StageActive, tracking.StageDeleted}
	}
	return []string{tracking.StageActive}
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// likeCond renders a string comparison of col with one bound value.
func likeCond(col, op string) string {
	switch op {
	case "ILIKE":
		return "LOWER(" + col + ") LIKE LOWER(?)"
	case "LIKE":
		return col + " LIKE ?"
	}
	return col + " " + op + " ?"
}

// orderSQL renders "expr IS NULL, expr DIR" so missing keys sort last.
func orderSQL(expr string, desc bool) string {
	dir := "ASC"
	if desc {
		dir = "DESC"
	}
	return "(" + expr + " IS NULL), " + expr + " " + dir
}
