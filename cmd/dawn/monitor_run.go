package main

import (
	"context"
	"errors"
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
dawn serve --log-dir writes it, a file or a glob) as files roll, checks each
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
	cfgPath := fs.String("config", "", "monitor `file` (YAML)")
	once := fs.Bool("once", false, "evaluate the windows present now, deliver, and exit")
	metricsAddr := fs.String("metrics-addr", "", "serve Prometheus metrics at http://`ADDR`/metrics")
	var sf storeFlags
	fs.StringVar(&sf.dataDir, "data-dir", "dawn-data", "directory of the default SQLite store")
	fs.StringVar(&sf.storeURI, "backend-store-uri", "", "state store: sqlite:///path.db or postgresql://... (default: sqlite under --data-dir)")
	trackingURI := fs.String("tracking-uri", os.Getenv("MLFLOW_TRACKING_URI"), "tracking server `URL` (models:/ URIs, rollbacks, logging results; overrides the file's tracking_uri)")
	dryRun := fs.Bool("dry-run", false, "print what every receiver and action would do instead of doing it")
	jsonOut := fs.Bool("json", false, "print a JSON summary on stdout when the run ends")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *cfgPath == "" {
		return usagef("monitor run: --config is required")
	}
	cfg, err := runner.LoadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if *trackingURI != "" {
		cfg.TrackingURI = *trackingURI
	}
	if *dryRun {
		for i := range cfg.Receivers {
			cfg.Receivers[i].DryRun = true
		}
		for i := range cfg.Actions {
			cfg.Actions[i].DryRun = true
		}
	}
	dir, err := modelDir(ctx, cfg.Model, cfg.TrackingURI)
	if err != nil {
		return err
	}
	p, err := monitor.LoadProfile(dir)
	if err != nil {
		return err
	}
	m, err := model.Load(dir)
	if err != nil {
		return err
	}
	store, err := server.OpenStore(ctx, sf.uri(), tracking.ProxyScheme)
	if err != nil {
		return err
	}
	defer store.Close()
	ms, ok := store.(tracking.MonitorStore)
	if !ok {
		return fmt.Errorf("monitor run: the store at %s keeps no monitor state", sf.uri())
	}
	r, err := runner.New(ctx, cfg, p, m, ms)
	if err != nil {
		return err
	}
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
