package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dawn-ml/dawn/model"
	"github.com/dawn-ml/dawn/monitor"
	"github.com/dawn-ml/dawn/monitor/runner"
	"github.com/dawn-ml/dawn/tracking"
	"github.com/dawn-ml/dawn/tracking/server"
)

const monitorRunUsage = `
Usage: dawn monitor run --config monitor.yaml [--once] [--metrics-addr :9101] [--backend-store-uri URI] [--json]

Follows the source the monitor file names (a prediction-log directory as
dawn serve --log-dir writes it, a file, a glob, an s3://bucket/prefix, or a
NATS JetStream subject: source {path: nats://host:4222, subject: S}) as files roll, joins labels that arrive later (labels.source), checks each
window (rows or a span of time) against the model's reference profile, raises
the alert rules and delivers notifications to the receivers (signed
webhooks, Alertmanager) and actions (a command, a rollback of a registry
alias). The position, the window reports, the alert state and the
notification outbox live in the tracking store (SQLite under --data-dir by
default, or PostgreSQL), so a restart resumes at the next window and never
sends a notification twice unless its delivery was not recorded. See
docs/monitor.md for the file's fields.

Example:
  dawn monitor run --config monitor.yaml --metrics-addr 127.0.0.1:9101
  dawn monitor run --config monitor.yaml --once --json
`

func runMonitorRun(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "monitor run", monitorRunUsage)
	mf := addMonitorFlags(fs, "tracking server `URL` (models:/ URIs, rollbacks, logging results; overrides the file's tracking_uri)")
	once := fs.Bool("once", false, "evaluate the windows present now, deliver, and exit")
	metricsAddr := fs.String("metrics-addr", "", "serve Prometheus metrics at http://`ADDR`/metrics")
	dryRun := fs.Bool("dry-run", false, "print what every receiver and action would do instead of doing it")
	jsonOut := fs.Bool("json", false, "print a JSON summary on stdout when the run ends")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *mf.config == "" {
		return usagef("monitor run: --config is required")
	}
	cfg, err := mf.loadConfig()
	if err != nil {
		return err
	}
	if *dryRun {
		for i := range cfg.Receivers {
			cfg.Receivers[i].DryRun = true
		}
		for i := range cfg.Actions {
			cfg.Actions[i].DryRun = true
		}
	}
	st, err := mf.open(ctx, "monitor run", cfg)
	if err != nil {
		return err
	}
	defer st.store.Close()
	cfg, p, ms := st.cfg, st.profile, st.state
	m, err := model.Load(st.modelDir)
	if err != nil {
		return err
	}
	r, err := runner.New(ctx, cfg, p, m, ms)
	if err != nil {
		return err
	}
	defer r.Close()
	r.Log = slog.New(slog.NewTextHandler(e.stderr, nil))
	r.Out = e.stdout
	if *jsonOut {
		r.Out = io.Discard
	}
	if cfg.TrackingURI != "" {
		if r.Tracking, err = tracking.NewClient(cfg.TrackingURI); err != nil {
			return usagef("monitor run: %v", err)
		}
	}
	if *metricsAddr != "" {
		reg := prometheus.NewRegistry()
		r.Metrics = runner.NewMetrics(reg)
		ln, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			return fmt.Errorf("monitor run: --metrics-addr: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
		mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "OK\n") })
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		fmt.Fprintf(e.stderr, "monitor %s: metrics at http://%s/metrics\n", cfg.Name, ln.Addr())
	}
	start := r.NextWindow()
	if err := r.Run(ctx, *once); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	pend, err := ms.PendingMonitorNotifications(context.WithoutCancel(ctx), cfg.Name)
	if err != nil {
		return err
	}
	if *jsonOut {
		return writeJSON(e.stdout, map[string]any{"monitor": cfg.Name, "windows": r.NextWindow() - start,
			"next_window": r.NextWindow(), "position": r.Position(), "pending_notifications": len(pend)})
	}
	fmt.Fprintf(e.stdout, "monitor %s: %d windows evaluated, next window %d, %d notifications pending\n", cfg.Name, r.NextWindow()-start, r.NextWindow(), len(pend))
	return nil
}

// monitorFlags are the flags "monitor run" and "monitor report" share: the
// monitor file, its state store and the tracking server.
type monitorFlags struct {
	config, trackingURI *string
	store               storeFlags
}

func addMonitorFlags(fs *flag.FlagSet, trackingUsage string) *monitorFlags {
	mf := &monitorFlags{config: fs.String("config", "", "monitor `file` (YAML)")}
	fs.StringVar(&mf.store.dataDir, "data-dir", "dawn-data", "directory of the default SQLite store")
	fs.StringVar(&mf.store.storeURI, "backend-store-uri", "", "state store: sqlite:///path.db or postgresql://... (default: sqlite under --data-dir)")
	mf.trackingURI = fs.String("tracking-uri", os.Getenv("MLFLOW_TRACKING_URI"), trackingUsage)
	return mf
}

// loadConfig reads the monitor file, --tracking-uri overriding its
// tracking_uri.
func (mf *monitorFlags) loadConfig() (*runner.Config, error) {
	cfg, err := runner.LoadConfig(*mf.config)
	if err != nil {
		return nil, err
	}
	if *mf.trackingURI != "" {
		cfg.TrackingURI = *mf.trackingURI
	}
	return cfg, nil
}

// monitorSetup is what a monitor command works on: its file, the model's
// directory and reference profile, and the opened state store (the caller
// closes store).
type monitorSetup struct {
	cfg      *runner.Config
	modelDir string
	profile  *monitor.Profile
	store    tracking.Store
	state    tracking.MonitorStore
}

func (mf *monitorFlags) open(ctx context.Context, cmd string, cfg *runner.Config) (*monitorSetup, error) {
	dir, err := modelDir(ctx, cfg.Model, cfg.TrackingURI)
	if err != nil {
		return nil, err
	}
	p, err := monitor.LoadProfile(dir)
	if err != nil {
		return nil, err
	}
	store, err := server.OpenStore(ctx, mf.store.uri(), tracking.ProxyScheme)
	if err != nil {
		return nil, err
	}
	ms, ok := store.(tracking.MonitorStore)
	if !ok {
		store.Close()
		return nil, fmt.Errorf("%s: the store at %s keeps no monitor state", cmd, mf.store.uri())
	}
	return &monitorSetup{cfg: cfg, modelDir: dir, profile: p, store: store, state: ms}, nil
}
