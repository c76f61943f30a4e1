package live

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dawn-ml/dawn/data"
	"github.com/dawn-ml/dawn/internal/shareddata"
	"github.com/dawn-ml/dawn/recommend"
)

// movieLensServer serves implicit ALS (64 factors) trained on all of
// ml-latest-small.
func movieLensServer(b testing.TB) (*Server, *httptest.Server) {
	dir := shareddata.Require(b, "movielens-latest-small")
	cols := recommend.Columns{User: "userId", Item: "movieId"}
	x, err := recommend.Read(filepath.Join(dir, "ratings.csv"), cols, data.Options{})
	if err != nil {
		b.Fatal(err)
	}
	m, err := recommend.FitColumns(x, recommend.Params{Algorithm: "als"}, false, cols)
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(m, Options{LogPath: filepath.Join(b.TempDir(), "log.csv")})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	b.Cleanup(func() { ts.Close(); s.Close() })
	return s, ts
}

// BenchmarkRecommend32Clients: 32 concurrent clients over loopback HTTP
// (keep-alive) asking /recommend k=10 for random users; reports the p50 and
// p99 latency of the requests.
func BenchmarkRecommend32Clients(b *testing.B) {
	_, ts := movieLensServer(b)
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	cl := &http.Client{Transport: tr}
	const clients, perClient = 32, 200
	var lat []time.Duration
	cpu0 := processCPU()
	for b.Loop() {
		var mu sync.Mutex
		var wg sync.WaitGroup
		lat = lat[:0]
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				mine := make([]time.Duration, 0, perClient)
				for i := 0; i < perClient; i++ {
					body := fmt.Sprintf(`{"user": "%d", "k": 10}`, 1+(c*perClient+i)%610)
					t0 := time.Now()
					resp, err := cl.Post(ts.URL+"/recommend", "application/json", strings.NewReader(body))
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					mine = append(mine, time.Since(t0))
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			}()
		}
		wg.Wait()
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	// CPU of the whole process (server and clients) per request: the
	// figure that sets latency when 32 clients share two cores.
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N*clients*perClient)/1000, "cpu-us/req")
}

// BenchmarkClickToRecommend is the time from posting a click (logged with
// fsync, folded in) to the answer of the same user's next /recommend.
func BenchmarkClickToRecommend(b *testing.B) {
	_, ts := movieLensServer(b)
	n := 0
	for b.Loop() {
		n++
		u := 1 + n%610
		r1, err := http.Post(ts.URL+"/interactions", "application/json", strings.NewReader(fmt.Sprintf(`{"user": "%d", "item": "%d"}`, u, 1+n%500)))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, r1.Body)
		r1.Body.Close()
		r2, err := http.Post(ts.URL+"/recommend", "application/json", strings.NewReader(fmt.Sprintf(`{"user": "%d", "k": 10}`, u)))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, r2.Body)
		r2.Body.Close()
	}
}

// BenchmarkIndexScan is the exact top-10 index scan alone for every
// ml-latest-small user, seen items excluded, as /recommend runs it; it
// reports the positions scanned before the norm bound ends the scan and
// the full (float64) dot products per query (the rest are pruned).
func BenchmarkIndexScan(b *testing.B) {
	s, _ := movieLensServer(b)
	sn := s.cur.Load()
	m := sn.m
	var h recommend.TopHeap
	full, scanned, queries := 0, 0, 0
	cpu0 := processCPU()
	for b.Loop() {
		for u := 0; u < m.Seen.Rows; u++ {
			items, _ := m.Seen.Row(u)
			_, st := sn.index.TopKExcluding(m.UserVector(u), 10, &h, items)
			full += st.Exact
			scanned += st.Scanned
			queries++
		}
	}
	b.ReportMetric(float64(full)/float64(queries), "full-dots/query")
	b.ReportMetric(float64(scanned)/float64(queries), "scanned/query")
	b.ReportMetric(float64(m.NItems()), "items")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(queries)/1000, "us/query")
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(queries)/1000, "cpu-us/query")
}
