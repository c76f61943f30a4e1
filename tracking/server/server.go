// Package server assembles dawn's tracking server: it opens the metadata
// store and the artifact store named by URIs, mounts the MLflow REST API,
// the artifact proxy, /health, /version and Prometheus /metrics, logs each
// request with log/slog, and shuts down gracefully, finishing in-flight
// requests.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dawn-ml/dawn/artifact"
	"github.com/dawn-ml/dawn/artifact/s3"
	"github.com/dawn-ml/dawn/internal/httpx"
	"github.com/dawn-ml/dawn/tracking"
	"github.com/dawn-ml/dawn/tracking/auth"
	"github.com/dawn-ml/dawn/tracking/graphql"
	"github.com/dawn-ml/dawn/tracking/postgres"
	"github.com/dawn-ml/dawn/tracking/sqlite"
	"github.com/dawn-ml/dawn/tracking/sqlstore"
	"github.com/dawn-ml/dawn/web"
	"github.com/pressly/goose/v3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config is what `dawn server` takes.
type Config struct {
	Host, Port string
	// BackendStoreURI is sqlite:///path.db, a bare path, or
	// postgresql://user@host:port/db.
	BackendStoreURI string
	// ArtifactsDestination is a directory (or file:// URI) behind the
	// artifact proxy; "" disables the proxy.
	ArtifactsDestination string
	// DefaultArtifactRoot, when set, is the root of new experiments'
	// artifact locations (e.g. file:///srv/mlruns or s3://bucket/path),
	// which clients then write to directly; by default experiments use the
	// proxy (mlflow-artifacts:/<id>) when it is served.
	DefaultArtifactRoot string
	// Version is dawn's version, shown on the index page and in the
	// X-Dawn-Version header of /version.
	Version string
	// MLflowVersion is what GET /version answers (the MLflow release the
	// server claims to be); "" means tracking.MLflowVersion. It must be a
	// PEP 440 version of at least 3.4 (see tracking.CheckServerVersion).
	MLflowVersion string
	Logger        *slog.Logger
	// ShutdownTimeout bounds the wait for in-flight requests.
	ShutdownTimeout time.Duration
	// AuthDB, when set, turns on basic auth with users and permissions
	// kept in this SQLite file; AdminUser/AdminPassword create the first
	// admin; AuthDefault is the permission of users on resources they
	// have no explicit permission for (READ when empty).
	AuthDB, AdminUser, AdminPassword, AuthDefault string
	// StaticPrefix serves everything (console and API) under this path,
	// e.g. /mlflow behind a reverse proxy, as MLflow's --static-prefix.
	StaticPrefix string
	// WebhookSchemes are the URL schemes MLflow webhooks may use (nil:
	// tracking.DefaultWebhookSchemes, https only).
	WebhookSchemes []string
	// WebhookTimeout bounds one webhook delivery attempt (0: 30 s) and
	// WebhookMaxAttempts a message's attempts (0: 4, MLflow's 3 retries).
	WebhookTimeout     time.Duration
	WebhookMaxAttempts uint
	// GraphQLMaxRootFields and GraphQLMaxAliases bound a /graphql
	// document (MLflow's MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS and
	// _MAX_ALIASES); 0 means MLflow's default, 10.
	GraphQLMaxRootFields, GraphQLMaxAliases int
}

// IsPostgres reports whether uri names a PostgreSQL store.
func IsPostgres(uri string) bool {
	return strings.HasPrefix(uri, "postgresql://") || strings.HasPrefix(uri, "postgres://") || strings.HasPrefix(uri, "postgresql+")
}

// pgURI drops SQLAlchemy driver suffixes such as postgresql+psycopg2://.
func pgURI(uri string) string {
	if rest, ok := strings.CutPrefix(uri, "postgresql+"); ok {
		if i := strings.Index(rest, "://"); i >= 0 {
			return "postgresql" + rest[i:]
		}
	}
	return uri
}

// OpenStore opens and migrates the store at uri.
func OpenStore(ctx context.Context, uri string, artifactRoot string) (tracking.Store, error) {
	opts := sqlstore.Options{ArtifactRoot: artifactRoot}
	if IsPostgres(uri) {
		return postgres.Open(ctx, pgURI(uri), opts)
	}
	if strings.Contains(uri, "://") && !strings.HasPrefix(uri, "sqlite://") {
		return nil, fmt.Errorf("server: unsupported backend store URI %q; use sqlite:///path.db or postgresql://...", uri)
	}
	return sqlite.Open(ctx, uri, opts)
}

// Migrations returns the migration provider for uri and a closer.
func Migrations(ctx context.Context, uri string) (*goose.Provider, func() error, error) {
	if IsPostgres(uri) {
		return postgres.Migrations(ctx, pgURI(uri))
	}
	return sqlite.Migrations(uri)
}

// OpenArtifacts opens the artifact repository at dest: a directory,
// file:///dir or s3://bucket/prefix (endpoint and credentials from the
// usual AWS variables).
func OpenArtifacts(ctx context.Context, dest string) (artifact.Repo, error) {
	if dest == "" {
		return nil, nil
	}
	if strings.HasPrefix(dest, "s3://") {
		return s3.Open(ctx, dest, s3.Options{})
	}
	if strings.Contains(dest, "://") && !strings.HasPrefix(dest, "file://") {
		return nil, fmt.Errorf("server: unsupported artifacts destination %q; use a directory or s3://bucket/prefix", dest)
	}
	return artifact.NewLocal(strings.TrimPrefix(dest, "file://"))
}

// Handler builds the full HTTP handler: API, artifacts, ops endpoints,
// metrics and request logs.
//
// guard, if not nil, requires basic auth and checks permissions. GET
// /version answers tracking.MLflowVersion, the protocol level MLflow
// clients check; version (dawn's own) goes in its X-Dawn-Version header.
// artifactRoots are, with auth on, the only local directories run
// artifacts are read from and experiments' locations may name (see
// tracking.Options.ArtifactRoots); Run passes the configured ones.
func Handler(store tracking.Store, repo artifact.Repo, version string, log *slog.Logger, guard *auth.Guard, artifactRoots ...string) http.Handler {
	return handler(store, repo, version, tracking.MLflowVersion, log, guard, "", nil, graphql.Options{}, artifactRoots...)
}

// webhooks is how the API delivers MLflow webhooks: the dispatcher Run
// starts (nil in Handler: messages stay queued) and the allowed schemes.
type webhooks struct {
	dispatcher *tracking.WebhookDispatcher
	schemes    []string
}

// handler is Handler with the MLflow version to answer, the web
// console's path prefix, webhook delivery and the GraphQL bounds (gq's
// MaxRootFields and MaxAliases).
func handler(store tracking.Store, repo artifact.Repo, version, mlflowVersion string, log *slog.Logger, guard *auth.Guard, prefix string, hooks *webhooks, gq graphql.Options, artifactRoots ...string) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dawn_tracking_http_requests_total", Help: "HTTP requests by endpoint, method and status code.",
	}, []string{"endpoint", "method", "code"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "dawn_tracking_http_request_duration_seconds", Help: "HTTP request latency by endpoint.",
		Buckets: []float64{0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5},
	}, []string{"endpoint"})
	inflight := prometheus.NewGauge(prometheus.GaugeOpts{Name: "dawn_tracking_http_in_flight_requests", Help: "Requests being served."})
	reg.MustRegister(requests, latency, inflight)

	mux := http.NewServeMux()
	opts := tracking.Options{Store: store, Artifacts: repo, Logger: log}
	if hooks != nil {
		opts.Webhooks, opts.WebhookSchemes = hooks.dispatcher, hooks.schemes
	}
	// With auth on, local artifact files are confined to the configured
	// roots; without it the server reads any local location, as MLflow
	// does (it still creates nothing there).
	if guard != nil {
		opts.ArtifactRoots = append([]string{}, artifactRoots...)
	}
	if guard != nil {
		opts.Authorizer = guard
	}
	api := tracking.NewHandler(opts)
	// MLflow's GraphQL endpoint reads through the API, with each request's
	// user, so every object it resolves passes the API's own check.
	gq.API, gq.Logger = api, log
	gqlHandler, err := graphql.NewHandler(gq)
	if err != nil {
		panic(err) // the embedded schema is checked by graphql's tests
	}
	// Every route here is in Routes with its rule; the API's own routes
	// carry theirs (tracking.Routes, tracking.ProxyRoutes, auth.Routes).
	handle := func(pattern string, rule tracking.Rule, h http.Handler) {
		if rule == tracking.AdminOnly && guard != nil {
			inner := h
			h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !guard.IsAdmin(r.Context()) {
					httpx.WriteError(w, httpx.Errorf(http.StatusForbidden, tracking.CodePermissionDenied, "Permission denied."))
					return
				}
				inner.ServeHTTP(w, r)
			})
		}
		mux.Handle(pattern, h)
	}
	for _, rt := range Routes() {
		var h http.Handler
		switch rt.Path {
		case "/api/", "/ajax-api/", "/v1/", "GET /get-artifact", "GET /model-versions/get-artifact":
			h = api
		case "POST /graphql", "GET /graphql":
			h = gqlHandler
		case "GET /health":
			h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				w.Write([]byte("OK"))
			})
		case "GET /version":
			h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				w.Header().Set("X-Dawn-Version", version)
				w.Write([]byte(mlflowVersion))
			})
		case "GET /metrics":
			h = promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
		case "/":
			// The web console; it answers paths it does not serve with
			// ENDPOINT_NOT_FOUND, as the API does, and checks each page's
			// resource itself (web's route table).
			copts := web.Options{Store: store, Artifacts: repo, Prefix: prefix, Version: version, Logger: log}
			if guard != nil {
				copts.Allow = consoleAuthorizer(guard)
			}
			console, err := web.New(copts)
			if err != nil {
				panic(err) // the embedded templates are checked by web's tests
			}
			h = console
		default:
			panic("server: route without a handler: " + rt.Path)
		}
		handle(rt.Path, rt.Rule, h)
	}
	var inner http.Handler = mux
	if guard != nil {
		inner = guard.Wrap(mux)
	}
	if prefix = strings.TrimRight(prefix, "/"); prefix != "" {
		inner = withPrefix(prefix, inner)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		inflight.Inc()
		sw := &statusWriter{ResponseWriter: w, status: 200}
		defer func() {
			inflight.Dec()
			d := time.Since(start)
			ep := endpoint(r.URL.Path)
			requests.WithLabelValues(ep, r.Method, strconv.Itoa(sw.status)).Inc()
			latency.WithLabelValues(ep).Observe(d.Seconds())
			log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", sw.status),
				slog.Int64("bytes", sw.bytes), slog.Duration("duration", d), slog.String("remote", r.RemoteAddr))
		}()
		inner.ServeHTTP(sw, r)
	})
}

// Routes lists the patterns the server's mux serves with their rules
// (Path is the ServeMux pattern). "/api/" and "/ajax-api/" go to the
// tracking API, whose routes carry their own rules; with auth on, every
// request but /health and /version needs a signed-in user first.
func Routes() []tracking.RouteInfo {
	return []tracking.RouteInfo{
		{Path: "/api/", Rule: tracking.SignedIn},
		{Path: "/ajax-api/", Rule: tracking.SignedIn},
		// OTLP/HTTP span export (/v1/traces), a tracking API route.
		{Path: "/v1/", Rule: tracking.SignedIn},
		{Path: "GET /get-artifact", Rule: tracking.NeedRead},
		{Path: "GET /model-versions/get-artifact", Rule: tracking.NeedRead},
		// MLflow's GraphQL endpoint: any signed-in user may send a query;
		// each object it resolves is checked as its REST route checks it
		// (READ on the run's experiment, the model, ...).
		{Path: "POST /graphql", Rule: tracking.SignedIn},
		{Path: "GET /graphql", Rule: tracking.SignedIn},
		{Path: "GET /health", Rule: tracking.Public},
		{Path: "GET /version", Rule: tracking.Public},
		{Path: "GET /metrics", Rule: tracking.AdminOnly},
		{Path: "/", Rule: tracking.SignedIn},
	}
}

// withPrefix serves h under prefix (the prefix is stripped) and sends
// the bare root to the prefixed console.
func withPrefix(prefix string, h http.Handler) http.Handler {
	strip := http.StripPrefix(prefix, h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == prefix:
			http.Redirect(w, r, prefix+"/", http.StatusFound)
		case strings.HasPrefix(r.URL.Path, prefix+"/"):
			strip.ServeHTTP(w, r)
		case r.URL.Path == "/" && r.Method == http.MethodGet:
			http.Redirect(w, r, prefix+"/", http.StatusFound)
		default:
			httpx.WriteError(w, httpx.Errorf(http.StatusNotFound, tracking.CodeEndpointNotFound, "No endpoint %s %s (the server is under %s)", r.Method, r.URL.Path, prefix))
		}
	})
}

// endpoint bounds the metric label set: API paths are a fixed list, the
// artifact proxy is one label.
func endpoint(p string) string {
	for _, pfx := range []string{"/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/", "/api/3.0/mlflow/", "/ajax-api/3.0/mlflow/"} {
		if rest, ok := strings.CutPrefix(p, pfx); ok {
			if rest = traceIDs(rest); (strings.Count(rest, "/") <= 2 || strings.HasPrefix(rest, "traces/")) && len(rest) < 64 {
				return "/api/" + pfx[strings.Index(pfx, "api/")+4:] + rest
			}
		}
	}
	switch {
	case p == "/v1/traces":
		return p
	case strings.Contains(p, "/mlflow-artifacts/"):
		return "/api/2.0/mlflow-artifacts/"
	case p == "/health" || p == "/version" || p == "/metrics" || p == "/":
		return p
	}
	return "other"
}

// traceIDs replaces the trace and assessment ids of a traces/ path with
// placeholders, so that the label set stays bounded.
func traceIDs(rest string) string {
	segs := strings.Split(rest, "/")
	if segs[0] != "traces" || len(segs) < 2 {
		return rest
	}
	switch segs[1] {
	case "search", "get", "batchGet", "delete-traces", "link-to-run", "calculate-filter-correlation":
		if len(segs) == 2 {
			return rest
		}
	}
	segs[1] = "{trace_id}"
	if len(segs) == 4 && segs[2] == "assessments" {
		segs[3] = "{assessment_id}"
	}
	return strings.Join(segs, "/")
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Run opens the stores, serves until ctx is done, then shuts down
// gracefully. ready, if not nil, receives the listening address.
func Run(ctx context.Context, cfg Config, ready func(addr string)) error {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Listen first: a taken port must fail before any store is created.
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, cfg.Port))
	if err != nil {
		return fmt.Errorf("server: listen: %w", err)
	}
	defer ln.Close()
	root := cfg.DefaultArtifactRoot
	if root == "" && cfg.ArtifactsDestination != "" {
		root = tracking.ProxyScheme
	}
	mlflowVersion := cfg.MLflowVersion
	if mlflowVersion == "" {
		mlflowVersion = tracking.MLflowVersion
	}
	if err := tracking.CheckServerVersion(mlflowVersion); err != nil {
		return fmt.Errorf("server: --mlflow-version: %w", err)
	}
	store, err := OpenStore(ctx, cfg.BackendStoreURI, root)
	if err != nil {
		return err
	}
	defer store.Close()
	repo, err := OpenArtifacts(ctx, cfg.ArtifactsDestination)
	if err != nil {
		return err
	}
	var guard *auth.Guard
	if cfg.AuthDB != "" {
		admin := cfg.AdminUser
		if admin == "" {
			admin = "admin"
		}
		users, err := auth.Open(ctx, cfg.AuthDB, admin, cfg.AdminPassword)
		if err != nil {
			return err
		}
		defer users.Close()
		def := cfg.AuthDefault
		if def == "" {
			def = auth.Read
		}
		if !auth.ValidPermission(def) {
			return fmt.Errorf("server: invalid default permission %q", def)
		}
		guard = &auth.Guard{Users: users, Data: store, Default: def, Log: log}
	}
	// Webhook messages queued before a restart are delivered now; the
	// dispatcher stops with the server, leaving what is in flight queued.
	hooks := &webhooks{schemes: cfg.WebhookSchemes, dispatcher: &tracking.WebhookDispatcher{Store: store, Log: log,
		Timeout: cfg.WebhookTimeout, MaxAttempts: cfg.WebhookMaxAttempts}}
	hctx, stopHooks := context.WithCancel(context.WithoutCancel(ctx))
	hooksDone := make(chan struct{})
	go func() {
		defer close(hooksDone)
		hooks.dispatcher.Run(hctx)
	}()
	defer func() {
		stopHooks()
		<-hooksDone
	}()
	srv := &http.Server{
		Handler: handler(store, repo, cfg.Version, mlflowVersion, log, guard, cfg.StaticPrefix, hooks,
			graphql.Options{MaxRootFields: cfg.GraphQLMaxRootFields, MaxAliases: cfg.GraphQLMaxAliases}, localRoots(cfg)...),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("tracking server listening", "addr", ln.Addr().String(), "backend_store_uri", redact(cfg.BackendStoreURI), "artifacts_destination", cfg.ArtifactsDestination)
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	timeout := cfg.ShutdownTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	log.Info("shutting down; finishing in-flight requests", "timeout", timeout)
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("server: %w", err)
	}
	return nil
}

// localRoots are the configured local artifact directories: the default
// artifact root and the proxy's destination, where they are local.
func localRoots(cfg Config) []string {
	roots := []string{}
	for _, r := range []string{cfg.DefaultArtifactRoot, cfg.ArtifactsDestination} {
		if r == "" || (strings.Contains(r, "://") && !strings.HasPrefix(r, "file://")) {
			continue
		}
		if abs, err := filepath.Abs(strings.TrimPrefix(r, "file://")); err == nil {
			roots = append(roots, abs)
		}
	}
	return roots
}

// redact hides a password in a store URI for logs.
func redact(uri string) string {
	at := strings.Index(uri, "@")
	scheme := strings.Index(uri, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return uri
	}
	cred := uri[scheme+3 : at]
	if user, _, ok := strings.Cut(cred, ":"); ok {
		return uri[:scheme+3] + user + ":***" + uri[at:]
	}
	return uri
}
