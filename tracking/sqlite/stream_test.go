package sqlite_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/dawn-ml/dawn/tracking"
	"github.com/dawn-ml/dawn/tracking/sqlite"
	"github.com/dawn-ml/dawn/tracking/sqlstore"
)

// historyPoints is the size of the history the streaming test reads.
const historyPoints = 1_000_000

// TestHistoryStreams: metrics/get-history of 1,000,000 points streams. The
// first byte arrives within 100 ms of the request, and the process heap
// never grows by more than 10 MB while the whole answer (about 60 MB of
// JSON) goes out; every point arrives, in step order. (Before, an
// http.TimeoutHandler buffered the whole answer: first byte after 4.4 s
// for 100,000 points, and a 503 after 60 s for 1,000,000.)
func TestHistoryStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: fills a store with 1,000,000 metric points (about 15 s)")
	}
	ctx := t.Context()
	store, err := sqlite.Open(ctx, "sqlite:///"+filepath.Join(t.TempDir(), "h.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	exp, err := store.CreateExperiment(ctx, "stream", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	run, err := store.CreateRun(ctx, tracking.NewRun{ExperimentID: exp, StartTime: 1})
	if err != nil {
		t.Fatal(err)
	}
	batch := make([]tracking.Metric, 1000)
	for i := 0; i < historyPoints; i += len(batch) {
		for j := range batch {
			batch[j] = tracking.Metric{Key: "loss", Value: tracking.Float(float64(i+j) / 7), Timestamp: tracking.Int64(1000 + i + j), Step: tracking.Int64(i + j)}
		}
		if err := store.LogBatch(ctx, run.Info.RunID, batch, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(tracking.NewHandler(tracking.Options{Store: store}))
	defer srv.Close()

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	start := time.Now()
	res, err := http.Get(srv.URL + "/api/2.0/mlflow/metrics/get-history?" + url.Values{"run_id": {run.Info.RunID}, "metric_key": {"loss"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	if _, err := br.Peek(1); err != nil {
		t.Fatal(err)
	}
	first := time.Since(start)
	var peak uint64
	sample := func() {
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc)
	}
	// Decode as a stream, sampling the heap as the answer goes by.
	dec := json.NewDecoder(br)
	for _, want := range []string{"{", "metrics", "["} {
		tok, err := dec.Token()
		if err != nil || tokString(tok) != want {
			t.Fatalf("answer starts with %v (%v), want %s", tok, err, want)
		}
	}
	n := 0
	for dec.More() {
		var m tracking.Metric
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("point %d: %v", n, err)
		}
		if int(m.Step) != n || m.Key != "loss" {
			t.Fatalf("point %d: %+v", n, m)
		}
		n++
		if n%50_000 == 0 {
			sample()
		}
	}
	io.Copy(io.Discard, br)
	total := time.Since(start)
	sample()
	if n != historyPoints {
		t.Fatalf("%d points, want %d", n, historyPoints)
	}
	growth := int64(peak) - int64(base)
	t.Logf("first byte after %v, all %d points after %v, heap growth %.1f MB", first, n, total, float64(growth)/(1<<20))
	if first > 100*time.Millisecond {
		t.Errorf("first byte after %v, want <= 100ms", first)
	}
	if growth > 10<<20 {
		t.Errorf("heap grew by %.1f MB, want <= 10 MB", float64(growth)/(1<<20))
	}
}

func tokString(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		return string(v)
	case string:
		return v
	}
	return ""
}
