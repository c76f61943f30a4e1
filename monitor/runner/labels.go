package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/dawn-ml/dawn/explain"
	"github.com/dawn-ml/dawn/monitor"
	"github.com/dawn-ml/dawn/tracking"
)

// refreshLabels re-reads the labels source when its listing (names,
// sizes, modification times) changed since the last read, and reports
// whether it did.
func (r *Runner) refreshLabels() (bool, error) {
	src := r.cfg.Labels.Source
	if src == "" {
		return false, nil
	}
	sig, err := listingSignature(src)
	if err != nil {
		return false, fmt.Errorf("monitor %s: labels: %w", r.cfg.Name, err)
	}
	if r.labels != nil && sig == r.labelsSig {
		return false, nil
	}
	l, err := monitor.ReadLabels(src, r.cfg.Labels.options())
	if err != nil {
		return false, fmt.Errorf("monitor %s: %w", r.cfg.Name, err)
	}
	r.labels, r.labelsSig = l, sig
	return true, nil
}

// listingSignature identifies the state of a file, directory or glob.
func listingSignature(src string) (string, error) {
	var files []string
	if st, err := os.Stat(src); err == nil && st.IsDir() {
		ents, err := os.ReadDir(src)
		if err != nil {
			return "", err
		}
		if len(ents) == 0 {
			return "empty", nil
		}
	}
	files, err := explain.Inputs(src)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "%s\x00%d\x00%d\n", f, st.Size(), st.ModTime().UnixNano())
	}
	return b.String(), nil
}

// relabel recomputes the stored windows, among the latest
// MaxRelabelWindows and evaluated less than Labels.Wait ago, for which
// more rows now have labels than when they were last evaluated: their
// rows are re-read from the source, joined with the labels and checked
// again. The alert rules on the figures labels change are evaluated again
// on the new report (see rules), and the report, the alert state and the
// notifications it raised replace the stored ones in one transaction, so a
// restart neither loses nor repeats them. The realised-accuracy gauge and
// the tracking run's metrics at the window's step follow.
func (r *Runner) relabel(ctx context.Context) error {
	horizon := r.now().Add(-r.cfg.Labels.wait()).UnixMilli()
	var due []tracking.MonitorWindow
	err := r.store.MonitorWindows(ctx, r.cfg.Name, MaxRelabelWindows, func(w tracking.MonitorWindow) error {
		if w.Created >= horizon && w.Index >= r.alerts.FinalBelow {
			due = append(due, w)
		}
		return nil
	})
	if err != nil {
		return err
	}
	col := r.cfg.Labels.column()
	final := r.alerts.FinalBelow
	// The newest due window with a realised accuracy, for the gauge.
	var actual *monitor.Metric
	actualAt := int64(-1)
	for _, w := range due {
		var old monitor.Report
		if err := json.Unmarshal(w.Report, &old); err != nil {
			return fmt.Errorf("monitor %s: window %d: stored report: %w", r.cfg.Name, w.Index, err)
		}
		if old.Performance.Actual != nil {
			actual, actualAt = old.Performance.Actual, w.Index
		}
		f, err := r.readRange(ctx, w.From, w.To, w.Rows)
		if errors.Is(err, errRowsGone) {
			// Streams drop their oldest messages first: this window and
			// those before it are final. Said once, and kept in the state.
			r.alerts.FinalBelow = w.Index + 1
			if !r.goneLogged {
				r.Log.Warn("monitor: late labels: a window's rows are gone from the source; it and older windows are final", "window", w.Index, "err", err)
				r.goneLogged = true
			}
			continue
		}
		if err != nil {
			r.Log.Warn("monitor: cannot re-read a window for late labels", "window", w.Index, "err", err)
			continue
		}
		f, n, err := r.labels.Join(f, col)
		if err != nil {
			return fmt.Errorf("monitor %s: window %d: %w", r.cfg.Name, w.Index, err)
		}
		had := 0
		if old.Performance.Actual != nil {
			had = old.Performance.Actual.Rows
		}
		if n <= had {
			continue
		}
		rep, err := monitor.Check(ctx, r.profile, f, r.options())
		if err != nil {
			return fmt.Errorf("monitor %s: window %d (late labels): %w", r.cfg.Name, w.Index, err)
		}
		body, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		now := r.now()
		r.rules(rep, w.Index, now, true)
		if err := r.commitRecomputed(ctx, w.Index, body, r.disp.Flush(now)); err != nil {
			return err
		}
		if a := rep.Performance.Actual; a != nil {
			actual, actualAt = a, w.Index
			fmt.Fprintf(r.Out, "window %d: late labels: realised accuracy %.4f over %d labelled rows, %d alerts firing\n", w.Index, a.Accuracy, a.Rows, len(r.alerts.Firing))
		}
		r.Metrics.recomputed(r.cfg.Name, len(r.alerts.Firing))
		r.logTracking(ctx, w.Index, rep, now, true)
	}
	if r.alerts.FinalBelow != final {
		if err := r.commitState(ctx); err != nil {
			return err
		}
	}
	// The gauge shows the newest window with labels (after a restart it
	// starts empty, and this sets it from the store).
	if actual != nil && actualAt >= r.actualWindow {
		r.Metrics.setActual(r.cfg.Name, actual)
		r.actualWindow = actualAt
	}
	return nil
}

// readRange re-reads the source's rows from position from (encoded) up
// to position to: rows of them.
func (r *Runner) readRange(ctx context.Context, fromS, toS string, rows int64) (*explain.Frame, error) {
	var from, to position
	if err := json.Unmarshal([]byte(fromS), &from); err != nil {
		return nil, fmt.Errorf("position %q: %w", fromS, err)
	}
	if err := json.Unmarshal([]byte(toS), &to); err != nil {
		return nil, fmt.Errorf("position %q: %w", toS, err)
	}
	if isNATS(r.cfg.Source.Path) {
		return r.readNATSRange(ctx, from, to, rows)
	}
	files, err := r.sourceFiles(ctx)
	if err != nil {
		return nil, err
	}
	var parts []*explain.Frame
	for _, name := range files {
		if name < from.File || name > to.File {
			continue
		}
		f, err := r.readFile(ctx, name)
		if err != nil {
			return nil, err
		}
		lo, hi := 0, f.Rows
		if name == from.File {
			lo = min(from.Row, f.Rows)
		}
		if name == to.File {
			hi = min(to.Row, f.Rows)
		}
		if lo < hi {
			parts = append(parts, f.Slice(lo, hi))
		}
	}
	if len(parts) == 0 {
		return nil, errors.New("its rows are no longer in the source")
	}
	f, err := explain.Stack(parts, nil)
	if err != nil {
		return nil, err
	}
	if int64(f.Rows) != rows {
		return nil, fmt.Errorf("re-read %d rows, the window had %d", f.Rows, rows)
	}
	return f, nil
}
