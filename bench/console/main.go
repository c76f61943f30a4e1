// Command consolebench measures dawn's web console at scale. "gen" fills a
// SQLite tracking store through the store API with N runs × P params × M
// metrics in one experiment, plus one run whose metric "loss" has a long
// history (default 1,000,000 points). "measure" serves the console over
// that store in-process and reports the server time of the first runs
// page, of sorting by a metric and of the downsampled chart data; "serve"
// serves it on a port for the browser measurement (browser.js).
//
//	go run ./bench/console gen -db /tmp/console.db -runs 100000
//	go run ./bench/console measure -db /tmp/console.db
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"time"

	"github.com/dawn-ml/dawn/tracking"
	"github.com/dawn-ml/dawn/tracking/sqlite"
	"github.com/dawn-ml/dawn/tracking/sqlstore"
	"github.com/dawn-ml/dawn/web"
)

func main() {
	log.SetFlags(0)
	if len(os.Args) < 2 {
		log.Fatal("usage: consolebench gen|measure|serve [flags]")
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	db := fs.String("db", "console-bench.db", "SQLite store")
	runs := fs.Int("runs", 100_000, "runs to create (gen)")
	params := fs.Int("params", 50, "params per run (gen)")
	metrics := fs.Int("metrics", 20, "metrics per run (gen)")
	points := fs.Int("history", 1_000_000, "points of the long metric history (gen)")
	reps := fs.Int("reps", 5, "repetitions of each measurement; the median is reported (measure)")
	addr := fs.String("addr", "127.0.0.1:0", "address to serve on (serve)")
	fs.Parse(os.Args[2:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	store, err := sqlite.Open(ctx, *db, sqlstore.Options{ArtifactRoot: tracking.ProxyScheme})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	switch os.Args[1] {
	case "gen":
		err = gen(ctx, store, *runs, *params, *metrics, *points)
	case "measure":
		err = measure(ctx, store, *reps)
	case "serve":
		err = serve(ctx, store, *addr)
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		log.Fatal(err)
	}
}

func gen(ctx context.Context, s tracking.Store, runs, params, metrics, points int) error {
	exp, err := s.CreateExperiment(ctx, "scale", "", nil)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Now()
	base := time.Now().Add(-time.Duration(runs) * time.Second).UnixMilli()
	for i := range runs {
		t := base + int64(i)*1000
		r, err := s.CreateRun(ctx, tracking.NewRun{ExperimentID: exp, RunName: "run-" + strconv.Itoa(i), StartTime: t, UserID: "bench"})
		if err != nil {
			return err
		}
		ps := make([]tracking.Param, params)
		for j := range ps {
			ps[j] = tracking.Param{Key: "param_" + strconv.Itoa(j), Value: strconv.Itoa(rng.IntN(100))}
		}
		ms := make([]tracking.Metric, metrics)
		for j := range ms {
			ms[j] = tracking.Metric{Key: "metric_" + strconv.Itoa(j), Value: tracking.Float(rng.Float64()), Timestamp: tracking.Int64(t + 500), Step: 0}
		}
		if err := s.LogBatch(ctx, r.Info.RunID, ms, ps, nil); err != nil {
			return err
		}
		end := t + 900
		if _, err := s.UpdateRun(ctx, r.Info.RunID, tracking.RunUpdate{Status: tracking.StatusFinished, EndTime: &end}); err != nil {
			return err
		}
		if (i+1)%5000 == 0 {
			log.Printf("%d runs, %.0f runs/s", i+1, float64(i+1)/time.Since(start).Seconds())
		}
	}
	log.Printf("%d runs × %d params × %d metrics in %s", runs, params, metrics, time.Since(start).Round(time.Second))
	if points == 0 {
		return nil
	}
	r, err := s.CreateRun(ctx, tracking.NewRun{ExperimentID: exp, RunName: "long-history", StartTime: time.Now().UnixMilli()})
	if err != nil {
		return err
	}
	t0 := time.Now()
	batch := make([]tracking.Metric, 0, tracking.MaxBatchMetrics)
	now := time.Now().UnixMilli()
	for i := range points {
		v := math.Exp(-float64(i)/200000) + 0.05*rng.NormFloat64()
		batch = append(batch, tracking.Metric{Key: "loss", Value: tracking.Float(v), Timestamp: tracking.Int64(now + int64(i)), Step: tracking.Int64(i)})
		if len(batch) == cap(batch) || i == points-1 {
			if err := s.LogBatch(ctx, r.Info.RunID, batch, nil, nil); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	log.Printf("long-history run %s: %d points of loss in %s", r.Info.RunID, points, time.Since(t0).Round(time.Second))
	return nil
}

func handler(s tracking.Store) (http.Handler, error) {
	return web.New(web.Options{Store: s, Version: "bench"})
}

// find returns the experiment and the long-history run.
func find(ctx context.Context, s tracking.Store) (string, string, error) {
	e, err := s.GetExperimentByName(ctx, "scale")
	if err != nil {
		return "", "", err
	}
	q := tracking.RunQuery{ExperimentIDs: []string{e.ExperimentID}}
	q.MaxResults = 1
	q.Filter, _ = tracking.ParseRunFilter("attributes.run_name = 'long-history'")
	runs, _, err := s.SearchRuns(ctx, q)
	if err != nil || len(runs) == 0 {
		return e.ExperimentID, "", err
	}
	return e.ExperimentID, runs[0].Info.RunID, nil
}

func measure(ctx context.Context, s tracking.Store, reps int) error {
	h, err := handler(s)
	if err != nil {
		return err
	}
	exp, long, err := find(ctx, s)
	if err != nil {
		return err
	}
	timeIt := func(path string) (float64, int, error) {
		var ds []float64
		size := 0
		for range reps {
			req := httptest.NewRequest("GET", path, nil)
			rec := httptest.NewRecorder()
			t := time.Now()
			h.ServeHTTP(rec, req)
			ds = append(ds, float64(time.Since(t).Microseconds())/1000)
			if rec.Code != 200 {
				return 0, 0, fmt.Errorf("%s: %d %s", path, rec.Code, rec.Body.String()[:min(300, rec.Body.Len())])
			}
			size = rec.Body.Len()
		}
		sort.Float64s(ds)
		return ds[len(ds)/2], size, nil
	}
	out := map[string]any{}
	for _, m := range []struct{ name, path string }{
		{"first_runs_page_ms", "/experiments/" + exp},
		{"sort_by_metric_desc_ms", "/experiments/" + exp + "?order=" + url.QueryEscape("metrics.metric_3 DESC")},
		{"sort_by_metric_asc_ms", "/experiments/" + exp + "?order=" + url.QueryEscape("metrics.metric_3 ASC")},
		{"filter_metric_ms", "/experiments/" + exp + "?filter=" + url.QueryEscape("metrics.metric_5 > 0.99")},
		{"chart_1M_points_ms", "/data/history?runs=" + long + "&key=loss&points=2000"},
	} {
		if long == "" && m.name == "chart_1M_points_ms" {
			continue
		}
		d, size, err := timeIt(m.path)
		if err != nil {
			return err
		}
		out[m.name] = d
		out[m.name+"_bytes"] = size
	}
	// The store alone: a 100-run page with every key (what runs/search
	// answers) and with the table's projection (6 metric columns and the
	// parent tag), and the picker's keys of the newest 200 runs.
	storeIt := func(fn func() error) (float64, error) {
		var ds []float64
		for range reps {
			t := time.Now()
			if err := fn(); err != nil {
				return 0, err
			}
			ds = append(ds, float64(time.Since(t).Microseconds())/1000)
		}
		sort.Float64s(ds)
		return ds[len(ds)/2], nil
	}
	page := func(p *tracking.Projection) func() error {
		return func() error {
			q := tracking.RunQuery{ExperimentIDs: []string{exp}, Project: p}
			q.MaxResults = 100
			_, _, err := s.SearchRuns(ctx, q)
			return err
		}
	}
	six := &tracking.Projection{Params: []string{}, Tags: []string{"mlflow.parentRunId"}}
	for i := range 6 {
		six.Metrics = append(six.Metrics, "metric_"+strconv.Itoa(i))
	}
	for _, m := range []struct {
		name string
		fn   func() error
	}{
		{"store_page_all_keys_ms", page(nil)},
		{"store_page_projected_ms", page(six)},
		{"store_run_keys_200_runs_ms", func() error { _, err := s.RunKeys(ctx, []string{exp}, 200, 500); return err }},
	} {
		d, err := storeIt(m.fn)
		if err != nil {
			return err
		}
		out[m.name] = d
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func serve(ctx context.Context, s tracking.Store, addr string) error {
	h, err := handler(s)
	if err != nil {
		return err
	}
	exp, long, err := find(ctx, s)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Printf("{\"url\":\"http://%s\",\"experiment\":\"%s\",\"long_run\":\"%s\"}\n", ln.Addr(), exp, long)
	srv := &http.Server{Handler: h}
	go func() { <-ctx.Done(); srv.Close() }()
	err = srv.Serve(ln)
	if err == http.ErrServerClosed {
		return nil
	}
	return err
}
