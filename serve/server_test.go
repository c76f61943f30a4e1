package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/dawn-ml/dawn/model"
)

// spamModel is a fake classifier: p(spam) = 0.9 when the text contains
// "buy", else 0.2, plus 0.01*x when the optional column x is given.
type spamModel struct {
	calls atomic.Int64
	rows  atomic.Int64
	delay time.Duration
	stage bool // report cascade stages: "cheap" for p<0.5, else "reference"
}

func (m *spamModel) Info() *model.Info {
	return &model.Info{Type: "fake", Classes: []string{"ham", "spam"},
		Inputs: []model.Column{{Name: "text", Type: "string"}, {Name: "x", Type: "double", Optional: true}}}
}

func (m *spamModel) Predict(ctx context.Context, rec arrow.RecordBatch) (*model.Prediction, error) {
	m.calls.Add(1)
	m.rows.Add(rec.NumRows())
	if m.delay > 0 {
		time.Sleep(m.delay)
	}
	var text *array.String
	var x *array.Float64
	for i, f := range rec.Schema().Fields() {
		switch f.Name {
		case "text":
			text = rec.Column(i).(*array.String)
		case "x":
			x = rec.Column(i).(*array.Float64)
		}
	}
	if text == nil {
		return nil, fmt.Errorf("fake: no text column")
	}
	n := int(rec.NumRows())
	p := &model.Prediction{Classes: []string{"ham", "spam"}, Probs: make([]float64, 2*n), Labels: make([]int, n)}
	if m.stage {
		p.Stage = make([]string, n)
	}
	for i := 0; i < n; i++ {
		ps := 0.2
		if strings.Contains(text.Value(i), "buy") {
			ps = 0.9
		}
		if x != nil && x.IsValid(i) {
			ps += 0.01 * x.Value(i)
		}
		p.Probs[2*i], p.Probs[2*i+1] = 1-ps, ps
		if ps >= 0.5 {
			p.Labels[i] = 1
		}
		if m.stage {
			p.Stage[i] = "cheap"
			if ps >= 0.5 {
				p.Stage[i] = "reference"
			}
		}
	}
	return p, nil
}

// sumModel is a fake regression model over typed columns.
type sumModel struct{}

func (sumModel) Info() *model.Info {
	return &model.Info{Type: "fake", Inputs: []model.Column{
		{Name: "a", Type: "long"}, {Name: "b", Type: "double"}, {Name: "c", Type: "boolean"}, {Name: "d", Type: "integer"}}}
}

func (sumModel) Predict(ctx context.Context, rec arrow.RecordBatch) (*model.Prediction, error) {
	n := int(rec.NumRows())
	a := rec.Column(0).(*array.Int64)
	b := rec.Column(1).(*array.Float64)
	c := rec.Column(2).(*array.Boolean)
	d := rec.Column(3).(*array.Int32)
	p := &model.Prediction{Values: make([]float64, n)}
	for i := 0; i < n; i++ {
		v := float64(a.Value(i)) + b.Value(i) + float64(d.Value(i))
		if c.Value(i) {
			v += 100
		}
		p.Values[i] = v
	}
	return p, nil
}

func newTestServer(t *testing.T, m model.Model, opt Options) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(m, "1", opt)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() { hs.Close(); s.Close() })
	return s, hs
}

func post(t *testing.T, url, ct, body string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/invocations", strings.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

const (
	hamRow  = `{"label":"ham","prob_ham":0.8,"prob_spam":0.2}`
	spamRow = `{"label":"spam","prob_ham":0.09999999999999998,"prob_spam":0.9}`
)

func TestInvocationsInputForms(t *testing.T) {
	_, hs := newTestServer(t, &spamModel{}, Options{})
	want2 := `{"predictions":[` + spamRow + `,` + hamRow + `]}` + "\n"
	cases := []struct {
		name, ct, body, want string
	}{
		{"dataframe_split", "application/json", `{"dataframe_split": {"columns": ["text"], "data": [["buy now"], ["hello"]]}}`, want2},
		{"dataframe_split with index and extra column", "application/json", `{"dataframe_split": {"index": [7, 8], "columns": ["id", "text"], "data": [[1, "buy now"], [2, "hello"]]}}`, want2},
		{"dataframe_split positional", "application/json", `{"dataframe_split": {"data": [["buy now", null], ["hello", null]]}}`, want2},
		{"dataframe_records", "application/json", `{"dataframe_records": [{"text": "buy now"}, {"text": "hello"}]}`, want2},
		{"instances records", "application/json", `{"instances": [{"text": "buy now"}, {"text": "hello"}]}`, want2},
		{"instances columns", "application/json", `{"instances": {"text": ["buy now", "hello"]}}`, want2},
		{"instances rows", "application/json", `{"instances": [["buy now", null], ["hello", null]]}`, want2},
		{"inputs columns", "application/json", `{"inputs": {"text": ["buy now", "hello"]}}`, want2},
		{"inputs records", "application/json", `{"inputs": [{"text": "buy now"}, {"text": "hello"}]}`, want2},
		{"inputs single value per column", "application/json", `{"inputs": {"text": "hello"}}`, `{"predictions":[` + hamRow + `]}` + "\n"},
		{"params", "application/json", `{"dataframe_records": [{"text": "buy now"}, {"text": "hello"}], "params": {"temperature": 0.5}}`, want2},
		{"charset", "application/json; charset=UTF-8", `{"inputs": {"text": ["buy now", "hello"]}}`, want2},
		{"csv", "text/csv", "text\nbuy now\nhello\n", want2},
		{"csv quoted and extra column", "text/csv", "id,text\n1,\"buy, now\"\n2,hello\n", want2},
		{"optional column given", "application/json", `{"dataframe_records": [{"text": "hello", "x": 40}]}`, `{"predictions":[{"label":"spam","prob_ham":0.3999999999999999,"prob_spam":0.6000000000000001}]}` + "\n"},
		{"optional column in csv, empty is null", "text/csv", "text,x\nhello,\nhello,40\n", `{"predictions":[` + hamRow + `,{"label":"spam","prob_ham":0.3999999999999999,"prob_spam":0.6000000000000001}]}` + "\n"},
		{"empty records", "application/json", `{"dataframe_records": []}`, `{"predictions":[]}` + "\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body, h := post(t, hs.URL, c.ct, c.body)
			if code != 200 {
				t.Fatalf("status %d: %s", code, body)
			}
			if body != c.want {
				t.Errorf("body\n got %s\nwant %s", body, c.want)
			}
			if h.Get("Content-Type") != "application/json" {
				t.Errorf("content type %q", h.Get("Content-Type"))
			}
			var v struct{ Predictions []map[string]any }
			if err := json.Unmarshal([]byte(body), &v); err != nil {
				t.Errorf("response is not JSON: %v", err)
			}
		})
	}
}

func TestInvocationsTypedColumns(t *testing.T) {
	_, hs := newTestServer(t, sumModel{}, Options{})
	cases := []struct{ name, ct, body, want string }{
		{"records", "application/json", `{"dataframe_records": [{"a": 1, "b": 0.5, "c": true, "d": 2}, {"a": 3.0, "b": 1, "c": false, "d": -1}]}`, `{"predictions":[103.5,3.0]}` + "\n"},
		{"csv", "text/csv", "d,c,b,a\n2,true,0.5,1\n-1,False,1,3\n", `{"predictions":[103.5,3.0]}` + "\n"},
		{"big long", "application/json", `{"inputs": {"a": [9007199254740993], "b": [0], "c": [false], "d": [0]}}`, `{"predictions":[9007199254740992.0]}` + "\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body, _ := post(t, hs.URL, c.ct, c.body)
			if code != 200 || body != c.want {
				t.Errorf("got %d %s, want 200 %s", code, body, c.want)
			}
		})
	}
}

func TestInvocationsErrors(t *testing.T) {
	_, hs := newTestServer(t, &spamModel{}, Options{})
	_, hsTyped := newTestServer(t, sumModel{}, Options{})
	cases := []struct {
		name, url, ct, body string
		status              int
		code                string
		msgHas              []string
	}{
		{"unsupported content type", hs.URL, "text/plain", "hello", 415, "BAD_REQUEST", []string{"only supports the following content types", "text/plain"}},
		{"no content type", hs.URL, "", `{"inputs": ["x"]}`, 415, "BAD_REQUEST", []string{"content types"}},
		{"not utf-8", hs.URL, "application/json; charset=latin-1", `{}`, 415, "BAD_REQUEST", []string{"UTF-8"}},
		{"unknown content type parameter", hs.URL, "application/json; format=pandas-split", `{}`, 415, "BAD_REQUEST", []string{"format"}},
		{"invalid json", hs.URL, "application/json", `{"inputs": [`, 400, "BAD_REQUEST", []string{"Failed to parse input from JSON"}},
		{"empty body", hs.URL, "application/json", ``, 400, "BAD_REQUEST", []string{"exactly one of the input fields"}},
		{"a list", hs.URL, "application/json", `[{"text": "a"}]`, 400, "BAD_REQUEST", []string{"Received a list"}},
		{"a string", hs.URL, "application/json", `"hello"`, 400, "BAD_REQUEST", []string{"exactly one of the input fields"}},
		{"no input field", hs.URL, "application/json", `{"data": [["a"]]}`, 400, "BAD_REQUEST", []string{"exactly one of the input fields", "'data'"}},
		{"two input fields", hs.URL, "application/json", `{"inputs": ["a"], "instances": ["b"]}`, 400, "BAD_REQUEST", []string{"'inputs', 'instances'"}},
		{"params not an object", hs.URL, "application/json", `{"inputs": ["a"], "params": [1]}`, 400, "BAD_REQUEST", []string{"params"}},
		{"split without data", hs.URL, "application/json", `{"dataframe_split": {"columns": ["text"]}}`, 400, "BAD_REQUEST", []string{"data"}},
		{"split ragged row", hs.URL, "application/json", `{"dataframe_split": {"columns": ["text"], "data": [["a", "b"]]}}`, 400, "BAD_REQUEST", []string{"row 0 has 2 values for 1 columns"}},
		{"records not a list", hs.URL, "application/json", `{"dataframe_records": {"text": "a"}}`, 400, "BAD_REQUEST", []string{"list of records"}},
		{"columns of unequal length", hs.URL, "application/json", `{"inputs": {"text": ["a", "b"], "x": [1]}}`, 400, "BAD_REQUEST", []string{"same length"}},
		{"missing column", hs.URL, "application/json", `{"dataframe_records": [{"txt": "a"}]}`, 400, "INVALID_PARAMETER_VALUE", []string{`missing inputs ["text"]`, `"txt"`}},
		{"missing column csv", hs.URL, "text/csv", "body\nhello\n", 400, "INVALID_PARAMETER_VALUE", []string{`missing inputs ["text"]`}},
		{"wrong type", hs.URL, "application/json", `{"dataframe_records": [{"text": "a"}, {"text": 5}]}`, 400, "INVALID_PARAMETER_VALUE", []string{`column "text" row 1: expected string, got number`}},
		{"null in required column", hs.URL, "application/json", `{"inputs": {"text": ["a", null]}}`, 400, "INVALID_PARAMETER_VALUE", []string{`column "text" row 1: missing value`}},
		{"double given a string", hs.URL, "application/json", `{"dataframe_records": [{"text": "a", "x": "big"}]}`, 400, "INVALID_PARAMETER_VALUE", []string{`column "x" row 0: expected double, got string`}},
		{"long given a fraction", hsTyped.URL, "application/json", `{"dataframe_records": [{"a": 1.5, "b": 0, "c": true, "d": 1}]}`, 400, "INVALID_PARAMETER_VALUE", []string{`column "a" row 0: expected long`}},
		{"integer out of range", hsTyped.URL, "application/json", `{"dataframe_records": [{"a": 1, "b": 0, "c": true, "d": 3000000000}]}`, 400, "INVALID_PARAMETER_VALUE", []string{`column "d"`, "out of range"}},
		{"boolean in csv", hsTyped.URL, "text/csv", "a,b,c,d\n1,2,maybe,3\n", 400, "INVALID_PARAMETER_VALUE", []string{`column "c" row 1: expected boolean`}},
		{"csv bad quoting", hs.URL, "text/csv", "text\n\"unterminated\n", 400, "BAD_REQUEST", []string{"CSV"}},
		{"csv empty", hs.URL, "text/csv", "", 400, "BAD_REQUEST", []string{"empty"}},
		{"plain values for a two-column model", hsTyped.URL, "application/json", `{"inputs": [1, 2]}`, 400, "BAD_REQUEST", []string{"one required input column"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body, h := post(t, c.url, c.ct, c.body)
			if code != c.status {
				t.Fatalf("status %d, want %d: %s", code, c.status, body)
			}
			if h.Get("Content-Type") != "application/json" {
				t.Errorf("content type %q", h.Get("Content-Type"))
			}
			var e struct {
				ErrorCode string `json:"error_code"`
				Message   string `json:"message"`
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("error body is not JSON: %v: %s", err, body)
			}
			if e.ErrorCode != c.code {
				t.Errorf("error_code %q, want %q (%s)", e.ErrorCode, c.code, e.Message)
			}
			for _, s := range c.msgHas {
				if !strings.Contains(e.Message, s) {
					t.Errorf("message %q lacks %q", e.Message, s)
				}
			}
		})
	}
}

func TestPingHealthVersionMethods(t *testing.T) {
	_, hs := newTestServer(t, &spamModel{}, Options{Version: "0.3.1"})
	for _, c := range []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/ping", 200, "\n"},
		{"GET", "/health", 200, "\n"},
		{"GET", "/version", 200, "0.3.1"},
		{"GET", "/invocations", 405, ""},
		{"POST", "/ping", 405, ""},
		{"GET", "/nope", 404, ""},
	} {
		t.Run(c.method+c.path, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, hs.URL+c.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.status)
			}
			if c.body != "" && string(b) != c.body {
				t.Errorf("body %q, want %q", b, c.body)
			}
		})
	}
}

func TestMicroBatchingConcurrentClients(t *testing.T) {
	m := &spamModel{delay: 2 * time.Millisecond}
	_, hs := newTestServer(t, m, Options{Workers: 1, MaxBatchRows: 64})
	const clients, each = 16, 10
	var wg sync.WaitGroup
	var bad atomic.Int64
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				text, want := "hello", hamRow
				if (c+i)%2 == 0 {
					text, want = "buy it", spamRow
				}
				code, body, _ := post(t, hs.URL, "application/json", `{"inputs": ["`+text+`"]}`)
				if code != 200 || body != `{"predictions":[`+want+"]}\n" {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d wrong answers", bad.Load())
	}
	if m.rows.Load() != clients*each {
		t.Fatalf("scored %d rows, want %d", m.rows.Load(), clients*each)
	}
	// One worker with a 2 ms model and 16 clients must batch: without
	// batching it would take one call per request.
	if calls := m.calls.Load(); calls > clients*each/2 {
		t.Errorf("%d Predict calls for %d requests: no micro-batching", calls, clients*each)
	}
}

func TestMaxWaitBatchesSequentialArrivals(t *testing.T) {
	m := &spamModel{}
	_, hs := newTestServer(t, m, Options{Workers: 1, MaxWait: 500 * time.Millisecond, MaxBatchRows: 4})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			post(t, hs.URL, "application/json", `{"inputs": ["a"]}`)
		}()
		time.Sleep(5 * time.Millisecond)
	}
	wg.Wait()
	if m.calls.Load() != 1 {
		t.Errorf("%d Predict calls; a 500 ms wait should batch 4 requests 5 ms apart into 1", m.calls.Load())
	}
}

func TestMetricsAndStages(t *testing.T) {
	_, hs := newTestServer(t, &spamModel{stage: true}, Options{})
	code, body, _ := post(t, hs.URL, "application/json", `{"inputs": ["buy", "hi", "hi"]}`)
	if code != 200 || !strings.Contains(body, `"stage":"reference"`) || !strings.Contains(body, `"stage":"cheap"`) {
		t.Fatalf("%d %s", code, body)
	}
	post(t, hs.URL, "text/plain", "x")
	resp, err := http.Get(hs.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`dawn_serve_cascade_stage_rows_total{stage="cheap"} 2`,
		`dawn_serve_cascade_stage_rows_total{stage="reference"} 1`,
		`dawn_serve_request_duration_seconds_count{code="200"} 1`,
		`dawn_serve_request_duration_seconds_bucket{code="415",le="+Inf"} 1`,
		`dawn_serve_requests_total{code="415"} 1`,
		`dawn_serve_rows_total 3`,
		`dawn_serve_model_info{version="1"} 1`,
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	m := &spamModel{delay: 300 * time.Millisecond}
	s, err := New(m, "1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln, 5*time.Second) }()
	url := "http://" + ln.Addr().String()
	got := make(chan string, 1)
	go func() {
		_, body, _ := post(t, url, "application/json", `{"inputs": ["buy"]}`)
		got <- body
	}()
	for deadline := time.Now().Add(5 * time.Second); m.calls.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("request never reached the model")
		}
	}
	cancel() // while the request is in Predict
	if body := <-got; body != `{"predictions":[`+spamRow+"]}\n" {
		t.Errorf("in-flight request got %q", body)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if _, err := http.Get(url + "/ping"); err == nil {
		t.Errorf("server still accepting after shutdown")
	}
}

func TestSwapUnderLoadDropsNothing(t *testing.T) {
	a, b := &spamModel{}, &spamModel{}
	s, hs := newTestServer(t, a, Options{})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var ok, bad atomic.Int64
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				code, body, _ := post(t, hs.URL, "application/json", `{"inputs": ["buy"]}`)
				if code == 200 && body == `{"predictions":[`+spamRow+"]}\n" {
					ok.Add(1)
				} else {
					bad.Add(1)
				}
			}
		}()
	}
	for i := range 20 {
		m := model.Model(a)
		if i%2 == 0 {
			m = b
		}
		if err := s.Swap(m, fmt.Sprint(i+2)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if bad.Load() != 0 || ok.Load() == 0 {
		t.Fatalf("%d ok, %d failed", ok.Load(), bad.Load())
	}
	if a.rows.Load() == 0 || b.rows.Load() == 0 {
		t.Errorf("both models should have served: %d, %d", a.rows.Load(), b.rows.Load())
	}
	if s.ModelVersion() != "21" {
		t.Errorf("version %s", s.ModelVersion())
	}
}

func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{
		`{"dataframe_split": {"columns": ["text"], "data": [["a"]]}}`,
		`{"dataframe_records": [{"text": "a", "x": 1}]}`,
		`{"instances": [["a", 1.5]]}`,
		`{"inputs": {"text": ["a", "b"], "x": [null, 2]}}`,
		`{"inputs": "a", "params": {}}`,
		`[1]`, `{`, `null`,
	} {
		f.Add([]byte(s))
	}
	m := &spamModel{}
	sig, _ := newSignature(m.Info().Inputs)
	f.Fuzz(func(t *testing.T, b []byte) {
		tab, err := parseJSON(b, sig, unlimited)
		if err != nil {
			if _, ok := err.(*RequestError); !ok {
				t.Fatalf("error %v is not a RequestError", err)
			}
			return
		}
		rec := buildRecord(tab.sig, []*table{tab}, nil)
		defer rec.Release()
		if int(rec.NumRows()) != tab.n {
			t.Fatalf("%d rows in record, %d parsed", rec.NumRows(), tab.n)
		}
		if _, err := m.Predict(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzParseCSV(f *testing.F) {
	for _, s := range []string{"text,x\na,1\nb,\n", "text\n\"q\"\"\"\n", "x\n1\n", ""} {
		f.Add([]byte(s))
	}
	m := &spamModel{}
	sig, _ := newSignature(m.Info().Inputs)
	f.Fuzz(func(t *testing.T, b []byte) {
		tab, err := parseCSV(b, sig, unlimited)
		if err != nil {
			if _, ok := err.(*RequestError); !ok {
				t.Fatalf("error %v is not a RequestError", err)
			}
			return
		}
		rec := buildRecord(tab.sig, []*table{tab}, nil)
		defer rec.Release()
		if int(rec.NumRows()) != tab.n {
			t.Fatalf("%d rows in record, %d parsed", rec.NumRows(), tab.n)
		}
	})
}

// The wait is bounded from a batch's first request: a steady trickle does
// not hold a batch open forever.
func TestMaxWaitIsBoundedFromFirstRequest(t *testing.T) {
	m := &spamModel{}
	_, hs := newTestServer(t, m, Options{Workers: 1, MaxWait: 60 * time.Millisecond, MaxBatchRows: 1000})
	var wg sync.WaitGroup
	start := time.Now()
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			post(t, hs.URL, "application/json", `{"inputs": ["a"]}`)
		}()
		time.Sleep(30 * time.Millisecond)
	}
	wg.Wait()
	if m.calls.Load() < 2 {
		t.Errorf("%d Predict calls over %v of arrivals with a 60 ms bound", m.calls.Load(), time.Since(start))
	}
}

// TestStringColumnMatchesBuilder: string columns built straight from the
// parsed requests equal what Arrow's builder makes, with and without nulls,
// across several requests of one batch.
func TestStringColumnMatchesBuilder(t *testing.T) {
	sig, err := newSignature([]model.Column{{Name: "s", Type: "string", Optional: true}})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(vals ...any) *table {
		tab := newTable(sig, len(vals))
		for r, v := range vals {
			if err := tab.addJSON(0, r, v); err != nil {
				t.Fatal(err)
			}
		}
		tab.n = len(vals)
		return tab
	}
	for _, tabs := range [][]*table{
		{mk("a")},
		{mk("")},
		{mk("héllo", "", "wörld 😀")},
		{mk(nil)},
		{mk("x", nil, "z"), mk("no nulls", "here"), mk(nil, nil)},
		{mk("first"), mk(nil), mk("last")},
	} {
		n := 0
		for _, tab := range tabs {
			n += tab.n
		}
		got := stringColumn(tabs, 0, n)
		want := builtColumn(arrow.BinaryTypes.String, kString, tabs, 0, memory.DefaultAllocator)
		if !array.Equal(got, want) || got.NullN() != want.NullN() {
			t.Errorf("direct %v (%d nulls), builder %v (%d nulls)", got, got.NullN(), want, want.NullN())
		}
		got.Release()
		want.Release()
	}
}
