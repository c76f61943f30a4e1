package yamlkeys

import (
	"errors"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

type part struct {
	Kind   string `yaml:"kind"`
	Ngrams *int   `yaml:"ngrams"`
}

type cand struct {
	Name  string `yaml:"name"`
	Parts []part `yaml:"parts"`
}

type file struct {
	Candidates []cand `yaml:"candidates"`
}

func TestCheck(t *testing.T) {
	cases := []struct {
		name, doc string
		line      int
		path, key string
		hint      string
	}{
		{"clean", "candidates:\n  - name: a\n    parts:\n      - kind: logreg\n        ngrams: 2\n", 0, "", "", ""},
		{"top", "candidate:\n  - name: a\n", 1, "", "candidate", `unknown key "candidate" (did you mean "candidates"?); the file's keys are candidates`},
		{"nested", "candidates:\n  - name: a\n    parts:\n      - kind: logreg\n      - ngram: 2\n", 5, "candidates[1].parts[2]", "ngram",
			`line 5: unknown key "ngram" (did you mean "ngrams"?); candidates[1].parts[2]'s keys are kind, ngrams`},
		{"shape left to the decoder", "candidates: 3\n", 0, "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var n yaml.Node
			if err := yaml.Unmarshal([]byte(c.doc), &n); err != nil {
				t.Fatal(err)
			}
			err := Check(&n, &file{})
			if c.line == 0 {
				if err != nil {
					t.Fatalf("err %v", err)
				}
				return
			}
			var ke *Error
			if !errors.As(err, &ke) {
				t.Fatalf("err %v, want *Error", err)
			}
			if ke.Line != c.line || ke.Path != c.path || ke.Key != c.key {
				t.Errorf("got line %d path %q key %q", ke.Line, ke.Path, ke.Key)
			}
			if c.hint != "" && !strings.Contains(err.Error(), c.hint) {
				t.Errorf("message %q lacks %q", err, c.hint)
			}
		})
	}
}
