package main

import (
	"strings"
	"testing"

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
		{spec: "logreg,opt=adam", wantErr: "--cheap opt=adam: want sgd, adagrad or lbfgs"},
		{spec: "logreg,tfidf=maybe", wantErr: "--cheap tfidf=maybe"},
		{spec: "logreg,lr=fast", wantErr: "--cheap lr=fast"},
		{spec: "logreg,colour=red", wantErr: "unknown key (ngrams, chars, bits, epochs, hidden, l2, lr, opt, tfidf)"},
		{spec: "linreg", wantErr: "must be a classifier"},
	}
	for _, c := range cases {
		t.Run(c.spec, func(t *testing.T) {
			tr, err := parseCheap(c.spec, []string{"text"}, nil)
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
			o := tr.Options
			if o.Model != c.opt.Model || o.Optimizer != c.opt.Optimizer || o.Epochs != c.opt.Epochs || o.LR != c.opt.LR || o.L2 != c.opt.L2 || o.Threads != c.opt.Threads {
				t.Errorf("options = %+v, want %+v", o, c.opt)
			}
		})
	}
}
