package serve

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus series, on a registry of its own so
// that several servers (and tests) never collide.
type metrics struct {
	reg       *prometheus.Registry
	latency   *prometheus.HistogramVec
	lat200    prometheus.Observer
	requests  *prometheus.CounterVec
	rows      prometheus.Counter
	batchRows prometheus.Histogram
	stages    *prometheus.CounterVec
	stageC    map[string]prometheus.Counter
	swaps     prometheus.Counter
	version   *prometheus.GaugeVec
	req200    prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "dawn_serve_request_duration_seconds",
		Help:    "Time to answer a POST /invocations request, by HTTP status.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"code"})
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dawn_serve_requests_total", Help: "POST /invocations requests answered, by HTTP status.",
	}, []string{"code"})
	m.rows = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "dawn_serve_rows_total", Help: "Rows scored for successful requests.",
	})
	m.batchRows = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "dawn_serve_batch_rows",
		Help:    "Rows per Predict call after micro-batching concurrent requests.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384},
	})
	m.stages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dawn_serve_cascade_stage_rows_total",
		Help: "Rows answered by each stage of a cascade (cheap, reference, reuse).",
	}, []string{"stage"})
	m.swaps = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "dawn_serve_model_swaps_total", Help: "Times the served model was replaced (e.g. an alias moved).",
	})
	m.version = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "dawn_serve_model_info", Help: "1 for the model version being served.",
	}, []string{"version"})
	m.reg.MustRegister(m.latency, m.requests, m.rows, m.batchRows, m.stages, m.swaps, m.version,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.lat200 = m.latency.WithLabelValues("200")
	m.req200 = m.requests.WithLabelValues("200")
	m.stageC = map[string]prometheus.Counter{}
	for _, st := range []string{"cheap", "reference", "reuse"} {
		m.stageC[st] = m.stages.WithLabelValues(st)
	}
	return m
}

// observe records a request's status and latency and returns the latency.
func (m *metrics) observe(code int, start time.Time) time.Duration {
	d := time.Since(start)
	if code == 200 {
		m.lat200.Observe(d.Seconds())
		m.req200.Inc()
		return d
	}
	c := strconv.Itoa(code)
	m.latency.WithLabelValues(c).Observe(d.Seconds())
	m.requests.WithLabelValues(c).Inc()
	return d
}

func (m *metrics) countStages(stages []string) {
	if len(stages) == 0 {
		return
	}
	run, n := stages[0], 0
	flush := func() {
		c, ok := m.stageC[run]
		if !ok {
			c = m.stages.WithLabelValues(run)
		}
		c.Add(float64(n))
	}
	for _, st := range stages {
		if st != run {
			flush()
			run, n = st, 0
		}
		n++
	}
	flush()
}

func (m *metrics) setVersion(v string) {
	m.version.Reset()
	m.version.WithLabelValues(v).Set(1)
}
