package cascade

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/featurize"
	"github.com/dawn-ml/dawn/train"
)

func TestParseInlinePart(t *testing.T) {
	cases := []struct {
		spec    string
		want    featurize.Text
		bits    int
		opt     train.Options
		wantErr string
	}{
		{spec: "logreg", want: featurize.Text{Column: "text", Words: 2, Lower: true}, bits: featurize.DefaultBits,
			opt: train.Options{Model: train.LogReg, L2: 1e-4, Threads: 1}},
		{spec: "logreg,ngrams=2,bits=16,l2=0.00001,opt=lbfgs,tfidf=true", want: featurize.Text{Column: "text", Words: 2, Lower: true, TFIDF: true}, bits: 16,
			opt: train.Options{Model: train.LogReg, Optimizer: "lbfgs", L2: 1e-5, Threads: 1}},
		{spec: "logreg,ngrams=1,chars=2-4,epochs=60,lr=0.5,opt=adagrad", want: featurize.Text{Column: "text", Words: 1, CharMin: 2, CharMax: 4, Lower: true}, bits: featurize.DefaultBits,
			opt: train.Options{Model: train.LogReg, Optimizer: "adagrad", Epochs: 60, LR: 0.5, L2: 1e-4, Threads: 1}},
		{spec: "logreg,ngrams=0,chars=2-4,tfidf=true,augment=true", want: featurize.Text{Column: "text", CharMin: 2, CharMax: 4, Lower: true, TFIDF: true}, bits: featurize.DefaultBits,
			opt: train.Options{Model: train.LogReg, L2: 1e-4, Threads: 1}},
		{spec: "logreg,augment=maybe", wantErr: "--cheap augment=maybe"},
		{spec: "logreg,opt=adam", wantErr: `--cheap opt=adam: opt "adam": want sgd, adagrad or lbfgs`},
		{spec: "logreg,tfidf=maybe", wantErr: "--cheap tfidf=maybe"},
		{spec: "logreg,lr=fast", wantErr: "--cheap lr=fast"},
		{spec: "logreg,chars=4-2", wantErr: "chars [4 2]: want [MIN, MAX]"},
		{spec: "logreg,colour=red", wantErr: "unknown key (ngrams, chars, bits, epochs, hidden, l2, lr, opt, tfidf, augment)"},
		{spec: "linreg", wantErr: "must be a classifier"},
	}
	for _, c := range cases {
		t.Run(c.spec, func(t *testing.T) {
			s, err := ParseInline(c.spec)
			var cands []Candidate
			if err == nil {
				cands, err = s.Build([]string{"text"}, nil)
			}
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(cands) != 1 || cands[0].Name != c.spec {
				t.Fatalf("candidates %+v", cands)
			}
			tr := cands[0].Trainer.(LinearTrainer)
			if len(tr.Features.Text) != 1 || tr.Features.Text[0] != c.want {
				t.Errorf("text features = %+v, want %+v", tr.Features.Text, c.want)
			}
			if tr.Features.Bits != c.bits {
				t.Errorf("bits = %d, want %d", tr.Features.Bits, c.bits)
			}
			if tr.Augment != strings.Contains(c.spec, "augment=true") {
				t.Errorf("augment = %v", tr.Augment)
			}
			o := tr.Options
			if o.Model != c.opt.Model || o.Optimizer != c.opt.Optimizer || o.Epochs != c.opt.Epochs || o.LR != c.opt.LR || o.L2 != c.opt.L2 || o.Threads != c.opt.Threads {
				t.Errorf("options = %+v, want %+v", o, c.opt)
			}
		})
	}
}

// Parts joined by '+' are blended; one part is a plain linear trainer;
// candidates are separated by ';'.
func TestParseInlineBlend(t *testing.T) {
	s, err := ParseInline("logreg,ngrams=2 + logreg,ngrams=0,chars=2-4,augment=true; logreg")
	if err != nil {
		t.Fatal(err)
	}
	cands, err := s.Build([]string{"text"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cands) != 2 {
		t.Fatalf("%d candidates", len(cands))
	}
	b, ok := cands[0].Trainer.(BlendTrainer)
	if !ok || len(b.Parts) != 2 {
		t.Fatalf("trainer %#v, want a blend of two parts", cands[0].Trainer)
	}
	if p := b.Parts[1].(LinearTrainer); !p.Augment || p.Features.Text[0].CharMax != 4 || p.Features.Text[0].Words != 0 {
		t.Errorf("second part %+v", p)
	}
	if _, ok := cands[1].Trainer.(LinearTrainer); !ok {
		t.Errorf("single part is %T", cands[1].Trainer)
	}
	if _, err := ParseInline("logreg+linreg"); err == nil || !strings.Contains(err.Error(), "classifier") {
		t.Errorf("err %v", err)
	}
}

// The YAML file and the inline form of the same models build the same
// trainers; unnamed candidates are named by their inline form.
func TestSpecFileMatchesInline(t *testing.T) {
	yml := `candidates:
  - parts:
      - kind: logreg
        ngrams: 2
        bits: 16
        l2: 0.000001
        opt: lbfgs
        tfidf: true
      - kind: logreg
        ngrams: 0
        chars: [2, 4]
        bits: 16
        l2: 0.000001
        opt: lbfgs
        tfidf: true
        augment: true
  - name: plain
    parts:
      - {}
`
	inline := "logreg,ngrams=2,bits=16,l2=1e-06,opt=lbfgs,tfidf=true+logreg,ngrams=0,chars=2-4,bits=16,l2=1e-06,opt=lbfgs,tfidf=true,augment=true;logreg"
	fs, err := ParseSpec([]byte(yml), "cheap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	is, err := ParseInline(inline)
	if err != nil {
		t.Fatal(err)
	}
	fc, err := fs.Build([]string{"text"}, []string{"n"})
	if err != nil {
		t.Fatal(err)
	}
	ic, err := is.Build([]string{"text"}, []string{"n"})
	if err != nil {
		t.Fatal(err)
	}
	if len(fc) != 2 || len(ic) != 2 {
		t.Fatalf("%d and %d candidates", len(fc), len(ic))
	}
	if fc[0].Name != strings.Split(inline, ";")[0] || fc[1].Name != "plain" {
		t.Errorf("names %q, %q", fc[0].Name, fc[1].Name)
	}
	for i := range fc {
		if !reflect.DeepEqual(fc[i].Trainer, ic[i].Trainer) {
			t.Errorf("candidate %d: file %+v, inline %+v", i+1, fc[i].Trainer, ic[i].Trainer)
		}
	}
}

func TestParseSpecErrors(t *testing.T) {
	cases := []struct{ name, yml, want string }{
		{"typo at the top", "candidate:\n  - parts: [{}]\n", `cheap.yaml:1: unknown key "candidate" (did you mean "candidates"?)`},
		{"typo in a part", "candidates:\n  - name: a\n    parts:\n      - kind: logreg\n        ngram: 2\n",
			`cheap.yaml:5: unknown key "ngram" (did you mean "ngrams"?); candidates[1].parts[1]'s keys are kind, ngrams, chars`},
		{"no candidates", "candidates: []\n", "cheap.yaml: no candidates"},
		{"no parts", "candidates:\n  - name: a\n", `cheap.yaml:2: candidate "a" has no parts`},
		{"bad kind", "candidates:\n  - parts:\n      - kind: linreg\n", "cheap.yaml:3: candidate #1, part 1: kind linreg: a cascade's cheap model must be a classifier"},
		{"bad chars", "candidates:\n  - parts:\n      - {}\n      - chars: [3]\n", "cheap.yaml:4: candidate #1, part 2: chars [3]"},
		{"bad opt", "candidates:\n  - parts:\n      - opt: adam\n", `opt "adam": want sgd, adagrad or lbfgs`},
		{"wrong type", "candidates:\n  - parts:\n      - ngrams: two\n", "cheap.yaml: yaml: unmarshal errors"},
		{"not yaml", "candidates: [\n", "cheap.yaml: yaml:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseSpec([]byte(c.yml), "cheap.yaml")
			var se *SpecError
			if !errors.As(err, &se) {
				t.Fatalf("err %v, want a *SpecError", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %q, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestLoadSpec(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "cheap.yaml")
	if err := os.WriteFile(p, []byte("candidates:\n  - parts: [{kind: logreg, tfidf: true}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := LoadSpec(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Candidates) != 1 || !s.Candidates[0].Parts[0].TFIDF {
		t.Fatalf("%+v", s)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, make([]byte, MaxSpecBytes+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSpec(big); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("big file: %v", err)
	}
	if _, err := LoadSpec(filepath.Join(dir, "absent.yaml")); err == nil {
		t.Error("absent file loaded")
	}
}

// The default spec is the documented default cheap model.
func TestDefaultSpec(t *testing.T) {
	c, err := DefaultSpec().Build([]string{"text"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c[0].Name != "logreg,ngrams=2,bits=16,l2=1e-05,opt=lbfgs,tfidf=true" {
		t.Errorf("name %q", c[0].Name)
	}
}

func FuzzParseSpec(f *testing.F) {
	f.Add([]byte("candidates:\n  - parts: [{kind: logreg, chars: [2, 4]}]\n"))
	f.Add([]byte("candidates:\n  - name: x\n    parts:\n      - ngrams: -1\n"))
	f.Add([]byte("candidate: 3\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSpec(b, "f.yaml")
		if err != nil {
			if s != nil {
				t.Fatal("spec and error")
			}
			return
		}
		if _, err := s.Build([]string{"text"}, nil); err != nil {
			t.Fatalf("a spec that parsed does not build: %v", err)
		}
	})
}
