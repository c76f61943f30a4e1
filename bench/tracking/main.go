// Command tracking is a load generator for dawn's tracking server (or any
// MLflow-compatible server given with -uri). Over loopback HTTP it measures
// log-batch throughput, single log-metric latency, get-history time,
// OTLP span ingestion (/v1/traces) and search-runs latency over many runs,
// and prints one JSON object.
//
//	go run ./bench/tracking                 # in-process dawn server, SQLite in a temp dir
//	go run ./bench/tracking -runs 100000    # the acceptance figure
//	go run ./bench/tracking -uri http://127.0.0.1:5000 -runs 5000   # an external server
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dawn-ml/dawn/tracking"
	"github.com/dawn-ml/dawn/tracking/server"
	"github.com/dawn-ml/dawn/tracking/sqlstore"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

type result struct {
	Server              string  `json:"server"`
	GOMAXPROCS          int     `json:"gomaxprocs"`
	LogBatchSeqMetricsS float64 `json:"log_batch_sequential_metrics_per_s"`
	LogBatchParMetricsS float64 `json:"log_batch_concurrent_metrics_per_s"`
	LogBatchClients     int     `json:"log_batch_clients"`
	LogMetricCalls      int     `json:"log_metric_calls"`
	LogMetricCallsS     float64 `json:"log_metric_calls_per_s"`
	LogMetricP50ms      float64 `json:"log_metric_p50_ms"`
	LogMetricP99ms      float64 `json:"log_metric_p99_ms"`
	History10kMs        float64 `json:"get_history_10k_ms"`
	HistoryBigPoints    int     `json:"get_history_big_points,omitempty"`
	HistoryBigMs        float64 `json:"get_history_big_ms,omitempty"`
	HistoryBigHeapMB    float64 `json:"get_history_big_server_heap_growth_mb,omitempty"`
	SearchRuns          int     `json:"search_runs"`
	PopulateS           float64 `json:"populate_s"`
	SearchNoFilterMs    float64 `json:"search_no_filter_1000_median_ms"`
	SearchFilterMs      float64 `json:"search_metric_filter_median_ms"`
	SearchOrderMs       float64 `json:"search_order_by_metric_100_median_ms"`
	SearchFilterOrderMs float64 `json:"search_filter_and_order_by_metric_100_median_ms"`
	OTLPSpans           int     `json:"otlp_spans,omitempty"`
	OTLPSpansPerRequest int     `json:"otlp_spans_per_request,omitempty"`
	OTLPSpansS          float64 `json:"otlp_spans_per_s,omitempty"`
	TransportRetries    int64   `json:"transport_retries"`
}

// httpc drops a connection idle for 2 s: MLflow's uvicorn closes one idle
// for 5 s, and a request sent on it just then ends in EOF (seen at load
// average 25, between the log-batch phases).
var httpc = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 2 * time.Second}}

// retries counts requests sent again after a transport error: at load
// average 35 uvicorn's keep-alive timer can fire while a request is being
// answered and close the connection (h11 LocalProtocolError in MLflow's
// log), so the client sees EOF. The server may have applied the request
// already: a resent log-batch logs identical points again (dawn ignores
// them; a server that refuses them answers an error status, which stops
// the run). The count is in the result, so a figure that needed retries
// says so.
var retries atomic.Int64

// postBody POSTs b as JSON, sending it up to three times more after a
// transport error (never after an HTTP error status).
func postBody(url string, b []byte) (*http.Response, error) {
	for try := 0; ; try++ {
		res, err := httpc.Post(url, "application/json", bytes.NewReader(b))
		if err == nil || try == 3 {
			return res, err
		}
		retries.Add(1)
		time.Sleep(100 * time.Millisecond)
	}
}

func post(base, endpoint string, body any, out any) error {
	b, _ := json.Marshal(body)
	res, err := postBody(base+"/api/2.0/mlflow/"+endpoint, b)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		return fmt.Errorf("%s: %d %s", endpoint, res.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

func postRaw(base, endpoint string, b []byte) error {
	res, err := postBody(base+"/api/2.0/mlflow/"+endpoint, b)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		return fmt.Errorf("%s: %d %s", endpoint, res.StatusCode, raw)
	}
	return nil
}

func get(base, endpoint string) ([]byte, error) {
	res, err := httpc.Get(base + "/api/2.0/mlflow/" + endpoint)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		return nil, fmt.Errorf("%s: %d %s", endpoint, res.StatusCode, raw)
	}
	return raw, err
}

func newExperiment(base, name string) string {
	var out struct {
		ExperimentID string `json:"experiment_id"`
	}
	must(post(base, "experiments/create", map[string]any{"name": name}, &out))
	return out.ExperimentID
}

func newRun(base, exp string) string {
	var out struct {
		Run tracking.Run `json:"run"`
	}
	must(post(base, "runs/create", map[string]any{"experiment_id": exp, "start_time": time.Now().UnixMilli()}, &out))
	return out.Run.Info.RunID
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

func batch(run string, n, from int) map[string]any {
	ms := make([]map[string]any, n)
	ts := time.Now().UnixMilli()
	for i := range ms {
		ms[i] = map[string]any{"key": fmt.Sprintf("m%d", i%10), "value": rand.Float64(), "timestamp": ts, "step": from + i}
	}
	return map[string]any{"run_id": run, "metrics": ms}
}

func median(d []time.Duration) float64 {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return float64(d[len(d)/2].Microseconds()) / 1000
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func main() {
	uri := flag.String("uri", "", "server to measure (default: start dawn in-process on loopback)")
	db := flag.String("db", "", "SQLite file for the in-process server (default: a temp file); reuse it to skip re-populating")
	batches := flag.Int("batches", 100, "log-batch requests of 1000 metrics")
	clients := flag.Int("clients", 4, "concurrent clients for the concurrent log-batch figure")
	calls := flag.Int("calls", 10000, "single log-metric calls")
	runs := flag.Int("runs", 5000, "runs to search over")
	bigHistory := flag.Int("history", 0, "also time get-history of this many points (e.g. 1000000)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the log-batch phase here")
	spans := flag.Int("spans", 10000, "spans to send to /v1/traces (OTLP protobuf); 0 skips")
	spansPer := flag.Int("spans-per-request", 100, "spans of one trace per /v1/traces request")
	flag.Parse()
	res := result{GOMAXPROCS: runtime.GOMAXPROCS(0)}
	base := *uri
	var heap func() uint64
	if base == "" {
		dir, err := os.MkdirTemp("", "dawn-bench-")
		must(err)
		defer os.RemoveAll(dir)
		path := *db
		if path == "" {
			path = filepath.Join(dir, "bench.db")
		}
		store, err := server.OpenStore(context.Background(), path, tracking.ProxyScheme)
		must(err)
		_ = sqlstore.SQLite
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		must(err)
		srv := &http.Server{Handler: server.Handler(store, nil, "bench", nil, nil)}
		go srv.Serve(ln)
		defer srv.Close()
		base = "http://" + ln.Addr().String()
		res.Server = "dawn (in-process, SQLite " + path + ")"
		heap = func() uint64 {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			return m.HeapInuse
		}
	} else {
		res.Server = base
	}
	tag := fmt.Sprintf("%d", time.Now().UnixNano())

	// log-batch, one client. Bodies are encoded before the clock starts so
	// the figure is the server's, not the load generator's JSON encoder.
	exp := newExperiment(base, "bench-batch-"+tag)
	run := newRun(base, exp)
	bodies := make([][]byte, *batches)
	for i := range bodies {
		bodies[i], _ = json.Marshal(batch(run, 1000, i*1000))
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		must(err)
		must(pprof.StartCPUProfile(f))
	}
	start := time.Now()
	for _, b := range bodies {
		must(postRaw(base, "runs/log-batch", b))
	}
	res.LogBatchSeqMetricsS = float64(*batches*1000) / time.Since(start).Seconds()

	// log-batch, several clients on their own runs.
	res.LogBatchClients = *clients
	var wg sync.WaitGroup
	var sent atomic.Int64
	per := make([][][]byte, *clients)
	for c := range per {
		r := newRun(base, exp)
		for i := range *batches / *clients {
			b, _ := json.Marshal(batch(r, 1000, i*1000))
			per[c] = append(per[c], b)
		}
	}
	start = time.Now()
	for c := range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, b := range per[c] {
				must(postRaw(base, "runs/log-batch", b))
				sent.Add(1000)
			}
		}()
	}
	wg.Wait()
	res.LogBatchParMetricsS = float64(sent.Load()) / time.Since(start).Seconds()
	if *cpuprofile != "" {
		pprof.StopCPUProfile()
	}

	// single log-metric calls.
	run = newRun(base, exp)
	lat := make([]time.Duration, *calls)
	start = time.Now()
	for i := range lat {
		t0 := time.Now()
		must(post(base, "runs/log-metric", map[string]any{"run_id": run, "key": "loss", "value": rand.Float64(), "timestamp": time.Now().UnixMilli(), "step": i}, nil))
		lat[i] = time.Since(t0)
	}
	res.LogMetricCalls = *calls
	res.LogMetricCallsS = float64(*calls) / time.Since(start).Seconds()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	res.LogMetricP50ms = ms(lat[len(lat)/2])
	res.LogMetricP99ms = ms(lat[len(lat)*99/100])

	// get-history of the 10,000 points just logged.
	var hd []time.Duration
	for range 5 {
		t0 := time.Now()
		// max_results is explicit: MLflow 3.6's handler reads an absent
		// max_results as 0 and answers an empty page.
		b, err := get(base, "metrics/get-history?run_id="+run+"&metric_key=loss&max_results="+strconv.Itoa(*calls))
		must(err)
		hd = append(hd, time.Since(t0))
		var out struct{ Metrics []tracking.Metric }
		must(json.Unmarshal(b, &out))
		if len(out.Metrics) != *calls {
			log.Fatalf("history has %d points, want %d", len(out.Metrics), *calls)
		}
	}
	res.History10kMs = median(hd)

	// OTLP span ingestion, as MLflow 3's client exports spans: one trace's
	// spans per request, protobuf encoded before the clock starts.
	if *spans > 0 {
		res.OTLPSpans, res.OTLPSpansPerRequest = *spans, *spansPer
		res.OTLPSpansS = otlpIngest(base, exp, *spans, *spansPer)
	}

	if *bigHistory > 0 {
		r := newRun(base, exp)
		for i := 0; i < *bigHistory; i += 1000 {
			b := batch(r, min(1000, *bigHistory-i), i)
			for _, m := range b["metrics"].([]map[string]any) {
				m["key"] = "big"
			}
			must(post(base, "runs/log-batch", b, nil))
		}
		var before uint64
		if heap != nil {
			runtime.GC()
			before = heap()
		}
		var peak atomic.Uint64
		stop := make(chan struct{})
		if heap != nil {
			go func() {
				for {
					select {
					case <-stop:
						return
					case <-time.After(5 * time.Millisecond):
						if h := heap(); h > peak.Load() {
							peak.Store(h)
						}
					}
				}
			}()
		}
		t0 := time.Now()
		resp, err := httpc.Get(base + "/api/2.0/mlflow/metrics/get-history?run_id=" + r + "&metric_key=big&max_results=" + strconv.Itoa(*bigHistory))
		must(err)
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		res.HistoryBigMs = ms(time.Since(t0))
		close(stop)
		res.HistoryBigPoints = *bigHistory
		if heap != nil && peak.Load() > before {
			res.HistoryBigHeapMB = float64(peak.Load()-before) / (1 << 20)
		}
		_ = n
	}

	// search over many runs: each has metrics acc (uniform) and loss, a
	// param and a tag.
	// The search experiment is named by its size, so a reused -db skips
	// populating it again.
	sname := fmt.Sprintf("bench-search-%d", *runs)
	sexp := ""
	if b, err := get(base, "experiments/get-by-name?experiment_name="+sname); err == nil {
		var out struct{ Experiment tracking.Experiment }
		must(json.Unmarshal(b, &out))
		sexp = out.Experiment.ExperimentID
	}
	start = time.Now()
	var next atomic.Int64
	if sexp != "" {
		next.Store(int64(*runs))
	} else {
		sexp = newExperiment(base, sname)
	}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(*runs) {
				r := newRun(base, sexp)
				ts := time.Now().UnixMilli()
				must(post(base, "runs/log-batch", map[string]any{"run_id": r,
					"metrics": []map[string]any{{"key": "acc", "value": rand.Float64(), "timestamp": ts}, {"key": "loss", "value": rand.Float64(), "timestamp": ts}},
					"params":  []map[string]any{{"key": "lr", "value": fmt.Sprint(rand.IntN(10))}},
					"tags":    []map[string]any{{"key": "kind", "value": "bench"}}}, nil))
			}
		}()
	}
	wg.Wait()
	res.SearchRuns = *runs
	res.PopulateS = time.Since(start).Seconds()
	search := func(req map[string]any, want int) float64 {
		req["experiment_ids"] = []string{sexp}
		var d []time.Duration
		for range 9 {
			var out struct {
				Runs []tracking.Run `json:"runs"`
			}
			t0 := time.Now()
			must(post(base, "runs/search", req, &out))
			d = append(d, time.Since(t0))
			if want > 0 && len(out.Runs) != want {
				log.Fatalf("search %v: %d runs, want %d", req, len(out.Runs), want)
			}
		}
		return median(d)
	}
	res.SearchNoFilterMs = search(map[string]any{"max_results": 1000}, min(1000, *runs))
	res.SearchFilterMs = search(map[string]any{"filter": "metrics.acc > 0.9", "max_results": 100}, 0)
	res.SearchOrderMs = search(map[string]any{"order_by": []string{"metrics.acc DESC"}, "max_results": 100}, min(100, *runs))
	res.SearchFilterOrderMs = search(map[string]any{"filter": "metrics.acc > 0.9", "order_by": []string{"metrics.acc DESC"}, "max_results": 100}, 0)

	res.TransportRetries = retries.Load()
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.Encode(res)
}

// otlpIngest sends n spans in requests of per spans (one trace each) to
// /v1/traces and returns spans/s.
func otlpIngest(base, exp string, n, per int) float64 {
	var bodies [][]byte
	seed := uint64(time.Now().UnixNano())
	for t := 0; t*per < n; t++ {
		bodies = append(bodies, otlpBody(seed+uint64(t), min(per, n-t*per)))
	}
	start := time.Now()
	for _, b := range bodies {
		req, _ := http.NewRequest("POST", base+"/v1/traces", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/x-protobuf")
		req.Header.Set("X-Mlflow-Experiment-Id", exp)
		res, err := httpc.Do(req)
		must(err)
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			log.Fatalf("/v1/traces: %d %s", res.StatusCode, raw)
		}
	}
	return float64(n) / time.Since(start).Seconds()
}

// otlpBody is an ExportTraceServiceRequest (same fields as TracesData) of
// n spans of trace t: a root and its children, three attributes each.
func otlpBody(t uint64, n int) []byte {
	tid := make([]byte, 16)
	binary.BigEndian.PutUint64(tid, t)
	str := func(s string) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
	}
	ss := &tracepb.ScopeSpans{}
	now := uint64(time.Now().UnixNano())
	for i := range n {
		sid := make([]byte, 8)
		binary.BigEndian.PutUint64(sid, uint64(i+1))
		sp := &tracepb.Span{TraceId: tid, SpanId: sid, Name: fmt.Sprintf("span-%d", i), StartTimeUnixNano: now + uint64(i)*1000,
			EndTimeUnixNano: now + uint64(i)*1000 + 500, Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK},
			Attributes: []*commonpb.KeyValue{{Key: "mlflow.traceRequestId", Value: str(fmt.Sprintf("tr-%x", tid))},
				{Key: "mlflow.spanType", Value: str("LLM")}, {Key: "mlflow.spanInputs", Value: str(`{"q": "what is 2+2?"}`)}}}
		if i > 0 {
			sp.ParentSpanId = []byte{0, 0, 0, 0, 0, 0, 0, 1}
		}
		ss.Spans = append(ss.Spans, sp)
	}
	body, err := proto.Marshal(&tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{ss}}}})
	must(err)
	return body
}
