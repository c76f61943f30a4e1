package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --cheap-spec errors name the file, the line and the nearest key, before
// the reference is asked anything; --cheap and --cheap-spec exclude each
// other; --cheap still parses (deprecated, with a warning).
func TestCascadeBuildCheapSpecErrors(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "cheap.yaml")
	if err := os.WriteFile(spec, []byte("candidates:\n  - parts:\n      - kind: logreg\n        ngram: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"cascade", "build", "--reference", "http://127.0.0.1:1", "--data", filepath.Join(dir, "absent.csv"), "--out", filepath.Join(dir, "o"), "--text", "t"}
	cases := []struct {
		name    string
		args    []string
		code    int
		wantErr string
	}{
		{"typo in the file", []string{"--cheap-spec", spec}, 1, `cheap.yaml:4: unknown key "ngram" (did you mean "ngrams"?)`},
		{"absent file", []string{"--cheap-spec", filepath.Join(dir, "nope.yaml")}, 1, "nope.yaml"},
		{"both", []string{"--cheap-spec", spec, "--cheap", "logreg"}, 2, "not both"},
		{"deprecated inline, bad", []string{"--cheap", "logreg,colour=red"}, 2, "--cheap colour=red: unknown key"},
		{"deprecated inline, good: fails later, on the data", []string{"--cheap", "logreg,ngrams=1"}, 1, "--cheap is deprecated"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errs := runDawn(t, append(append([]string(nil), base...), c.args...)...)
			if code != c.code || !strings.Contains(errs, c.wantErr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errs, c.code, c.wantErr)
			}
		})
	}
}
