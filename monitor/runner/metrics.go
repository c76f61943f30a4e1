package runner

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dawn-ml/dawn/monitor"
)

// Metrics are a runner's Prometheus metrics, labelled by monitor name.
type Metrics struct {
	drift, drifted           *prometheus.GaugeVec
	share, estimated, actual *prometheus.GaugeVec
	firing, lag, pending     *prometheus.GaugeVec
	outbox                   *prometheus.GaugeVec
	rows, windows, relabels  *prometheus.CounterVec
}

// NewMetrics registers the metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	g := func(name, help string, labels ...string) *prometheus.GaugeVec {
		v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, append([]string{"monitor"}, labels...))
		reg.MustRegister(v)
		return v
	}
	c := func(name, help string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"monitor"})
		reg.MustRegister(v)
		return v
	}
	return &Metrics{
		drift:     g("dawn_monitor_drift_score", "The last window's drift statistic per column (a p-value or a distance; see the test label).", "column", "test"),
		drifted:   g("dawn_monitor_column_drift", "1 when the column drifted in the last window.", "column"),
		share:     g("dawn_monitor_drift_share", "Share of columns that drifted in the last window."),
		estimated: g("dawn_monitor_estimated_accuracy", "CBPE's estimated accuracy of the last window."),
		actual:    g("dawn_monitor_actual_accuracy", "Realised accuracy of the labelled rows of the newest window that has labels (recomputed as late labels arrive)."),
		firing:    g("dawn_monitor_alerts_firing", "Alerts firing."),
		lag:       g("dawn_monitor_lag_seconds", "Time from the newest evaluated row to now."),
		pending:   g("dawn_monitor_pending_rows", "Rows read but not yet in a complete window."),
		outbox:    g("dawn_monitor_outbox_pending", "Notifications queued and not yet delivered."),
		rows:      c("dawn_monitor_rows_total", "Rows evaluated."),
		windows:   c("dawn_monitor_windows_total", "Windows evaluated."),
		relabels:  c("dawn_monitor_windows_recomputed_total", "Stored windows recomputed because late labels arrived."),
	}
}

func (m *Metrics) observe(name string, rep *monitor.Report, firing int) {
	if m == nil {
		return
	}
	for _, c := range rep.Drift.Columns {
		v := c.Statistic
		if c.PValue != nil {
			v = *c.PValue
		}
		m.drift.WithLabelValues(name, c.Column, string(c.Test)).Set(v)
		m.drifted.WithLabelValues(name, c.Column).Set(b01(c.Drift))
	}
	m.share.WithLabelValues(name).Set(rep.Drift.Share)
	if e := rep.Performance.Estimated; e != nil {
		m.estimated.WithLabelValues(name).Set(e.Accuracy)
	}
	if a := rep.Performance.Actual; a != nil {
		m.actual.WithLabelValues(name).Set(a.Accuracy)
	}
	m.firing.WithLabelValues(name).Set(float64(firing))
	m.rows.WithLabelValues(name).Add(float64(rep.Rows))
	m.windows.WithLabelValues(name).Inc()
}

// recomputed counts a window recomputed for late labels and sets the
// alerts firing after it.
func (m *Metrics) recomputed(name string, firing int) {
	if m == nil {
		return
	}
	m.relabels.WithLabelValues(name).Inc()
	m.firing.WithLabelValues(name).Set(float64(firing))
}

// setActual sets the realised accuracy gauge.
func (m *Metrics) setActual(name string, a *monitor.Metric) {
	if m != nil {
		m.actual.WithLabelValues(name).Set(a.Accuracy)
	}
}
