package serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/dawn-ml/dawn/model"
)

// TestMaxRows checks the row cap in every input form: at the cap a request
// is scored, one row past it gets 413 naming --max-rows and the model is
// never called.
func TestMaxRows(t *testing.T) {
	m := &spamModel{}
	_, hs := newTestServer(t, m, Options{MaxRows: 3})
	forms := []struct {
		name, ct string
		body     func(n int) string
	}{
		{"dataframe_split", "application/json", func(n int) string {
			return `{"dataframe_split": {"columns": ["text"], "data": [` + repeatJoin(`["a"]`, n) + `]}}`
		}},
		{"dataframe_split general path", "application/json", func(n int) string {
			return `{"dataframe_split": {"columns": ["text"], "data": [` + repeatJoin(`["a"]`, n) + `]}, "params": {}}`
		}},
		{"dataframe_records", "application/json", func(n int) string {
			return `{"dataframe_records": [` + repeatJoin(`{"text": "a"}`, n) + `]}`
		}},
		{"instances values", "application/json", func(n int) string {
			return `{"instances": [` + repeatJoin(`"a"`, n) + `]}`
		}},
		{"inputs columns", "application/json", func(n int) string {
			return `{"inputs": {"text": [` + repeatJoin(`"a"`, n) + `]}}`
		}},
		{"csv", "text/csv", func(n int) string { return "text\n" + strings.Repeat("a\n", n) }},
	}
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) {
			if code, body, _ := post(t, hs.URL, f.ct, f.body(3)); code != 200 {
				t.Fatalf("3 rows: status %d: %s", code, body)
			}
			before := m.rows.Load()
			code, body, _ := post(t, hs.URL, f.ct, f.body(4))
			if code != 413 || !strings.Contains(body, "--max-rows") || !strings.Contains(body, "at most 3") {
				t.Fatalf("4 rows: got %d %s, want 413 naming --max-rows", code, body)
			}
			if m.rows.Load() != before {
				t.Errorf("the model scored rows of a refused request")
			}
		})
	}
}

// TestTinyValuesBounded is the repro of a 30 MB body of 10^7 empty
// strings (3.2 GB and 39.5 s before the cap): parsing stops at the value
// budget, allocating a small multiple of the budget rather than of the body.
func TestTinyValuesBounded(t *testing.T) {
	const n = 10_000_000
	sig := mustSig(t, &spamModel{})
	lim := newLimits(DefaultMaxRows, sig)
	bodies := map[string][]byte{
		"instances": []byte(`{"instances": [` + repeatJoin(`""`, n) + `]}`),
		"split":     []byte(`{"dataframe_split": {"columns": ["text"], "data": [` + repeatJoin(`[""]`, n/2) + `]}}`),
		"nested":    []byte(`{"inputs": [` + repeatJoin(`[`+repeatJoin(`""`, 1000)+`]`, n/1000) + `]}`),
		"csv":       append([]byte("text\n"), bytes.Repeat([]byte("\"\"\n"), n)...),
		"csv wide":  append([]byte("text"+strings.Repeat(",", 1000)+"\n"), bytes.Repeat([]byte(strings.Repeat(",", 1000)+"\n"), n/1000)...),
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			before := ms.TotalAlloc
			var err error
			if strings.HasPrefix(name, "csv") {
				_, err = parseCSV(body, sig, lim)
			} else {
				_, err = parseJSON(body, sig, lim)
			}
			runtime.ReadMemStats(&ms)
			re, ok := err.(*RequestError)
			if !ok || re.Status != 413 {
				t.Fatalf("err %v, want a 413 RequestError", err)
			}
			if alloc := ms.TotalAlloc - before; alloc > 128<<20 {
				t.Errorf("allocated %d MiB parsing a refused %d MiB body", alloc>>20, len(body)>>20)
			}
		})
	}
	// And through the server, with its default cap.
	_, hs := newTestServer(t, &spamModel{}, Options{})
	code, body, _ := post(t, hs.URL, "application/json", string(bodies["instances"]))
	if code != 413 || !strings.Contains(body, "--max-rows") {
		t.Fatalf("got %d %.200s, want 413", code, body)
	}
}

func repeatJoin(s string, n int) string {
	if n == 0 {
		return ""
	}
	return strings.Repeat(s+",", n-1) + s
}

func mustSig(t *testing.T, m *spamModel) *signature {
	t.Helper()
	sig, err := newSignature(m.Info().Inputs)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// badInputModel fails, as a labeling function past its bounds does, on a
// batch holding the text "bad".
type badInputModel struct{ spamModel }

func (m *badInputModel) Predict(ctx context.Context, rec arrow.RecordBatch) (*model.Prediction, error) {
	text := rec.Column(0).(*array.String)
	for i := 0; i < text.Len(); i++ {
		if text.Value(i) == "bad" {
			return nil, fmt.Errorf("fake: %w: row %d: LF \"x\": the expression ran past its time limit", model.ErrBadInput, i+1)
		}
	}
	return m.spamModel.Predict(ctx, rec)
}

// TestBadInputIs400: an error the rows cause is the client's (400, not
// 500), and in a micro-batch only the request that holds the row fails.
func TestBadInputIs400(t *testing.T) {
	s, hs := newTestServer(t, &badInputModel{}, Options{})
	code, body, _ := post(t, hs.URL, "application/json", `{"instances": ["ok", "bad"]}`)
	if code != 400 || !strings.Contains(body, "row 2") || !strings.Contains(body, "INVALID_PARAMETER_VALUE") {
		t.Fatalf("got %d %s, want 400 naming row 2", code, body)
	}
	sv := s.cur.Load()
	var jobs []*job
	for _, b := range []string{`{"instances": ["buy"]}`, `{"instances": ["bad"]}`, `{"instances": ["hello"]}`} {
		tab, err := parseJSON([]byte(b), sv.sig, sv.lim)
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, &job{t: tab})
	}
	s.runBatch(sv, jobs)
	var re *RequestError
	if jobs[0].err != nil || jobs[2].err != nil || !errors.As(jobs[1].err, &re) || re.Status != 400 {
		t.Fatalf("errors %v, %v, %v; want only the second, a 400", jobs[0].err, jobs[1].err, jobs[2].err)
	}
	if jobs[0].pred.Labels[jobs[0].off] != 1 || jobs[2].pred.Labels[jobs[2].off] != 0 {
		t.Errorf("the good requests were scored wrongly")
	}
}
