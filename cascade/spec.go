package cascade

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/dawn-ml/dawn/featurize"
	"github.com/dawn-ml/dawn/internal/yamlkeys"
	"github.com/dawn-ml/dawn/train"
)

// Spec is the cheap-model spec file of `dawn cascade build --cheap-spec`:
// one or more candidates, each trained and optimized, the cheapest plan
// kept; a candidate of several parts is their blend (the mean of their
// logits, BlendTrainer).
//
//	candidates:
//	  - name: words+chars
//	    parts:
//	      - kind: logreg
//	        ngrams: 2
//	        tfidf: true
//	      - kind: logreg
//	        ngrams: 0
//	        chars: [2, 4]
//	        tfidf: true
//	        augment: true
type Spec struct {
	Candidates []CandidateSpec `yaml:"candidates"`
}

// CandidateSpec is one candidate cheap model.
type CandidateSpec struct {
	// Name names the candidate in the report (default: its parts written
	// as KIND,key=value... joined by '+').
	Name  string     `yaml:"name,omitempty"`
	Parts []PartSpec `yaml:"parts"`

	line int
}

// PartSpec is one linear model and its features. Zero fields take the
// defaults given.
type PartSpec struct {
	// Kind is logreg (default), softmax or mlp.
	Kind string `yaml:"kind,omitempty"`
	// Ngrams is the longest word n-gram (default 2; 0: no words).
	Ngrams *int `yaml:"ngrams,omitempty"`
	// Chars is [MIN, MAX] character n-grams (default none).
	Chars []int `yaml:"chars,omitempty"`
	// TFIDF weights the features by tf-idf, L2-normalized.
	TFIDF bool `yaml:"tfidf,omitempty"`
	// Bits is the feature hash size in bits (default featurize.DefaultBits).
	Bits   int     `yaml:"bits,omitempty"`
	Epochs int     `yaml:"epochs,omitempty"`
	Hidden int     `yaml:"hidden,omitempty"`
	L2     float64 `yaml:"l2,omitempty"` // default 1e-4
	LR     float64 `yaml:"lr,omitempty"`
	// Opt is the optimizer: sgd, adagrad or lbfgs (default: train's).
	Opt string `yaml:"opt,omitempty"`
	// Augment also trains on the fragments of each sample row, labeled by
	// the reference (LinearTrainer.Augment).
	Augment bool `yaml:"augment,omitempty"`

	line int
}

// MaxSpecBytes caps a spec file.
const MaxSpecBytes = 1 << 20

// DefaultSpec is the default cheap model: word 1-2-grams, tf-idf weighted
// and L2-normalized, logistic regression fitted with L-BFGS. On YouTube
// spam it lets the cheap model answer about twice as many held-out rows
// within the same error budget as the same features' raw counts fitted
// with SGD (docs/serve.md).
func DefaultSpec() *Spec {
	two := 2
	return &Spec{Candidates: []CandidateSpec{{Parts: []PartSpec{{Kind: "logreg", Ngrams: &two, Bits: 16, L2: 1e-5, Opt: "lbfgs", TFIDF: true}}}}}
}

// SpecError is a mistake in a spec file, at a line.
type SpecError struct {
	File string
	Line int
	Err  error
}

func (e *SpecError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("cascade: %s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("cascade: %s: %v", e.File, e.Err)
}

func (e *SpecError) Unwrap() error { return e.Err }

// LoadSpec reads and checks a spec file (at most MaxSpecBytes).
func LoadSpec(path string) (*Spec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cascade: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSpecBytes+1))
	if err != nil {
		return nil, fmt.Errorf("cascade: %s: %w", path, err)
	}
	if len(b) > MaxSpecBytes {
		return nil, &SpecError{File: path, Err: fmt.Errorf("larger than the limit of %d bytes", MaxSpecBytes)}
	}
	return ParseSpec(b, path)
}

// ParseSpec parses and checks spec YAML; name is used in messages. Unknown
// keys are errors with their line and the nearest known key.
func ParseSpec(b []byte, name string) (*Spec, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, &SpecError{File: name, Err: err}
	}
	if err := yamlkeys.Check(&root, &Spec{}); err != nil {
		var ke *yamlkeys.Error
		if errors.As(err, &ke) {
			return nil, &SpecError{File: name, Line: ke.Line, Err: errors.New(ke.Detail())}
		}
		return nil, &SpecError{File: name, Err: err}
	}
	var s Spec
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, &SpecError{File: name, Err: err}
	}
	recordLines(&root, &s)
	if len(s.Candidates) == 0 {
		return nil, &SpecError{File: name, Err: errors.New("no candidates: list at least one under `candidates`, each with `parts`")}
	}
	for i := range s.Candidates {
		c := &s.Candidates[i]
		if len(c.Parts) == 0 {
			return nil, &SpecError{File: name, Line: c.line, Err: fmt.Errorf("candidate %s has no parts", c.label(i))}
		}
		for j := range c.Parts {
			if err := c.Parts[j].check(); err != nil {
				return nil, &SpecError{File: name, Line: c.Parts[j].line, Err: fmt.Errorf("candidate %s, part %d: %w", c.label(i), j+1, err)}
			}
		}
	}
	return &s, nil
}

// recordLines copies each candidate's and part's line from the node tree.
func recordLines(root *yaml.Node, s *Spec) {
	if len(root.Content) != 1 {
		return
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != "candidates" {
			continue
		}
		for ci, cn := range m.Content[i+1].Content {
			if ci >= len(s.Candidates) {
				break
			}
			s.Candidates[ci].line = cn.Line
			for q := 0; q+1 < len(cn.Content); q += 2 {
				if cn.Content[q].Value != "parts" {
					continue
				}
				for pi, pn := range cn.Content[q+1].Content {
					if pi < len(s.Candidates[ci].Parts) {
						s.Candidates[ci].Parts[pi].line = pn.Line
					}
				}
			}
		}
	}
}

func (c *CandidateSpec) label(i int) string {
	if c.Name != "" {
		return strconv.Quote(c.Name)
	}
	return fmt.Sprintf("#%d", i+1)
}

// check validates a part without the data: the kind, the ranges and the
// optimizer.
func (p *PartSpec) check() error {
	if p.Kind != "" {
		k, err := train.ParseKind(p.Kind)
		if err != nil {
			return err
		}
		if !k.Classifier() {
			return fmt.Errorf("kind %s: a cascade's cheap model must be a classifier", p.Kind)
		}
	}
	if p.Ngrams != nil && *p.Ngrams < 0 {
		return fmt.Errorf("ngrams %d must be >= 0", *p.Ngrams)
	}
	if p.Chars != nil && (len(p.Chars) != 2 || p.Chars[0] < 1 || p.Chars[1] < p.Chars[0]) {
		return fmt.Errorf("chars %v: want [MIN, MAX] with 1 <= MIN <= MAX", p.Chars)
	}
	switch p.Opt {
	case "", "sgd", "adagrad", "lbfgs":
	default:
		return fmt.Errorf("opt %q: want sgd, adagrad or lbfgs", p.Opt)
	}
	if p.Bits < 0 || p.Epochs < 0 || p.Hidden < 0 || p.L2 < 0 || p.LR < 0 {
		return errors.New("bits, epochs, hidden, l2 and lr must be >= 0")
	}
	return nil
}

// Trainer builds the part's trainer over the text and numeric columns.
func (p *PartSpec) Trainer(text, numeric []string) (LinearTrainer, error) {
	var t LinearTrainer
	if err := p.check(); err != nil {
		return t, err
	}
	t.Options.Model = train.LogReg
	if p.Kind != "" {
		t.Options.Model, _ = train.ParseKind(p.Kind)
	}
	ngrams := 2
	if p.Ngrams != nil {
		ngrams = *p.Ngrams
	}
	cmin, cmax := 0, 0
	if len(p.Chars) == 2 {
		cmin, cmax = p.Chars[0], p.Chars[1]
	}
	t.Features.Bits = featurize.DefaultBits
	if p.Bits > 0 {
		t.Features.Bits = p.Bits
	}
	t.Options.Epochs, t.Options.Hidden, t.Options.LR, t.Options.L2, t.Options.Optimizer = p.Epochs, p.Hidden, p.LR, p.L2, p.Opt
	t.Augment = p.Augment
	for _, c := range text {
		t.Features.Text = append(t.Features.Text, featurize.Text{Column: c, Words: ngrams, CharMin: cmin, CharMax: cmax, Lower: true, TFIDF: p.TFIDF})
	}
	t.Features.Numeric = numeric
	if t.Options.L2 == 0 {
		t.Options.L2 = 1e-4
	}
	t.Options.Threads = 1 // deterministic for a seed
	return t, nil
}

// String writes the part as KIND,key=value..., the form of the deprecated
// --cheap flag.
func (p *PartSpec) String() string {
	kind := p.Kind
	if kind == "" {
		kind = "logreg"
	}
	kv := []string{kind}
	if p.Ngrams != nil {
		kv = append(kv, "ngrams="+strconv.Itoa(*p.Ngrams))
	}
	if len(p.Chars) == 2 {
		kv = append(kv, fmt.Sprintf("chars=%d-%d", p.Chars[0], p.Chars[1]))
	}
	for _, f := range []struct {
		k string
		v int
	}{{"bits", p.Bits}, {"epochs", p.Epochs}, {"hidden", p.Hidden}} {
		if f.v != 0 {
			kv = append(kv, f.k+"="+strconv.Itoa(f.v))
		}
	}
	if p.L2 != 0 {
		kv = append(kv, "l2="+strconv.FormatFloat(p.L2, 'g', -1, 64))
	}
	if p.LR != 0 {
		kv = append(kv, "lr="+strconv.FormatFloat(p.LR, 'g', -1, 64))
	}
	if p.Opt != "" {
		kv = append(kv, "opt="+p.Opt)
	}
	if p.TFIDF {
		kv = append(kv, "tfidf=true")
	}
	if p.Augment {
		kv = append(kv, "augment=true")
	}
	return strings.Join(kv, ",")
}

// Build turns the spec into Build's candidates over the given columns.
func (s *Spec) Build(text, numeric []string) ([]Candidate, error) {
	var out []Candidate
	for i := range s.Candidates {
		c := &s.Candidates[i]
		var parts []Trainer
		var names []string
		for j := range c.Parts {
			t, err := c.Parts[j].Trainer(text, numeric)
			if err != nil {
				return nil, fmt.Errorf("cascade: candidate %s, part %d: %w", c.label(i), j+1, err)
			}
			parts = append(parts, t)
			names = append(names, c.Parts[j].String())
		}
		name := c.Name
		if name == "" {
			name = strings.Join(names, "+")
		}
		var tr Trainer = BlendTrainer{Parts: parts}
		if len(parts) == 1 {
			tr = parts[0]
		}
		out = append(out, Candidate{Name: name, Trainer: tr})
	}
	return out, nil
}

var partKeys = []string{"ngrams", "chars", "bits", "epochs", "hidden", "l2", "lr", "opt", "tfidf", "augment"}

// ParseInline parses the deprecated --cheap mini-language into a Spec:
// candidates separated by ';', each one or more parts joined by '+', each
// part KIND[,key=value...] with the keys of PartSpec (chars=MIN-MAX). Each
// candidate is named by its text, as before.
func ParseInline(src string) (*Spec, error) {
	var s Spec
	for _, cand := range strings.Split(src, ";") {
		cand = strings.TrimSpace(cand)
		c := CandidateSpec{Name: cand}
		for _, part := range strings.Split(cand, "+") {
			p, err := parseInlinePart(strings.TrimSpace(part))
			if err != nil {
				return nil, err
			}
			c.Parts = append(c.Parts, p)
		}
		s.Candidates = append(s.Candidates, c)
	}
	return &s, nil
}

func parseInlinePart(src string) (PartSpec, error) {
	fields := strings.Split(src, ",")
	p := PartSpec{Kind: fields[0]}
	if err := p.check(); err != nil {
		return p, fmt.Errorf("--cheap %s: %w", fields[0], err)
	}
	for _, kv := range fields[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return p, fmt.Errorf("--cheap: %q is not key=value", kv)
		}
		var err error
		switch k {
		case "ngrams":
			var n int
			n, err = strconv.Atoi(v)
			p.Ngrams = &n
		case "chars":
			a, b, ok := strings.Cut(v, "-")
			lo, e1 := strconv.Atoi(a)
			hi, e2 := strconv.Atoi(b)
			if !ok || e1 != nil || e2 != nil {
				err = errors.New("want MIN-MAX")
			}
			p.Chars = []int{lo, hi}
		case "bits":
			p.Bits, err = strconv.Atoi(v)
		case "epochs":
			p.Epochs, err = strconv.Atoi(v)
		case "hidden":
			p.Hidden, err = strconv.Atoi(v)
		case "l2":
			p.L2, err = strconv.ParseFloat(v, 64)
		case "lr":
			p.LR, err = strconv.ParseFloat(v, 64)
		case "opt":
			p.Opt = v
		case "tfidf":
			p.TFIDF, err = strconv.ParseBool(v)
		case "augment":
			p.Augment, err = strconv.ParseBool(v)
		default:
			err = fmt.Errorf("unknown key (%s)", strings.Join(partKeys, ", "))
		}
		if err == nil {
			err = p.check()
		}
		if err != nil {
			return p, fmt.Errorf("--cheap %s: %v", kv, err)
		}
	}
	return p, nil
}
