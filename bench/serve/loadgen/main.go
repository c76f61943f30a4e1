// Command loadgen is a closed-loop load generator for MLflow-protocol
// scoring servers (dawn serve, mlflow models serve): C concurrent clients
// each send a request, wait for the answer, and send the next, for a fixed
// duration. Requests carry R rows of a CSV column as dataframe_split. It
// prints requests/s, rows/s and latency percentiles as JSON.
//
//	go run ./bench/serve/loadgen -url http://127.0.0.1:5001 -data test.csv -column text -clients 32 -rows 1 -duration 10s
//
// It shares the machine with the server it measures, so by default each
// client speaks HTTP/1.1 itself over one keep-alive connection: the
// request's bytes are built once, written in one call, and the response's
// status line and headers are parsed just enough to read the body
// (Content-Length or chunked) before the next request. A request's latency
// is from its write to the last byte of its response. -client nethttp uses
// net/http's client instead, which costs about as much CPU per request as
// the server.
package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
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
	client := flag.String("client", "raw", "HTTP client: raw (this program's HTTP/1.1, cheapest) or nethttp (net/http's)")
	cpuprofile := flag.String("cpuprofile", "", "write the load generator's CPU profile to `file`")
	rate := flag.Float64("rate", 0, "offered load in requests/s over all clients, each on a fixed schedule, latency timed from the scheduled send (0: closed loop, as fast as answers come)")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer f.Close()
	}
	err := run(*url, *file, *column, *client, *clients, *rows, *dur, *warm, *rate)
	pprof.StopCPUProfile()
	if err != nil {
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

// poster sends one request body and waits for the whole response.
type poster interface {
	post(body int) error
}

func run(base, file, column, client string, clients, rows int, dur, warm time.Duration, rate float64) error {
	bs, err := bodies(file, column, rows)
	if err != nil {
		return err
	}
	var newPoster func() poster
	switch client {
	case "raw":
		u, err := url.Parse(base)
		if err != nil || u.Scheme != "http" || u.Host == "" {
			return fmt.Errorf("-url %q: want http://HOST:PORT (the raw client speaks plain HTTP/1.1)", base)
		}
		addr := u.Host
		if u.Port() == "" {
			addr = net.JoinHostPort(u.Hostname(), "80")
		}
		reqs := make([][]byte, len(bs))
		for i, b := range bs {
			reqs[i] = append(fmt.Appendf(nil, "POST %s/invocations HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
				u.Path, u.Host, len(b)), b...)
		}
		newPoster = func() poster { return &rawClient{addr: addr, reqs: reqs} }
	case "nethttp":
		tr := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
		hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
		newPoster = func() poster { return &netClient{hc: hc, url: base + "/invocations", bodies: bs} }
	default:
		return fmt.Errorf("-client %q: want raw or nethttp", client)
	}
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
			p := newPoster()
			lats[c] = make([]time.Duration, 0, 1<<16)
			i := c
			// With -rate, client c sends every clients/rate seconds, offset
			// so the clients interleave; a late answer delays the next send
			// but not the schedule, and each latency counts from the
			// scheduled time (no coordinated omission).
			var interval time.Duration
			var next time.Time
			if rate > 0 {
				interval = time.Duration(float64(time.Second) * float64(clients) / rate)
				next = time.Now().Add(interval * time.Duration(c) / time.Duration(clients))
			}
			for !stop.Load() {
				t0 := time.Now()
				if rate > 0 {
					if d := time.Until(next); d > 0 {
						time.Sleep(d)
					}
					t0, next = next, next.Add(interval)
				}
				err := p.post(i % len(bs))
				d := time.Since(t0)
				i++
				if !measuring.Load() {
					continue
				}
				reqs.Add(1)
				if err != nil {
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
	r := result{URL: base, Clients: clients, RowsPerReq: rows, Seconds: elapsed.Seconds(), Requests: reqs.Load(), Errors: errs.Load(),
		ReqPerSec: float64(reqs.Load()) / elapsed.Seconds(), RowsPerSec: float64(reqs.Load()-errs.Load()) * float64(rows) / elapsed.Seconds(),
		P50Millis: pct(0.50), P90Millis: pct(0.90), P99Millis: pct(0.99), MaxMillis: pct(1)}
	if e, ok := firstErr.Load().(string); ok {
		r.FirstError = e
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

type netClient struct {
	hc     *http.Client
	url    string
	bodies [][]byte
}

func (c *netClient) post(i int) error {
	resp, err := c.hc.Post(c.url, "application/json", bytes.NewReader(c.bodies[i]))
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return err
}

// rawClient is one HTTP/1.1 keep-alive connection, redialed after an error
// or a "Connection: close".
type rawClient struct {
	addr string
	reqs [][]byte // whole requests, headers and body
	conn net.Conn
	r    *bufio.Reader
}

func (c *rawClient) post(i int) error {
	if c.conn == nil {
		conn, err := net.DialTimeout("tcp", c.addr, 10*time.Second)
		if err != nil {
			return err
		}
		c.conn = conn
		if c.r == nil {
			c.r = bufio.NewReaderSize(conn, 64<<10)
		} else {
			c.r.Reset(conn)
		}
	}
	c.conn.SetDeadline(time.Now().Add(30 * time.Second))
	status, keep, err := c.roundTrip(c.reqs[i])
	if err != nil || !keep {
		c.conn.Close()
		c.conn = nil
	}
	if err == nil && status != 200 {
		err = fmt.Errorf("HTTP %d", status)
	}
	return err
}

var errMalformed = errors.New("malformed HTTP response")

// roundTrip writes req and reads the response, discarding its body. It
// returns the status and whether the connection may be reused.
func (c *rawClient) roundTrip(req []byte) (status int, keep bool, err error) {
	if _, err := c.conn.Write(req); err != nil {
		return 0, false, err
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, false, fmt.Errorf("%w: status line %q", errMalformed, line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, fmt.Errorf("%w: status line %q", errMalformed, line)
	}
	keep = line[7] == '1' // HTTP/1.0 closes by default
	length, chunked := -1, false
	for {
		h, err := c.r.ReadSlice('\n')
		if err != nil {
			return 0, false, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		k, v, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return 0, false, fmt.Errorf("%w: header %q", errMalformed, h)
		}
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(v)); err != nil || length < 0 {
				return 0, false, fmt.Errorf("%w: header %q", errMalformed, h)
			}
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(v, []byte("chunked"))
		case bytes.EqualFold(k, []byte("Connection")):
			if bytes.EqualFold(v, []byte("close")) {
				keep = false
			} else if bytes.EqualFold(v, []byte("keep-alive")) {
				keep = true
			}
		}
	}
	switch {
	case chunked:
		err = c.discardChunked()
	case length >= 0:
		_, err = c.r.Discard(length)
	default: // the body runs to the end of the connection
		_, err = io.Copy(io.Discard, c.r)
		keep = false
	}
	if err != nil {
		return 0, false, err
	}
	return status, keep, nil
}

func (c *rawClient) discardChunked() error {
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseUint(string(bytes.TrimSpace(size)), 16, 63)
		if err != nil {
			return fmt.Errorf("%w: chunk size %q", errMalformed, line)
		}
		if n == 0 { // trailers, then a blank line
			for {
				t, err := c.r.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(bytes.TrimRight(t, "\r\n")) == 0 {
					return nil
				}
			}
		}
		if _, err := c.r.Discard(int(n)); err != nil {
			return err
		}
		if crlf, err := c.r.ReadSlice('\n'); err != nil || len(bytes.TrimRight(crlf, "\r\n")) != 0 {
			return fmt.Errorf("%w: no CRLF after a chunk", errMalformed)
		}
	}
}
