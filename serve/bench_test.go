package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/dawn-ml/dawn/featurize"
	"github.com/dawn-ml/dawn/internal/shareddata"
	"github.com/dawn-ml/dawn/internal/youtube"
	"github.com/dawn-ml/dawn/train"
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

// linearModel builds a model shaped like the serving benchmark's (word
// 1-2-grams, lower-cased, 2^18 buckets, logistic regression; the weights
// are pseudo-random, not trained) fitted on the tutorial's training
// comments, and returns it with the comments, skipping without the data.
func linearModel(b *testing.B) (*train.Model, []string) {
	s, err := youtube.Load(shareddata.Require(b, "youtube_spam_uci"))
	if err != nil {
		b.Fatal(err)
	}
	col := slices.Index(youtube.Header, "CONTENT")
	var texts []string
	for _, r := range s.Train {
		texts = append(texts, r[col])
	}
	sb := array.NewStringBuilder(memory.DefaultAllocator)
	sb.AppendValues(texts, nil)
	arr := sb.NewArray()
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "text", Type: arrow.BinaryTypes.String}}, nil), []arrow.Array{arr}, int64(len(texts)))
	feat, err := featurize.Fit(featurize.Config{Text: []featurize.Text{{Column: "text", Words: 2, Lower: true}}}, []arrow.RecordBatch{rec})
	if err != nil {
		b.Fatal(err)
	}
	p := train.NewParams(train.LogReg, feat.Dim(), 2, 0)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range p.W {
		p.W[i] = rng.NormFloat64()
	}
	return &train.Model{Kind: train.LogReg, Classes: []string{"0", "1"}, Feat: feat, Params: p}, texts
}

// BenchmarkHandlerLinear measures a request's parse, score with the real
// linear text model and encode, without the network, for single-row
// requests (cycling through the comments) and 1,000-row ones.
func BenchmarkHandlerLinear(b *testing.B) {
	m, texts := linearModel(b)
	for _, rows := range []int{1, 1000} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			s, err := New(m, "1", Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			h := s.Handler()
			// Bodies as bench/serve/loadgen sends them.
			var bodies [][]byte
			for i := 0; i+rows <= len(texts) && len(bodies) < 64; i += rows {
				data := make([][]string, rows)
				for k := range data {
					data[k] = []string{texts[i+k]}
				}
				body, _ := json.Marshal(map[string]any{"dataframe_split": map[string]any{"columns": []string{"text"}, "data": data}})
				bodies = append(bodies, body)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				req := httptest.NewRequest("POST", "/invocations", bytes.NewReader(bodies[i%len(bodies)]))
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatal(w.Body.String())
				}
				i++
			}
			b.ReportMetric(float64(b.N)*float64(rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
