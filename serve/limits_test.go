package serve

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
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
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			before := ms.TotalAlloc
			var err error
			if name == "csv" {
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
