package predlog

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/dawn-ml/dawn/data"
	"github.com/dawn-ml/dawn/model"
	"github.com/dawn-ml/dawn/serve"
)

// lenModel: p(spam) = len(text)/100, capped; stage "cheap" when short.
type lenModel struct{}

func (lenModel) Info() *model.Info {
	return &model.Info{Type: "len", Classes: []string{"ham", "spam"}, Inputs: []model.Column{{Name: "text", Type: "string"}, {Name: "label", Type: "string", Optional: true}}}
}

func (lenModel) Predict(ctx context.Context, rec arrow.RecordBatch) (*model.Prediction, error) {
	text := rec.Column(0).(*array.String)
	n := text.Len()
	p := &model.Prediction{Classes: []string{"ham", "spam"}, Probs: make([]float64, 2*n), Labels: make([]int, n), Stage: make([]string, n)}
	for i := 0; i < n; i++ {
		ps := min(1, float64(len(text.Value(i)))/100)
		p.Probs[2*i], p.Probs[2*i+1] = 1-ps, ps
		if ps >= 0.5 {
			p.Labels[i] = 1
		}
		p.Stage[i] = "cheap"
	}
	return p, nil
}

func readDir(t *testing.T, dir string) (files int, rows [][]string, header []string) {
	t.Helper()
	ents, _ := filepath.Glob(filepath.Join(dir, "*.parquet"))
	for _, f := range ents {
		r, err := data.Open(f, data.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, fl := range r.Schema().Fields() {
			if len(header) < r.Schema().NumFields() {
				header = append(header, fl.Name)
			}
		}
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < int(rec.NumRows()); i++ {
				var row []string
				for c := 0; c < int(rec.NumCols()); c++ {
					row = append(row, data.FormatValue(rec.Column(c), i))
				}
				rows = append(rows, row)
			}
			rec.Release()
		}
		r.Close()
		files++
	}
	return files, rows, header
}

func TestServerWritesPredictionLog(t *testing.T) {
	dir := t.TempDir()
	l, err := New(Options{Dir: dir, RollRows: 3, FlushRows: 1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := serve.New(lenModel{}, "7", serve.Options{Log: l})
	if err != nil {
		t.Fatal(err)
	}
	s.Registry().MustRegister(l.Collectors()...)
	hs := httptest.NewServer(s.Handler())
	for _, body := range []string{
		`{"dataframe_records": [{"text": "hi", "label": "x"}, {"text": "` + strings.Repeat("a", 80) + `"}]}`,
		`{"inputs": ["hello"]}`,
		`{"inputs": ["bye", "again"]}`,
	} {
		req, _ := http.NewRequest("POST", hs.URL+"/invocations", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if strings.Contains(body, "dataframe_records") {
			req.Header.Set("X-Request-Id", "req-42")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatal(err, resp.StatusCode)
		}
		if resp.Header.Get("X-Request-Id") == "" {
			t.Error("no X-Request-Id in the response")
		}
		resp.Body.Close()
	}
	hs.Close()
	s.Close()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	files, rows, header := readDir(t, dir)
	if got := strings.Join(header, ","); got != "time,model_version,latency_ms,request_id,request_row,text,input_label,prob_ham,prob_spam,label,stage" {
		t.Fatalf("header %s", got)
	}
	if len(rows) != 5 {
		t.Fatalf("%d rows: %v", len(rows), rows)
	}
	if files < 2 {
		t.Errorf("%d files; rolling at 3 rows should make at least 2", files)
	}
	texts := map[string][]string{}
	for _, r := range rows {
		texts[r[5]] = r
		if r[3] == "" {
			t.Errorf("row without a request id: %v", r)
		}
		if r[1] != "7" || r[10] != "cheap" {
			t.Errorf("row %v", r)
		}
	}
	if r := texts["hi"]; r == nil || r[3] != "req-42" || r[4] != "0" || r[6] != "x" || r[8] != "0.02" || r[9] != "ham" {
		t.Errorf("hi row %v", r)
	}
	if r := texts[strings.Repeat("a", 80)]; r == nil || r[3] != "req-42" || r[4] != "1" || r[9] != "spam" || r[6] != "" {
		t.Errorf("long row %v", r)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".*")); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

func entry(text string) *serve.LogEntry {
	sch := arrow.NewSchema([]arrow.Field{{Name: "text", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sch)
	b.Field(0).(*array.StringBuilder).Append(text)
	rec := b.NewRecordBatch()
	b.Release()
	p, _ := lenModel{}.Predict(context.Background(), rec)
	return &serve.LogEntry{Time: time.Now(), ModelVersion: "1", Inputs: rec, Pred: p}
}

func TestFullQueueDropsAndCounts(t *testing.T) {
	dir := t.TempDir()
	nl, err := New(Options{Dir: dir}) // for its options and counters
	if err != nil {
		t.Fatal(err)
	}
	nl.Close()
	// A logger whose writer is held: the queue of 4 fills and the rest drop.
	hold := make(chan struct{})
	l := &Logger{opt: nl.opt, ch: make(chan *serve.LogEntry, 4), done: make(chan struct{}), dir: nl.dir, id: nl.id,
		rows: nl.rows, dropped: nl.dropped, files: nl.files, errs: nl.errs}
	go l.run(hold)
	start := time.Now()
	for i := 0; i < 10; i++ {
		l.Log(entry("x"))
	}
	if time.Since(start) > 100*time.Millisecond {
		t.Errorf("Log blocked for %v", time.Since(start))
	}
	close(hold)
	l.Close()
	if got := counterValue(l.dropped); got != 6 {
		t.Errorf("dropped %v, want 6", got)
	}
	_, rows, _ := readDir(t, dir)
	if len(rows) != 4 {
		t.Errorf("%d rows written, want 4", len(rows))
	}
}

// RollBytes starts a new file once a file holds that much data: with a
// 1-byte limit and a row group per entry, every entry gets its own file.
func TestRollBySize(t *testing.T) {
	dir := t.TempDir()
	l, err := New(Options{Dir: dir, RollBytes: 1, FlushRows: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"a", "b", "c", "d"} {
		l.Log(entry(s))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	files, rows, _ := readDir(t, dir)
	if files != 4 || len(rows) != 4 {
		t.Fatalf("%d files, %d rows; want 4 and 4", files, len(rows))
	}
	// A large limit keeps them in one file.
	dir = t.TempDir()
	if l, err = New(Options{Dir: dir, RollBytes: 1 << 20, FlushRows: 1}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"a", "b", "c", "d"} {
		l.Log(entry(s))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if files, rows, _ = readDir(t, dir); files != 1 || len(rows) != 4 {
		t.Fatalf("%d files, %d rows; want 1 and 4", files, len(rows))
	}
}
