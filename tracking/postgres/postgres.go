// Package postgres is the tracking store on PostgreSQL through pgx: the same
// SQL and migrations as the SQLite store, for many writers and large teams.
package postgres

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/dawn-ml/dawn/tracking/sqlstore"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
)

func openDB(ctx context.Context, uri string) (*sql.DB, error) {
	db, err := sql.Open("pgx", uri)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	return db, nil
}

// Open connects to uri (postgresql://user@host:port/db?search_path=...),
// runs pending migrations and returns the store.
func Open(ctx context.Context, uri string, opts sqlstore.Options) (*sqlstore.Store, error) {
	db, err := openDB(ctx, uri)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(16)
	s, err := sqlstore.New(ctx, db, db, sqlstore.Postgres, opts, db.Close)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return s, nil
}

// Migrations returns the migration provider for uri and a closer.
func Migrations(ctx context.Context, uri string) (*goose.Provider, func() error, error) {
	db, err := openDB(ctx, uri)
	if err != nil {
		return nil, nil, err
	}
	p, err := sqlstore.Provider(db, sqlstore.Postgres)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return p, db.Close, nil
}
