package cascade

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/dawn-ml/dawn/serve"
)

func textBatch(texts ...string) arrow.RecordBatch {
	sch := arrow.NewSchema([]arrow.Field{{Name: "text", Type: arrow.BinaryTypes.String}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sch)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues(texts, nil)
	return b.NewRecordBatch()
}

// The client against a real dawn scoring server: labels, probabilities and
// class order come through, and repeated rows are answered from the cache.
func TestClientAgainstServe(t *testing.T) {
	ref := &keywordModel{word: "buy"}
	s, err := serve.New(ref, "1", serve.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	defer s.Close()
	c := &Client{URL: hs.URL, BatchRows: 2, Concurrency: 2}
	rec := textBatch("buy now", "hello", "buy buy", "hi", "hello", "x")
	defer rec.Release()
	p, err := c.Predict(t.Context(), rec)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(p.Classes, ",") != "ham,spam" {
		t.Fatalf("classes %v", p.Classes)
	}
	wantLabels := []int{1, 0, 1, 0, 0, 0}
	for i, l := range wantLabels {
		if p.Labels[i] != l {
			t.Errorf("row %d label %d, want %d", i, p.Labels[i], l)
		}
		want := ref.prob(rec.Column(0).(*array.String).Value(i))
		if got := p.Probs[2*i+1]; got != want {
			t.Errorf("row %d p(spam) %v, want %v", i, got, want)
		}
	}
	// 5 distinct rows in chunks of 2: 3 requests.
	if st := c.Stats(); st.Rows != 5 || st.Requests != 3 {
		t.Errorf("stats %+v, want 5 rows in 3 requests", st)
	}
	if _, err := c.Predict(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Requests != 3 {
		t.Errorf("second pass made requests: %+v", st)
	}
}

func TestClientRetriesTransientErrors(t *testing.T) {
	var calls atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			w.WriteHeader(500)
			io.WriteString(w, `{"error_code":"INTERNAL_ERROR","message":"boom"}`)
		case 2:
			w.WriteHeader(503)
		default:
			io.WriteString(w, `{"predictions":[{"label":"b","prob_a":0.25,"prob_b":0.75}]}`)
		}
	}))
	defer hs.Close()
	c := &Client{URL: hs.URL, Backoff: time.Millisecond}
	rec := textBatch("q")
	defer rec.Release()
	p, err := c.Predict(t.Context(), rec)
	if err != nil {
		t.Fatal(err)
	}
	if p.Labels[0] != 1 || p.Probs[1] != 0.75 || calls.Load() != 3 {
		t.Errorf("got %+v after %d calls", p, calls.Load())
	}
}

func TestClientFailsClearlyNeverHangs(t *testing.T) {
	hang := make(chan struct{})
	defer close(hang)
	cases := []struct {
		name    string
		handler http.HandlerFunc
		calls   int64
		errHas  []string
	}{
		{"always 500", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(500)
			io.WriteString(w, `{"error_code":"INTERNAL_ERROR","message":"model exploded"}`)
		}, 3, []string{"gave up after 3 attempts", "HTTP 500", "model exploded"}},
		{"hangs", func(w http.ResponseWriter, r *http.Request) {
			io.ReadAll(r.Body) // so the server notices the client hanging up
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		}, 3, []string{"gave up after 3 attempts", "no answer within 50ms"}},
		{"400 is not retried", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(400)
			io.WriteString(w, `{"error_code":"INVALID_PARAMETER_VALUE","message":"Model is missing inputs [\"body\"]"}`)
		}, 1, []string{"HTTP 400", "INVALID_PARAMETER_VALUE", "missing inputs"}},
		{"not MLflow's answer", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"result": 1}`)
		}, 1, []string{"0 predictions for 1 rows"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int64
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				tc.handler(w, r)
			}))
			defer hs.Close()
			c := &Client{URL: hs.URL, Timeout: 50 * time.Millisecond, Retries: 2, Backoff: time.Millisecond}
			rec := textBatch("q")
			defer rec.Release()
			start := time.Now()
			_, err := c.Predict(t.Context(), rec)
			if err == nil {
				t.Fatal("no error")
			}
			if time.Since(start) > 2*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
			for _, s := range append(tc.errHas, hs.URL) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			if calls.Load() != tc.calls {
				t.Errorf("%d calls, want %d", calls.Load(), tc.calls)
			}
		})
	}
}

func TestClientBoundsConcurrency(t *testing.T) {
	var cur, peak atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(10 * time.Millisecond)
		cur.Add(-1)
		body, _ := io.ReadAll(r.Body)
		rows := strings.Count(string(body), `["`) - 1 // less the columns list
		io.WriteString(w, `{"predictions":[`+strings.TrimSuffix(strings.Repeat(`"a",`, rows), ",")+`]}`)
	}))
	defer hs.Close()
	c := &Client{URL: hs.URL, Concurrency: 3, BatchRows: 1}
	texts := make([]string, 20)
	for i := range texts {
		texts[i] = strings.Repeat("x", i+1)
	}
	rec := textBatch(texts...)
	defer rec.Release()
	if _, err := c.Predict(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	if peak.Load() > 3 || peak.Load() < 2 {
		t.Errorf("peak concurrency %d, want 2..3", peak.Load())
	}
}

func TestClientHonoursCancel(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		<-r.Context().Done()
	}))
	defer hs.Close()
	c := &Client{URL: hs.URL}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	rec := textBatch("q")
	defer rec.Release()
	start := time.Now()
	if _, err := c.Predict(ctx, rec); err == nil || time.Since(start) > time.Second {
		t.Errorf("err %v after %v", err, time.Since(start))
	}
}
