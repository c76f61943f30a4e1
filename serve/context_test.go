package serve

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// captureLog keeps the entries a server logs.
type captureLog struct {
	mu      sync.Mutex
	entries []*LogEntry
}

func (c *captureLog) Log(e *LogEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.Inputs.Release()
	c.entries = append(c.entries, e)
}

func (c *captureLog) last(t *testing.T) *LogEntry {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) == 0 {
		t.Fatal("nothing logged")
	}
	return c.entries[len(c.entries)-1]
}

func TestContextColumnsEveryInputForm(t *testing.T) {
	log := &captureLog{}
	_, hs := newTestServer(t, &spamModel{}, Options{Log: log})
	want := []ContextColumn{
		{Name: "client_version", Values: []string{"v3", "v4"}},
		{Name: "n", Values: []string{"7", ""}, Null: []bool{false, true}},
	}
	// Records and column objects are keyed: their extra keys come by name,
	// here the order of the other forms.
	for _, tc := range []struct{ name, ct, body string }{
		{"split", "application/json", `{"dataframe_split": {"columns": ["text", "client_version", "n"], "data": [["buy", "v3", 7], ["hi", "v4", null]]}}`},
		{"split general path", "application/json", `{"dataframe_split": {"columns": ["text", "client_version", "n"], "data": [["buy", "v3", 7], ["hi", "v4", null]]}, "params": {}}`},
		{"records", "application/json", `{"dataframe_records": [{"text": "buy", "client_version": "v3", "n": 7}, {"text": "hi", "client_version": "v4"}]}`},
		{"inputs columns", "application/json", `{"inputs": {"text": ["buy", "hi"], "client_version": ["v3", "v4"], "n": [7, null]}}`},
		{"csv", "text/csv", "text,client_version,n\nbuy,v3,7\nhi,v4,\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body, _ := post(t, hs.URL, tc.ct, tc.body)
			if code != 200 {
				t.Fatalf("%d %s", code, body)
			}
			if got := log.last(t).Context; !reflect.DeepEqual(got, want) {
				t.Errorf("context %+v, want %+v", got, want)
			}
			if body != `{"predictions":[`+spamRow+`,`+hamRow+`]}`+"\n" {
				t.Errorf("predictions changed by the context columns: %s", body)
			}
		})
	}
	// Signature columns are never context; a request without extras has
	// none.
	if code, body, _ := post(t, hs.URL, "application/json", `{"dataframe_split": {"columns": ["text", "x"], "data": [["a", 1]]}}`); code != 200 {
		t.Fatal(code, body)
	}
	if got := log.last(t).Context; got != nil {
		t.Errorf("context %+v for a request without extra columns", got)
	}
}

func TestContextColumnsAreBounded(t *testing.T) {
	log := &captureLog{}
	_, hs := newTestServer(t, &spamModel{}, Options{Log: log})
	cols := []string{`"text"`}
	vals := []string{`"hi"`}
	for i := range MaxContextColumns + 4 {
		cols = append(cols, fmt.Sprintf(`"c%02d"`, i))
		vals = append(vals, `"`+strings.Repeat("é", MaxContextBytes)+`"`) // 2 bytes each
	}
	body := `{"dataframe_split": {"columns": [` + strings.Join(cols, ",") + `], "data": [[` + strings.Join(vals, ",") + `], [` + strings.Join(vals, ",") + `]]}}`
	if code, out, _ := post(t, hs.URL, "application/json", body); code != 200 {
		t.Fatal(code, out)
	}
	ctx := log.last(t).Context
	if len(ctx) != MaxContextColumns || ctx[0].Name != "c00" || ctx[MaxContextColumns-1].Name != fmt.Sprintf("c%02d", MaxContextColumns-1) {
		t.Fatalf("%d context columns (first %q): want the first %d", len(ctx), ctx[0].Name, MaxContextColumns)
	}
	// 256 bytes hold 128 two-byte runes exactly.
	if v := ctx[0].Values[1]; v != strings.Repeat("é", MaxContextBytes/2) {
		t.Errorf("value cut to %d bytes %q", len(v), v[:8])
	}
	// An odd bound must not split a rune: a 3-byte rune at the cut.
	if s, _ := contextText("a" + strings.Repeat("€", 100)); len(s) != 1+3*85 || !strings.HasSuffix(s, "€") {
		t.Errorf("cut at %d bytes", len(s))
	}
	if s, _ := contextText(map[string]any{"k": []any{true}}); s != `{"k":[true]}` {
		t.Errorf("object as %q", s)
	}
	if _, ok := contextText(csvCell("")); ok {
		t.Error("an empty CSV cell is a value")
	}
}
