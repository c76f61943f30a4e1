package tracking

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// hangStore blocks GetExperiment until the request's context ends.
type hangStore struct {
	Store
	cancelled chan struct{}
}

func (h hangStore) GetExperiment(ctx context.Context, id string) (*Experiment, error) {
	<-ctx.Done()
	close(h.cancelled)
	return nil, ctx.Err()
}

// TestRequestDeadline: a handler that never returns becomes a 503 JSON
// error at the deadline, and its context is cancelled.
func TestRequestDeadline(t *testing.T) {
	hs := hangStore{cancelled: make(chan struct{})}
	srv := httptest.NewServer(NewHandler(Options{Store: hs, RequestTimeout: 200 * time.Millisecond}))
	defer srv.Close()
	start := time.Now()
	res, err := http.Get(srv.URL + "/api/2.0/mlflow/experiments/get?experiment_id=1")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]string
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatalf("timeout answer is not JSON: %v", err)
	}
	if res.StatusCode != 503 || body["error_code"] != "TEMPORARILY_UNAVAILABLE" || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("got %d %s %v", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("answer after %v", d)
	}
	select {
	case <-hs.cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("handler context not cancelled")
	}
}
