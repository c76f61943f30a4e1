package main

import (
	"context"
	"fmt"
	"time"

	"github.com/dawn-ml/dawn/monitor/report"
	"github.com/dawn-ml/dawn/monitor/runner"
)

const monitorReportUsage = `dawn monitor report: write a self-contained HTML report of a monitor's windows.

Usage: dawn monitor report --config monitor.yaml --out report.html [--backend-store-uri URI] [--tracking-uri URL] [--json]

Reads the windows that "dawn monitor run" stored for the monitor the file
names (the same state store: SQLite under --data-dir by default) and renders
per-column drift over time, reference and current distributions of the latest
window, estimated (CBPE) against realised accuracy, top segments and data
quality, in one HTML file readable offline (no script, no network). At most the
latest 500 windows are drawn.

Example:
  dawn monitor report --config monitor.yaml --out report.html
`

func runMonitorReport(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "monitor report", monitorReportUsage)
	mf := addMonitorFlags(fs, "tracking server `URL` (for a models:/ URI in the file; overrides its tracking_uri)")
	outPath := fs.String("out", "", "HTML `file` to write")
	jsonOut := fs.Bool("json", false, "print a JSON summary on stdout")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *mf.config == "" || *outPath == "" {
		return usagef("monitor report: --config and --out are required")
	}
	cfg, err := mf.loadConfig()
	if err != nil {
		return err
	}
	st, err := mf.open(ctx, "monitor report", cfg)
	if err != nil {
		return err
	}
	defer st.store.Close()
	ms, p := st.state, st.profile
	// Only the windows the report draws are read; the store counts the rest.
	hist, err := runner.History(ctx, ms, cfg.Name, report.MaxWindows)
	if err != nil {
		return err
	}
	if len(hist.Windows) == 0 {
		return fmt.Errorf("monitor report: monitor %q has no evaluated windows in %s (run \"dawn monitor run --config %s\" first)", cfg.Name, mf.store.uri(), *mf.config)
	}
	wins := make([]report.Window, len(hist.Windows))
	first := hist.OlderRows + 1
	for i, h := range hist.Windows {
		wins[i] = report.Window{Start: h.Start, End: h.End, Report: h.Report}
		if h.Start.IsZero() && h.End.IsZero() {
			wins[i].FirstRow, wins[i].LastRow = first, first+h.Rows-1
		}
		first += h.Rows
	}
	drawn := len(wins)
	opt := report.Options{Title: "dawn monitor " + cfg.Name, Model: cfg.Model, Generated: time.Now(), Older: int(hist.Older)}
	if err := report.WriteFile(*outPath, p, wins, opt); err != nil {
		return err
	}
	if *jsonOut {
		return writeJSON(e.stdout, map[string]any{"monitor": cfg.Name, "windows": drawn, "report": *outPath})
	}
	fmt.Fprintf(e.stdout, "monitor %s: %d windows, report in %s\n", cfg.Name, drawn, *outPath)
	return nil
}
