package serve

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestInvocationsGolden pins the exact bytes of responses, success and
// error, for a set of requests: the scoring protocol as a client sees it.
// Run with -update after an intended change and review the diff.
func TestInvocationsGolden(t *testing.T) {
	_, hs := newTestServer(t, &spamModel{stage: true}, Options{})
	reqs := []struct{ name, ct, body string }{
		{"split", "application/json", `{"dataframe_split": {"columns": ["text", "x"], "data": [["buy now", 1.5], ["hello", null]]}}`},
		{"records", "application/json", `{"dataframe_records": [{"text": "buy now"}, {"text": "hello", "x": 30}]}`},
		{"instances", "application/json", `{"instances": ["buy", "hi"]}`},
		{"inputs columns", "application/json", `{"inputs": {"text": ["buy", "hi"], "x": [0, 60]}, "params": {"k": 1}}`},
		{"csv", "text/csv", "text,x\n\"buy, now\",\nhello,2e1\n"},
		{"unicode and escapes", "application/json", `{"inputs": ["caf\u00e9 \"buy\"\n <tag> & \ud83d\ude00"]}`},
		{"415 content type", "text/plain", "hello"},
		{"415 charset", "application/json; charset=utf-16", "{}"},
		{"400 invalid json", "application/json", `{"inputs": [1,]}`},
		{"400 list", "application/json", `[{"text": "a"}]`},
		{"400 no input field", "application/json", `{"rows": [{"text": "a"}]}`},
		{"400 missing column", "application/json", `{"dataframe_records": [{"body": "a"}]}`},
		{"400 wrong type", "application/json", `{"dataframe_split": {"columns": ["text", "x"], "data": [["a", "NaN"]]}}`},
		{"400 csv wrong type", "text/csv", "text,x\na,abc\n"},
	}
	var b strings.Builder
	for _, r := range reqs {
		code, body, h := post(t, hs.URL, r.ct, r.body)
		fmt.Fprintf(&b, "### %s\nPOST /invocations (%s)\n%s\n--> %d %s\n%s\n", r.name, r.ct, r.body, code, h.Get("Content-Type"), strings.TrimRight(body, "\n"))
	}
	path := filepath.Join("testdata", "invocations.golden")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run Golden -update)", err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("responses differ from %s (run with -update to accept):\n%s", path, got)
	}
}
