package label

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/dawn-ml/dawn/internal/yamlkeys"
)

// File is the YAML labeling-function file, the domain expert's interface:
//
//	labels: [ham, spam]   # class names; order gives class ids 0..k-1
//	text: CONTENT         # default field for keywords, regex and lookup
//	lfs:
//	  - name: kw_my
//	    keywords: [my, "check out"]
//	    label: spam
//
// Each LF has a name, a label and exactly one of keywords, regex, when
// (an expr-lang expression over the row's columns) or lookup (a file of
// values, one per line, matched exactly against the field).
type File struct {
	Labels []string `yaml:"labels"`
	Text   string   `yaml:"text"`
	LFs    []Spec   `yaml:"lfs"`

	dir string // directory the file was read from, for lookup paths
}

// Spec is one labeling function as written in the file.
type Spec struct {
	Name     string   `yaml:"name"`
	Label    string   `yaml:"label"`
	Field    string   `yaml:"field,omitempty"`
	Keywords []string `yaml:"keywords,omitempty"`
	// Match is "word" (default: whole words or phrases) or "substring"
	// (anywhere, as Snorkel's tutorial `word in text.lower()` does).
	Match string `yaml:"match,omitempty"`
	// CaseSensitive makes keywords and lookups case-sensitive (default:
	// keywords ignore case, lookups do not).
	CaseSensitive *bool  `yaml:"case_sensitive,omitempty"`
	Regex         string `yaml:"regex,omitempty"`
	IgnoreCase    bool   `yaml:"ignore_case,omitempty"`
	When          string `yaml:"when,omitempty"`
	Lookup        string `yaml:"lookup,omitempty"`

	line int // line in the YAML file, for messages
}

// kind reports which of the mutually exclusive LF forms s uses.
func (s *Spec) kind() (string, error) {
	var kinds []string
	if len(s.Keywords) > 0 {
		kinds = append(kinds, "keywords")
	}
	if s.Regex != "" {
		kinds = append(kinds, "regex")
	}
	if s.When != "" {
		kinds = append(kinds, "when")
	}
	if s.Lookup != "" {
		kinds = append(kinds, "lookup")
	}
	switch len(kinds) {
	case 0:
		return "", errors.New("needs one of keywords, regex, when or lookup")
	case 1:
		return kinds[0], nil
	}
	return "", fmt.Errorf("has %s; give exactly one of keywords, regex, when or lookup (write two LFs to combine them)", strings.Join(kinds, " and "))
}

// LFError is a mistake in one labeling function of a file.
type LFError struct {
	File string
	Line int
	LF   string
	Err  error
}

func (e *LFError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if loc != "" {
		loc += ": "
	}
	return fmt.Sprintf("%sLF %q: %v", loc, e.LF, e.Err)
}

func (e *LFError) Unwrap() error { return e.Err }

// LoadFile reads and checks an LF file. Lookup paths are relative to it.
func LoadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	f, err := ParseFile(b, path)
	if err != nil {
		return nil, err
	}
	f.dir = filepath.Dir(path)
	return f, nil
}

// ParseFile parses and checks LF YAML; name is used in messages.
// Checks that need the data (fields) or the disk (lookups) happen in Compile.
func ParseFile(b []byte, name string) (*File, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("label: %s: %w", name, err)
	}
	if err := checkKeys(&root, name); err != nil {
		return nil, err
	}
	var f File
	dec = yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("label: %s: %w", name, err)
	}
	f.dir = "."
	// Record each LF's line so errors can point at it.
	if len(root.Content) == 1 && root.Content[0].Kind == yaml.MappingNode {
		m := root.Content[0]
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == "lfs" && m.Content[i+1].Kind == yaml.SequenceNode {
				for j, n := range m.Content[i+1].Content {
					if j < len(f.LFs) {
						f.LFs[j].line = n.Line
					}
				}
			}
		}
	}
	if err := f.check(name); err != nil {
		return nil, err
	}
	return &f, nil
}

func (f *File) check(name string) error {
	if len(f.Labels) < 2 {
		return fmt.Errorf("label: %s: `labels` must list at least two class names, e.g. labels: [ham, spam]", name)
	}
	seen := map[string]bool{}
	for _, l := range f.Labels {
		if strings.TrimSpace(l) == "" {
			return fmt.Errorf("label: %s: a class name in `labels` is empty", name)
		}
		if seen[l] {
			return fmt.Errorf("label: %s: class %q is listed twice in `labels`", name, l)
		}
		seen[l] = true
	}
	if len(f.LFs) == 0 {
		return fmt.Errorf("label: %s: no labeling functions under `lfs`", name)
	}
	names := map[string]bool{}
	for i := range f.LFs {
		s := &f.LFs[i]
		fail := func(err error) error { return &LFError{File: name, Line: s.line, LF: s.Name, Err: err} }
		if s.Name == "" {
			s.Name = fmt.Sprintf("#%d", i+1)
			return fail(errors.New("has no name"))
		}
		if names[s.Name] {
			return fail(errors.New("the name is used by another LF; names must be unique"))
		}
		names[s.Name] = true
		if s.Label == "" {
			return fail(fmt.Errorf("has no label; give one of %s", strings.Join(f.Labels, ", ")))
		}
		if f.classID(s.Label) < 0 {
			return fail(fmt.Errorf("label %q is not one of the classes in `labels` (%s)", s.Label, strings.Join(f.Labels, ", ")))
		}
		kind, err := s.kind()
		if err != nil {
			return fail(err)
		}
		if kind != "when" && s.Field == "" && f.Text == "" {
			return fail(errors.New("has no field: set `field` on the LF or a default `text` field at the top of the file"))
		}
		if kind == "when" && s.Field != "" {
			return fail(errors.New("`field` does not apply to `when` expressions; name the columns in the expression"))
		}
		switch s.Match {
		case "", "word", "substring":
		default:
			return fail(fmt.Errorf("match %q is not word or substring", s.Match))
		}
		if s.Match != "" && kind != "keywords" {
			return fail(errors.New("`match` applies only to keywords"))
		}
		for _, k := range s.Keywords {
			if strings.TrimSpace(k) == "" {
				return fail(errors.New("has an empty keyword"))
			}
		}
	}
	return nil
}

func (f *File) classID(name string) int {
	for i, l := range f.Labels {
		if l == name {
			return i
		}
	}
	return -1
}

// checkKeys reports the first unknown key of the file or of an LF
// (yamlkeys: its line and the nearest known key), with the LF's name,
// before the strict decode would report it without them.
func checkKeys(root *yaml.Node, name string) error {
	err := yamlkeys.Check(root, File{})
	var ke *yamlkeys.Error
	if !errors.As(err, &ke) {
		return err
	}
	var j int
	if _, serr := fmt.Sscanf(ke.Path, "lfs[%d]", &j); serr != nil || ke.Path != fmt.Sprintf("lfs[%d]", j) {
		return fmt.Errorf("label: %s:%d: %s", name, ke.Line, ke.Detail())
	}
	return &LFError{File: name, Line: ke.Line, LF: specName(root, j), Err: errors.New(ke.DetailOf("an LF's"))}
}

// specName is the name of the j-th (1-based) LF node under lfs, or "#j"
// when it has none.
func specName(root *yaml.Node, j int) string {
	lfName := fmt.Sprintf("#%d", j)
	m := root.Content[0] // yamlkeys found lfs[j], so a mapping holds lfs
	for i := 0; i+1 < len(m.Content); i += 2 {
		if v := m.Content[i+1]; m.Content[i].Value != "lfs" || v.Kind != yaml.SequenceNode || j < 1 || j > len(v.Content) {
			continue
		}
		lf := m.Content[i+1].Content[j-1]
		for q := 0; q+1 < len(lf.Content); q += 2 {
			if lf.Content[q].Value == "name" && lf.Content[q+1].Value != "" {
				lfName = lf.Content[q+1].Value
			}
		}
	}
	return lfName
}
