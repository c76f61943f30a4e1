// Command loadgen is a closed-loop load generator for MLflow-protocol
// scoring servers (dawn serve, mlflow models serve): C concurrent clients
// each send a request, wait for the answer, and send the next, for a fixed
// duration. Requests carry R rows of a CSV column as dataframe_split. It
// prints requests/s, rows/s and latency percentiles as JSON.
//
//	go run ./bench/serve/loadgen -url http://127.0.0.1:5001 -data test.csv -column text -clients 32 -rows 1 -duration 10s
package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

type result struct {
	URL        string  `json:"url"`
	Clients    int     `json:"clients"`
	RowsPerReq int     `json:"rows_per_request"`
	Seconds    float64 `json:"seconds"`
	Requests   int64   `json:"requests"`
	Errors     int64   `json:"errors"`
	ReqPerSec  float64 `json:"requests_per_second"`
	RowsPerSec float64 `json:"rows_per_second"`
	P50Millis  float64 `json:"p50_ms"`
	P90Millis  float64 `json:"p90_ms"`
	P99Millis  float64 `json:"p99_ms"`
	MaxMillis  float64 `json:"max_ms"`
	FirstError string  `json:"first_error,omitempty"`
}

func main() {
	url := flag.String("url", "http://127.0.0.1:5001", "server base URL")
	file := flag.String("data", "", "CSV file with the input column")
	column := flag.String("column", "text", "input column")
	clients := flag.Int("clients", 32, "concurrent clients")
	rows := flag.Int("rows", 1, "rows per request")
	dur := flag.Duration("duration", 10*time.Second, "how long to run")
	warm := flag.Duration("warmup", time.Second, "unmeasured warm-up")
	flag.Parse()
	if err := run(*url, *file, *column, *clients, *rows, *dur, *warm); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func bodies(file, column string, rows int) ([][]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) < 2 {
		return nil, fmt.Errorf("%s: no rows", file)
	}
	col := slices.Index(recs[0], column)
	if col < 0 {
		return nil, fmt.Errorf("%s: no column %q", file, column)
	}
	var texts []string
	for _, r := range recs[1:] {
		texts = append(texts, r[col])
	}
	// Distinct bodies cycling through the texts: one per text (up to 256)
	// for single rows, 16 for larger requests.
	nb := min(256, len(texts))
	if rows > 1 {
		nb = 16
	}
	var out [][]byte
	next := 0
	for b := 0; b < nb; b++ {
		data := make([][]string, rows)
		for i := range data {
			data[i] = []string{texts[next%len(texts)]}
			next++
		}
		body, err := json.Marshal(map[string]any{"dataframe_split": map[string]any{"columns": []string{column}, "data": data}})
		if err != nil {
			return nil, err
		}
		out = append(out, body)
	}
	return out, nil
}

func run(url, file, column string, clients, rows int, dur, warm time.Duration) error {
	bs, err := bodies(file, column, rows)
	if err != nil {
		return err
	}
	tr := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var measuring atomic.Bool
	var stop atomic.Bool
	var reqs, errs atomic.Int64
	var firstErr atomic.Value
	lats := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			i := c
			for !stop.Load() {
				body := bs[i%len(bs)]
				i++
				t0 := time.Now()
				resp, err := hc.Post(url+"/invocations", "application/json", bytes.NewReader(body))
				ok := err == nil
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					ok = err == nil && resp.StatusCode == 200
					if !ok && err == nil {
						err = fmt.Errorf("HTTP %d", resp.StatusCode)
					}
				}
				d := time.Since(t0)
				if !measuring.Load() {
					continue
				}
				reqs.Add(1)
				if !ok {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				lats[c] = append(lats[c], d)
			}
		}()
	}
	time.Sleep(warm)
	measuring.Store(true)
	start := time.Now()
	time.Sleep(dur)
	measuring.Store(false)
	elapsed := time.Since(start)
	stop.Store(true)
	wg.Wait()
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds()) / 1000
	}
	r := result{URL: url, Clients: clients, RowsPerReq: rows, Seconds: elapsed.Seconds(), Requests: reqs.Load(), Errors: errs.Load(),
		ReqPerSec: float64(reqs.Load()) / elapsed.Seconds(), RowsPerSec: float64(reqs.Load()-errs.Load()) * float64(rows) / elapsed.Seconds(),
		P50Millis: pct(0.50), P90Millis: pct(0.90), P99Millis: pct(0.99), MaxMillis: pct(1)}
	if e, ok := firstErr.Load().(string); ok {
		r.FirstError = e
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
