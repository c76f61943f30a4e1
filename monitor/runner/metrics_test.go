package runner

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dawn-ml/dawn/tracking/trackingtest"
)

// The metrics follow the windows, and each window is logged to the
// monitor's tracking run with step = its index.
func TestMetricsAndTracking(t *testing.T) {
	fx := newFixture(t)
	driftedLog(t, fx)
	srv := trackingtest.Start(t)
	r, _ := fx.runner(t, fx.config(t, ""))
	reg := prometheus.NewRegistry()
	r.Metrics = NewMetrics(reg)
	r.Tracking = srv.Client
	if err := r.Run(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	m := r.Metrics
	if got := testutil.ToFloat64(m.rows.WithLabelValues("m1")); got != 4000 {
		t.Errorf("rows_total %g, want 4000", got)
	}
	if got := testutil.ToFloat64(m.windows.WithLabelValues("m1")); got != 2 {
		t.Errorf("windows_total %g, want 2", got)
	}
	if got := testutil.ToFloat64(m.drifted.WithLabelValues("m1", "x")); got != 1 {
		t.Errorf("column_drift{x} %g, want 1", got)
	}
	if got := testutil.ToFloat64(m.firing.WithLabelValues("m1")); got != 1 {
		t.Errorf("alerts_firing %g, want 1", got)
	}
	h := history(t, fx.store)
	var want float64
	for _, c := range h[1].Report.Drift.Columns {
		if c.Column == "x" {
			want = c.Statistic
			if got := testutil.ToFloat64(m.drift.WithLabelValues("m1", "x", string(c.Test))); c.PValue == nil && got != want {
				t.Errorf("drift_score{x} %g, want %g", got, want)
			}
		}
	}
	st, _ := fx.store.MonitorState(t.Context(), "m1")
	if st.RunID == "" {
		t.Fatal("no tracking run recorded in the state")
	}
	pts, err := srv.Client.GetMetricHistory(t.Context(), st.RunID, "drift.x")
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 2 || pts[0].Step != 0 || pts[1].Step != 1 || float64(pts[1].Value) != want {
		t.Errorf("drift.x history %+v, want steps 0 and 1, the last %g", pts, want)
	}
	// A restart logs to the same run.
	r2, _ := fx.runner(t, fx.config(t, ""))
	r2.Tracking = srv.Client
	r2.Run(t.Context(), true)
	if st2, _ := fx.store.MonitorState(t.Context(), "m1"); st2.RunID != st.RunID {
		t.Errorf("restart made run %s, want %s", st2.RunID, st.RunID)
	}
}
