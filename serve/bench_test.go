package serve

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkHandlerSingleRow measures the server's own cost per single-row
// request (parse, micro-batch queue, score with the fake model, encode),
// without the network.
func BenchmarkHandlerSingleRow(b *testing.B) {
	s, err := New(&spamModel{}, "1", Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	h := s.Handler()
	body := []byte(`{"dataframe_split": {"columns": ["text"], "data": [["Check out my channel, please subscribe!"]]}}`)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/invocations", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Body.String())
		}
	}
}

// BenchmarkHandler1000Rows measures a 1,000-row request's parse, score and
// encode, without the network.
func BenchmarkHandler1000Rows(b *testing.B) {
	s, err := New(&spamModel{}, "1", Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	h := s.Handler()
	rows := make([]string, 1000)
	for i := range rows {
		rows[i] = fmt.Sprintf(`[%q]`, strings.Repeat("buy my stuff ", i%7+1))
	}
	body := []byte(`{"dataframe_split": {"columns": ["text"], "data": [` + strings.Join(rows, ",") + `]}}`)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/invocations", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Body.String())
		}
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "rows/s")
}
