package label

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"go.yaml.in/yaml/v3"
)

// Bundle returns the LF file as YAML whose lookup lists point inside a
// folder of their own ("lookups/NAME.txt"), with those lists' contents, so
// the file and its lists can be stored together in a model directory.
func (f *File) Bundle() (yml []byte, lookups map[string][]byte, err error) {
	out := *f
	out.LFs = append([]Spec(nil), f.LFs...)
	lookups = map[string][]byte{}
	safe := regexp.MustCompile(`[^A-Za-z0-9_.-]`)
	for i := range out.LFs {
		sp := &out.LFs[i]
		if sp.Lookup == "" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(f.dir, sp.Lookup))
		if err != nil {
			return nil, nil, &LFError{LF: sp.Name, Err: fmt.Errorf("lookup file: %w", err)}
		}
		name := fmt.Sprintf("lookups/%02d_%s.txt", i, safe.ReplaceAllString(sp.Name, "_"))
		lookups[name] = b
		sp.Lookup = name
	}
	yml, err = yaml.Marshal(&out)
	return yml, lookups, err
}

// Fields returns the data columns the file's LFs read: the text or field of
// keyword, regex and lookup LFs, in order of first use. Columns used only
// inside `when` expressions are not listed (see Set.Columns).
func (f *File) Fields() []string {
	var cols []string
	seen := map[string]bool{}
	for _, sp := range f.LFs {
		if sp.When != "" {
			continue
		}
		c := sp.Field
		if c == "" {
			c = f.Text
		}
		if !seen[c] {
			seen[c] = true
			cols = append(cols, c)
		}
	}
	return cols
}

// Columns returns the indices of the schema columns any LF of s reads.
func (s *Set) Columns() []int {
	seen := map[int]bool{}
	for _, sc := range s.scans {
		seen[sc.field] = true
	}
	for _, l := range s.lookups {
		seen[l.field] = true
	}
	for _, e := range s.when {
		for _, c := range e.cols {
			seen[c] = true
		}
	}
	var out []int
	for c := 0; c < s.schema.NumFields(); c++ {
		if seen[c] {
			out = append(out, c)
		}
	}
	return out
}
