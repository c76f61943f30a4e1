package tracking

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestSpanStub(t *testing.T) {
	big := strings.Repeat("x", 3000)
	attrs := map[string]string{"mlflow.spanInputs": `"` + big + `"`, "mlflow.spanOutputs": `"short"`, "k": `"v"`}
	content, _ := json.Marshal(map[string]any{"name": "s", "span_id": "AAE=", "events": []any{map[string]any{"name": "e"}}, "attributes": attrs})
	stub, err := spanStub(content)
	if err != nil {
		t.Fatal(err)
	}
	ref, ok := stubRef(stub)
	if !ok || ref.Bytes != int64(len(content)) || len(ref.SHA256) != 64 {
		t.Fatalf("stubRef = %+v %v", ref, ok)
	}
	req, resp := RootSpanPreviews(stub)
	wreq, wresp := RootSpanPreviews(content)
	if req != wreq || resp != wresp || len([]rune(req)) != MaxPreviewRunes {
		t.Fatalf("stub previews %q %q, full span's %q %q", req, resp, wreq, wresp)
	}
	var d struct {
		Name       string            `json:"name"`
		Events     []any             `json:"events"`
		Attributes map[string]string `json:"attributes"`
	}
	json.Unmarshal(stub, &d)
	if d.Name != "s" || len(d.Events) != 0 || d.Attributes["k"] != `"v"` {
		t.Fatalf("stub = %s", stub)
	}

	// Thousands of short attributes: the stub keeps only the previews'.
	many := map[string]string{"mlflow.spanOutputs": `"out"`}
	for i := range 5000 {
		many[fmt.Sprintf("attr.%d", i)] = `"0123456789"`
	}
	content, _ = json.Marshal(map[string]any{"name": "s", "attributes": many})
	if stub, err = spanStub(content); err != nil || len(stub) > SpanPayloadThreshold {
		t.Fatalf("stub of %d bytes: %v", len(stub), err)
	}
	if _, resp := RootSpanPreviews(stub); resp != `"out"` {
		t.Fatalf("response preview %q", resp)
	}

	// A span stored whole that merely mentions the key is not a stub.
	for _, s := range []string{`{"attributes": {"dawn.payload": "{\"bytes\": 1}"}}`, `{"name": "\"dawn.payload\""}`, `not json "dawn.payload"`} {
		if _, ok := stubRef([]byte(s)); ok {
			t.Errorf("%s taken for a stub", s)
		}
	}
	if _, err := spanStub([]byte(`{"attributes": 3}`)); err == nil {
		t.Error("a span with bad attributes was stubbed")
	}
}

// FuzzStubRef: a stub made from any span dictionary is recognised, and
// nothing else panics.
func FuzzStubRef(f *testing.F) {
	f.Add(`{"name": "a", "attributes": {"k": "\"v\""}}`)
	f.Add(`{"dawn.payload": {"bytes": -1}}`)
	f.Fuzz(func(t *testing.T, s string) {
		stubRef([]byte(s))
		stub, err := spanStub([]byte(s))
		if err != nil {
			return
		}
		if _, ok := stubRef(stub); !ok {
			t.Fatalf("stub of %q not recognised: %s", s, stub)
		}
	})
}
