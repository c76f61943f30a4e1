package main

import (
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/cascade"
	"github.com/dawn-ml/dawn/featurize"
	"github.com/dawn-ml/dawn/train"
)

func TestParseCheap(t *testing.T) {
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
		{spec: "logreg,opt=adam", wantErr: "--cheap opt=adam: want sgd, adagrad or lbfgs"},
		{spec: "logreg,tfidf=maybe", wantErr: "--cheap tfidf=maybe"},
		{spec: "logreg,lr=fast", wantErr: "--cheap lr=fast"},
		{spec: "logreg,colour=red", wantErr: "unknown key (ngrams, chars, bits, epochs, hidden, l2, lr, opt, tfidf, augment)"},
		{spec: "linreg", wantErr: "must be a classifier"},
	}
	for _, c := range cases {
		t.Run(c.spec, func(t *testing.T) {
			tr, err := parseCheapPart(c.spec, []string{"text"}, nil)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
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

// Parts joined by '+' are blended; one part is a plain linear trainer.
func TestParseCheapBlend(t *testing.T) {
	tr, err := parseCheap("logreg,ngrams=2 + logreg,ngrams=0,chars=2-4,augment=true", []string{"text"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, ok := tr.(cascade.BlendTrainer)
	if !ok || len(b.Parts) != 2 {
		t.Fatalf("trainer %#v, want a blend of two parts", tr)
	}
	if p := b.Parts[1].(cascade.LinearTrainer); !p.Augment || p.Features.Text[0].CharMax != 4 || p.Features.Text[0].Words != 0 {
		t.Errorf("second part %+v", p)
	}
	if tr, _ := parseCheap("logreg", []string{"text"}, nil); tr == nil {
		t.Error("single part")
	} else if _, ok := tr.(cascade.LinearTrainer); !ok {
		t.Errorf("single part is %T", tr)
	}
	if _, err := parseCheap("logreg+linreg", []string{"text"}, nil); err == nil || !strings.Contains(err.Error(), "classifier") {
		t.Errorf("err %v", err)
	}
}
