package predlog

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/serve"
)

func TestContextColumnsInTheLog(t *testing.T) {
	dir := t.TempDir()
	l, err := New(Options{Dir: dir, FlushRows: 1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := serve.New(lenModel{}, "7", serve.Options{Log: l})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	for _, body := range []string{
		// "label" and "time" are taken by the log's own columns.
		`{"dataframe_split": {"columns": ["text", "client_version", "time"], "data": [["hi", "v3", "t0"], ["yo", "v4", null]]}}`,
		`{"dataframe_split": {"columns": ["text"], "data": [["plain"]]}}`,
		`{"dataframe_split": {"columns": ["text", "country", "client_version"], "data": [["eh", "CA", "v3"]]}}`,
	} {
		req, _ := http.NewRequest("POST", hs.URL+"/invocations", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatal(err, resp.StatusCode)
		}
		resp.Body.Close()
	}
	hs.Close()
	s.Close()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	files, rows, header := readDir(t, dir)
	// The third request brings a new context column: a new file, which
	// keeps the first file's columns too.
	if files != 2 {
		t.Errorf("%d files, want 2", files)
	}
	got := map[string]string{}
	for _, r := range rows {
		got[r[5]] = strings.Join(r[11:], "|")
	}
	if h := strings.Join(header[11:13], ","); h != "client_version,context_time" {
		t.Errorf("first file's context header %q", h)
	}
	want := map[string]string{"hi": "v3|t0", "yo": "v4|", "plain": "|", "eh": "v3||CA"}
	for text, w := range want {
		if got[text] != w {
			t.Errorf("row %q: context %q, want %q", text, got[text], w)
		}
	}
}
