package runner

import (
	"context"
	"time"

	"github.com/dawn-ml/dawn/monitor"
	"github.com/dawn-ml/dawn/tracking"
)

// startRun makes (once) the tracking run the monitor logs to, and keeps
// its id in the monitor's state.
func (r *Runner) startRun(ctx context.Context) error {
	if r.Tracking == nil || r.st.RunID != "" {
		return nil
	}
	exp := r.cfg.Experiment
	if exp == "" {
		exp = "monitors"
	}
	id, err := r.Tracking.SetExperiment(ctx, exp)
	if err != nil {
		return err
	}
	run, err := r.Tracking.CreateRun(ctx, id, "monitor "+r.cfg.Name,
		tracking.Tag{Key: "dawn.monitor", Value: r.cfg.Name}, tracking.Tag{Key: "dawn.monitor.model", Value: r.cfg.Model})
	if err != nil {
		return err
	}
	r.st.RunID = run.Info.RunID
	return r.store.CommitMonitor(ctx, r.cfg.Name, r.st, nil, nil)
}

// logTracking logs a window's figures as metrics of the monitor's run,
// step = the window's index; with late (a window recomputed for late
// labels) only the figures labels change, at the same step, so the run's
// latest value at that step is the recomputed one. It runs after the
// window is committed and a failure is logged, not fatal: the store holds
// the window either way.
func (r *Runner) logTracking(ctx context.Context, idx int64, rep *monitor.Report, now time.Time, late bool) {
	if r.Tracking == nil || r.st.RunID == "" {
		return
	}
	ts := tracking.Int64(now.UnixMilli())
	step := tracking.Int64(idx)
	m := func(k string, v float64) tracking.Metric {
		return tracking.Metric{Key: k, Value: tracking.Float(v), Timestamp: ts, Step: step}
	}
	var ms []tracking.Metric
	if !late {
		ms = append(ms, m("rows", float64(rep.Rows)), m("drift_share", rep.Drift.Share), m("dataset_drift", b01(rep.Drift.DatasetDrift)))
		if e := rep.Performance.Estimated; e != nil {
			ms = append(ms, m("estimated_accuracy", e.Accuracy))
		}
	}
	if a := rep.Performance.Actual; a != nil {
		ms = append(ms, m("actual_accuracy", a.Accuracy), m("labelled_rows", float64(a.Rows)))
	}
	if !late {
		for _, c := range rep.Drift.Columns {
			ms = append(ms, m("drift."+c.Column, c.Statistic))
		}
	}
	if len(ms) == 0 {
		return
	}
	if err := r.Tracking.LogBatch(ctx, r.st.RunID, ms, nil, nil); err != nil {
		r.Log.Warn("monitor: logging window metrics to tracking failed", "window", idx, "err", err)
	}
}
