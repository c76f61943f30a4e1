package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dawn-ml/dawn/tracking"
	"github.com/dawn-ml/dawn/tracking/server"
)

const serverUsage = `Usage: dawn server [--host 127.0.0.1] [--port 5000] [--backend-store-uri URI] [--artifacts-destination DIR]
       dawn server db upgrade|status [--backend-store-uri URI]

Runs the MLflow-compatible tracking server and model registry. The REST API is
under /api/2.0/mlflow/ (MLflow 3's traces and assessments also under /api/3.0/mlflow/,
OTLP/HTTP span export at /v1/traces), the artifact proxy under /api/2.0/mlflow-artifacts/,
plus /health, /version (the MLflow version whose protocol dawn speaks, see
--mlflow-version) and Prometheus /metrics. The web console is at /. Migrations run on start.
The store defaults to a SQLite file under --data-dir; PostgreSQL is
postgresql://user@host:port/db.

MLflow 3 webhooks (/api/2.0/mlflow/webhooks) post registry events signed as
MLflow signs them; their messages wait in the store until delivered, so a
restart loses none. Under --auth only admins manage webhooks.

Example:
  dawn server --port 5000 --data-dir ./dawn-data
  MLFLOW_TRACKING_URI=http://127.0.0.1:5000 python train.py
  dawn server --backend-store-uri postgresql://postgres@127.0.0.1:5432/mlflow --artifacts-destination /srv/artifacts`

func init() {
	register(&command{
		name:    "server",
		summary: "run the MLflow-compatible tracking server and model registry",
		run:     runServer,
	})
}

type storeFlags struct {
	dataDir, storeURI string
}

func (s *storeFlags) uri() string {
	if s.storeURI != "" {
		return s.storeURI
	}
	return "sqlite:///" + filepath.Join(s.dataDir, "tracking.db")
}

func runServer(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && args[0] == "db" {
		return dispatch(ctx, e, "server db", `Usage: dawn server db upgrade|status [--backend-store-uri URI]

Example:
  dawn server db status --backend-store-uri sqlite:///dawn-data/tracking.db`, []subcommand{
			{name: "upgrade", summary: "apply pending schema migrations", run: func(ctx context.Context, e *env, args []string) error {
				return runDB(ctx, e, "upgrade", args)
			}},
			{name: "status", summary: "show applied and pending migrations", run: func(ctx context.Context, e *env, args []string) error {
				return runDB(ctx, e, "status", args)
			}},
		}, args[1:])
	}
	fs := newFlags(e, "server", serverUsage)
	host := fs.String("host", "127.0.0.1", "address to listen on")
	port := fs.String("port", "5000", "port to listen on")
	var sf storeFlags
	fs.StringVar(&sf.dataDir, "data-dir", "dawn-data", "directory for the default SQLite store and artifacts")
	fs.StringVar(&sf.storeURI, "backend-store-uri", "", "metadata store: sqlite:///path.db or postgresql://... (default: sqlite under --data-dir)")
	artifacts := fs.String("artifacts-destination", "", "directory or s3://bucket/prefix behind the artifact proxy (default: DATA-DIR/artifacts)")
	noArtifacts := fs.Bool("no-serve-artifacts", false, "do not serve the artifact proxy")
	defaultRoot := fs.String("default-artifact-root", "", "root of new experiments' artifact locations that clients write to directly, e.g. file:///srv/mlruns (default: the proxy, mlflow-artifacts:/)")
	mlflowVersion := fs.String("mlflow-version", tracking.MLflowVersion, "the MLflow version GET /version answers (PEP 440, at least 3.4; MLflow 3 clients check it)")
	logFormat := fs.String("log-format", "text", "request log format: text or json")
	shutdown := fs.Duration("shutdown-timeout", 30*time.Second, "how long to wait for in-flight requests on shutdown")
	authOn := fs.Bool("auth", false, "require HTTP basic auth with users and permissions (admin from DAWN_AUTH_ADMIN_USERNAME/DAWN_AUTH_ADMIN_PASSWORD on first start)")
	authDB := fs.String("auth-db", "", "SQLite file of users and permissions (default: DATA-DIR/auth.db)")
	staticPrefix := fs.String("static-prefix", "", "serve the console and the API under this path prefix, e.g. /mlflow behind a reverse proxy")
	authDefault := fs.String("auth-default-permission", "READ", "permission of users on resources they have none for: READ, EDIT, MANAGE or NO_PERMISSIONS")
	schemes := os.Getenv("MLFLOW_WEBHOOK_ALLOWED_SCHEMES")
	if schemes == "" {
		schemes = "https"
	}
	hookSchemes := fs.String("webhook-allowed-schemes", schemes, "comma-separated URL schemes MLflow webhooks may post to (default from MLFLOW_WEBHOOK_ALLOWED_SCHEMES, else https)")
	hookTimeout := fs.Duration("webhook-timeout", 30*time.Second, "bound on one webhook delivery attempt (MLflow's MLFLOW_WEBHOOK_REQUEST_TIMEOUT)")
	hookRetries := fs.Uint("webhook-max-retries", 3, "retries of a webhook message after its first attempt (MLflow's MLFLOW_WEBHOOK_REQUEST_MAX_RETRIES)")
	gqlRoots := fs.String("graphql-max-root-fields", os.Getenv("MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS"), "most root fields of one /graphql document (default from MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS, else 10)")
	gqlAliases := fs.String("graphql-max-aliases", os.Getenv("MLFLOW_SERVER_GRAPHQL_MAX_ALIASES"), "most aliased fields of one selection set of a /graphql document (default from MLFLOW_SERVER_GRAPHQL_MAX_ALIASES, else 10)")
	asJSON := fs.Bool("json", false, "the same as --log-format json; a failure is printed as {\"error\": ...} on stdout")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("server: unexpected argument %q", fs.Arg(0))
	}
	if *asJSON {
		*logFormat = "json"
	}
	if err := tracking.CheckServerVersion(*mlflowVersion); err != nil {
		return usagef("server: --mlflow-version: %v", err)
	}
	var h slog.Handler
	switch *logFormat {
	case "json":
		h = slog.NewJSONHandler(e.stderr, nil)
	case "text":
		h = slog.NewTextHandler(e.stderr, nil)
	default:
		return usagef("server: --log-format must be text or json, got %q", *logFormat)
	}
	dest := *artifacts
	if dest == "" && !*noArtifacts {
		dest = filepath.Join(sf.dataDir, "artifacts")
	}
	if *noArtifacts {
		dest = ""
	}
	cfg := server.Config{
		Host: *host, Port: *port, BackendStoreURI: sf.uri(), ArtifactsDestination: dest, DefaultArtifactRoot: *defaultRoot,
		Version: version, Logger: slog.New(h), ShutdownTimeout: *shutdown, MLflowVersion: *mlflowVersion, StaticPrefix: *staticPrefix,
	}
	for _, sc := range strings.Split(*hookSchemes, ",") {
		if sc = strings.TrimSpace(sc); sc != "" {
			cfg.WebhookSchemes = append(cfg.WebhookSchemes, sc)
		}
	}
	if len(cfg.WebhookSchemes) == 0 {
		return usagef("server: --webhook-allowed-schemes names no scheme")
	}
	if *hookTimeout <= 0 {
		return usagef("server: --webhook-timeout must be positive, got %v", *hookTimeout)
	}
	cfg.WebhookTimeout, cfg.WebhookMaxAttempts = *hookTimeout, *hookRetries+1
	for _, l := range []struct {
		flag, val string
		dst       *int
	}{{"graphql-max-root-fields", *gqlRoots, &cfg.GraphQLMaxRootFields}, {"graphql-max-aliases", *gqlAliases, &cfg.GraphQLMaxAliases}} {
		if l.val == "" {
			continue
		}
		n, err := strconv.Atoi(l.val)
		if err != nil || n <= 0 {
			return usagef("server: --%s must be a positive integer, got %q", l.flag, l.val)
		}
		*l.dst = n
	}
	if p := *staticPrefix; p != "" && (!strings.HasPrefix(p, "/") || strings.ContainsAny(p, "?#") || strings.Contains(p, "..")) {
		return usagef("server: --static-prefix must be a path starting with /, got %q", p)
	}
	if *authOn {
		cfg.AuthDB = *authDB
		if cfg.AuthDB == "" {
			cfg.AuthDB = filepath.Join(sf.dataDir, "auth.db")
		}
		cfg.AdminUser, cfg.AdminPassword = os.Getenv("DAWN_AUTH_ADMIN_USERNAME"), os.Getenv("DAWN_AUTH_ADMIN_PASSWORD")
		cfg.AuthDefault = *authDefault
	}
	return server.Run(ctx, cfg, nil)
}

func runDB(ctx context.Context, e *env, verb string, args []string) error {
	fs := newFlags(e, "server db "+verb, `Usage: dawn server db `+verb+` [--backend-store-uri URI] [--json]

Example:
  dawn server db `+verb+` --backend-store-uri sqlite:///dawn-data/tracking.db`)
	var sf storeFlags
	fs.StringVar(&sf.dataDir, "data-dir", "dawn-data", "directory of the default SQLite store")
	fs.StringVar(&sf.storeURI, "backend-store-uri", "", "metadata store URI")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	p, closeDB, err := server.Migrations(ctx, sf.uri())
	if err != nil {
		return err
	}
	defer closeDB()
	type row struct {
		Version   int64  `json:"version"`
		Name      string `json:"name"`
		State     string `json:"state"`
		AppliedAt string `json:"applied_at,omitempty"`
	}
	if verb == "upgrade" {
		res, err := p.Up(ctx)
		if err != nil {
			return fmt.Errorf("server db upgrade: %w", err)
		}
		var out []row
		for _, r := range res {
			out = append(out, row{Version: r.Source.Version, Name: filepath.Base(r.Source.Path), State: "applied"})
		}
		if *asJSON {
			return writeJSON(e.stdout, map[string]any{"applied": out})
		}
		if len(out) == 0 {
			fmt.Fprintln(e.stdout, "schema is up to date")
		}
		for _, r := range out {
			fmt.Fprintf(e.stdout, "applied %05d %s\n", r.Version, r.Name)
		}
		return nil
	}
	st, err := p.Status(ctx)
	if err != nil {
		return fmt.Errorf("server db status: %w", err)
	}
	var out []row
	for _, s := range st {
		r := row{Version: s.Source.Version, Name: filepath.Base(s.Source.Path), State: string(s.State)}
		if !s.AppliedAt.IsZero() {
			r.AppliedAt = s.AppliedAt.UTC().Format(time.RFC3339)
		}
		out = append(out, r)
	}
	if *asJSON {
		return writeJSON(e.stdout, map[string]any{"migrations": out})
	}
	for _, r := range out {
		fmt.Fprintf(e.stdout, "%05d  %-8s  %-20s  %s\n", r.Version, r.State, r.AppliedAt, r.Name)
	}
	return nil
}
