// Command cascadedev compares cheap-model recipes for a cascade on a build
// sample, the way `dawn cascade build` scores them: the sample is labeled by
// a local reference model and cut into the same folds (seed 1), and each
// recipe's cross-fitted (out-of-fold) scores go to the optimizer, which
// reports the fraction of rows sent to the reference at 3, 5, 7, 9 and 15
// disagreements. With -nested K it estimates how thresholds chosen on
// out-of-fold scores transfer: K outer folds, each answered by the inner
// fold models (combined) with thresholds chosen on the inner rows, for
// several error-budget rules. It is the tool behind the recipe comparisons
// in docs/serve.md; it never reads test rows unless given -test.
//
//	go run ./bench/serve/cascadedev -ref reference/ -sample split1/sample.csv \
//	    -logitavg -spec 'ngrams=2,tfidf=true,l2=0.000001,shared=1+ngrams=0,chars=2-4,tfidf=true,l2=0.000001,shared=1,aug=2'
//
// A spec is one or more recipes joined by '+' (their logits averaged), each
// comma-separated keys: ngrams, chars (MIN-MAX), chars2 (a second,
// character-only block on a copy of the column), bits (default 16), l2
// (default 1e-5), iters, tfidf, hidden (an MLP), loss (prob: soft labels,
// the default; hard; logit: least squares on the reference's logit clipped
// to ±clip), temp (soft-label temperature), wbound (weight rows near the
// reference's boundary), aug (fragments of the training rows labeled by the
// reference: 1 sentences and halves, 2 cascade.Fragments, 3 and 4 other
// word windows), augw (their weight), shared (1: one featurizer fitted on
// the whole sample, as Build does; 2: on the sample and its fragments).
// All fitted with L-BFGS.
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/dawn-ml/dawn/cascade"
	"github.com/dawn-ml/dawn/data"
	"github.com/dawn-ml/dawn/featurize"
	_ "github.com/dawn-ml/dawn/label"
	"github.com/dawn-ml/dawn/model"
	"github.com/dawn-ml/dawn/train"
)

var logitAvg bool

type specs []string

func (s *specs) String() string     { return strings.Join(*s, " | ") }
func (s *specs) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	ref := flag.String("ref", "", "reference model directory")
	sample := flag.String("sample", "", "build sample CSV")
	test := flag.String("test", "", "optional test CSV (report only)")
	seed := flag.Uint64("seed", 1, "fold seed")
	folds := flag.Int("folds", 5, "folds")
	target := flag.Float64("target", 0.99, "target agreement")
	conf := flag.Float64("conf", 0.95, "Wilson confidence")
	dump := flag.String("dump", "", "write out-of-fold scores of the first spec here")
	flag.BoolVar(&logitAvg, "logitavg", false, "average fold models' logits, not probabilities")
	nested := flag.Int("nested", 0, "K > 0: nested cross-validation, K outer folds (estimates transfer)")
	var sp specs
	flag.Var(&sp, "spec", "cheap recipe (repeatable)")
	flag.Parse()
	if err := run(*ref, *sample, *test, *seed, *folds, *target, *conf, sp, *dump, *nested); err != nil {
		fmt.Fprintln(os.Stderr, "cascadedev:", err)
		os.Exit(1)
	}
}

func texts(rec arrow.RecordBatch) []string {
	idx := rec.Schema().FieldIndices("text")
	a := rec.Column(idx[0]).(*array.String)
	out := make([]string, a.Len())
	for i := range out {
		out[i] = a.Value(i)
	}
	return out
}

func textBatch(ts []string) arrow.RecordBatch {
	b := array.NewStringBuilder(memory.DefaultAllocator)
	b.AppendValues(ts, nil)
	a := b.NewArray()
	sch := arrow.NewSchema([]arrow.Field{{Name: "text", Type: arrow.BinaryTypes.String}, {Name: "text2", Type: arrow.BinaryTypes.String}}, nil)
	return array.NewRecordBatch(sch, []arrow.Array{a, a}, int64(len(ts)))
}

// recipe is one cheap-model recipe.
type recipe struct {
	feat   featurize.Config
	opt    train.Options
	loss   string  // prob (soft labels), logit (least squares on the clipped logit), hard
	clip   float64 // logit clip
	temp   float64 // soft-label temperature
	wbound float64 // weight rows by 1 + wbound*4p(1-p) of the reference
	aug    int     // add fragments of the training rows, labeled by the reference
	augw   float64 // their weight
	shared int     // 1: fit the featurizer once on the whole sample; 2: on the sample and its fragments
	pre    *featurize.Featurizer
}

func parse(spec string) (recipe, error) {
	r := recipe{loss: "prob", clip: 10, temp: 1, augw: 1}
	ngrams, cmin, cmax, tfidf := 2, 0, 0, false
	c2min, c2max := 0, 0
	r.feat.Bits = 16
	r.opt.L2 = 1e-5
	r.opt.Optimizer = "lbfgs"
	for _, kv := range strings.Split(spec, ",") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		var err error
		switch k {
		case "ngrams":
			ngrams, err = strconv.Atoi(v)
		case "chars":
			a, b, _ := strings.Cut(v, "-")
			cmin, _ = strconv.Atoi(a)
			cmax, err = strconv.Atoi(b)
		case "chars2":
			a, b, _ := strings.Cut(v, "-")
			c2min, _ = strconv.Atoi(a)
			c2max, err = strconv.Atoi(b)
		case "bits":
			r.feat.Bits, err = strconv.Atoi(v)
		case "iters":
			r.opt.Epochs, err = strconv.Atoi(v)
		case "l2":
			r.opt.L2, err = strconv.ParseFloat(v, 64)
		case "tfidf":
			tfidf, err = strconv.ParseBool(v)
		case "loss":
			r.loss = v
		case "clip":
			r.clip, err = strconv.ParseFloat(v, 64)
		case "temp":
			r.temp, err = strconv.ParseFloat(v, 64)
		case "shared":
			r.shared, err = strconv.Atoi(v)
		case "augw":
			r.augw, err = strconv.ParseFloat(v, 64)
		case "aug":
			r.aug, err = strconv.Atoi(v)
		case "wbound":
			r.wbound, err = strconv.ParseFloat(v, 64)
		case "hidden":
			r.opt.Model = train.MLP
			r.opt.Hidden, err = strconv.Atoi(v)
		default:
			err = fmt.Errorf("unknown key %q", k)
		}
		if err != nil {
			return r, fmt.Errorf("%s: %v", kv, err)
		}
	}
	r.feat.Text = []featurize.Text{{Column: "text", Words: ngrams, CharMin: cmin, CharMax: cmax, Lower: true, TFIDF: tfidf}}
	if c2max > 0 {
		r.feat.Text = append(r.feat.Text, featurize.Text{Column: "text2", CharMin: c2min, CharMax: c2max, Lower: true, TFIDF: tfidf})
	}
	r.opt.Threads = 1
	return r, nil
}

// fitted is a trained cheap model: it returns logits.
type fitted struct {
	feat *featurize.Featurizer
	p    *train.Params
	m    *train.Model
}

func (f *fitted) logits(rec arrow.RecordBatch) []float64 {
	pr, err := f.m.Predict(context.Background(), rec)
	if err != nil {
		panic(err)
	}
	if pr.Values != nil {
		return pr.Values
	}
	out := make([]float64, int(rec.NumRows()))
	for i := range out {
		p := min(max(pr.Probs[2*i+1], 1e-300), 1-1e-16)
		out[i] = math.Log(p / (1 - p))
	}
	return out
}

// combo averages its parts' logits.
type combo struct{ parts []*fitted }

func (c *combo) logits(rec arrow.RecordBatch) []float64 {
	var out []float64
	for _, m := range c.parts {
		z := m.logits(rec)
		if out == nil {
			out = make([]float64, len(z))
		}
		for i, v := range z {
			out[i] += v / float64(len(c.parts))
		}
	}
	return out
}

func (r recipe) fit(rec arrow.RecordBatch, refLogit, weight []float64) (*fitted, error) {
	feat := r.pre
	if feat == nil {
		var err error
		feat, err = featurize.Fit(r.feat, []arrow.RecordBatch{rec})
		if err != nil {
			return nil, err
		}
	}
	X := featurize.NewMatrix(feat.Dim())
	if err := feat.Transform(rec, X); err != nil {
		return nil, err
	}
	n := X.Rows()
	ds := &train.Dataset{X: X}
	opt := r.opt
	switch r.loss {
	case "logit":
		opt.Model = train.LinReg
		ds.C = 1
		ds.Y = make([]float64, n)
		for i, z := range refLogit {
			ds.Y[i] = max(-r.clip, min(r.clip, z))
		}
	default:
		if opt.Model == "" {
			opt.Model = train.LogReg
		}
		ds.C = 2
		ds.Y = make([]float64, 2*n)
		for i, z := range refLogit {
			p := 1 / (1 + math.Exp(-z/r.temp))
			if r.loss == "hard" {
				p = 0
				if z > 0 {
					p = 1
				}
			}
			ds.Y[2*i], ds.Y[2*i+1] = 1-p, p
		}
	}
	ds.Weight = weight
	if r.wbound > 0 {
		ds.Weight = make([]float64, n)
		for i, z := range refLogit {
			p := 1 / (1 + math.Exp(-z))
			ds.Weight[i] = 1 + r.wbound*4*p*(1-p)
		}
	}
	res, err := train.Fit(context.Background(), ds, opt)
	if err != nil {
		return nil, err
	}
	classes := []string{"ham", "spam"}
	m := &train.Model{Kind: opt.Model, Classes: classes, Feat: feat, Params: res.Params}
	return &fitted{feat: feat, p: res.Params, m: m}, nil
}

func run(refDir, samplePath, testPath string, seed uint64, folds int, target, conf float64, sp specs, dump string, nested int) error {
	ctx := context.Background()
	refM, err := model.Load(refDir)
	if err != nil {
		return err
	}
	rec, err := data.ReadRecord(samplePath, data.Options{})
	if err != nil {
		return err
	}
	ts := texts(rec)
	n := len(ts)
	t0 := time.Now()
	rp, err := refM.Predict(ctx, rec)
	if err != nil {
		return err
	}
	refCost := time.Since(t0).Seconds() / float64(n)
	refLogit := make([]float64, n)
	refLab := rp.Labels
	for i := range refLogit {
		p := min(max(rp.Probs[2*i+1], 1e-300), 1-1e-16)
		refLogit[i] = math.Log(p / (1 - p))
	}
	cache := map[string]float64{}
	labeler := func(xs []string) []float64 {
		var todo []string
		for _, x := range xs {
			if _, ok := cache[x]; !ok {
				todo = append(todo, x)
				cache[x] = 0
			}
		}
		if len(todo) > 0 {
			p, err := refM.Predict(ctx, textBatch(todo))
			if err != nil {
				panic(err)
			}
			for i, x := range todo {
				q := min(max(p.Probs[2*i+1], 1e-300), 1-1e-16)
				cache[x] = math.Log(q / (1 - q))
			}
		}
		out := make([]float64, len(xs))
		for i, x := range xs {
			out[i] = cache[x]
		}
		return out
	}
	var testTs []string
	var testRef []int
	if testPath != "" {
		tr, err := data.ReadRecord(testPath, data.Options{})
		if err != nil {
			return err
		}
		testTs = texts(tr)
		tp, err := refM.Predict(ctx, tr)
		if err != nil {
			return err
		}
		testRef = tp.Labels
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	rand.New(rand.NewPCG(seed, 0x5eed)).Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
	foldOf := make([]int, n)
	for j, i := range order {
		foldOf[i] = j % folds
	}
	fmt.Printf("sample %d rows, reference %.1f µs/row in process, spam %.3f\n", n, 1e6*refCost, frac(refLab, 1))
	crossFit := func(rs []recipe, idx []int) ([]float64, []*combo, error) {
		m := len(idx)
		ord := make([]int, m)
		for i := range ord {
			ord[i] = i
		}
		rand.New(rand.NewPCG(seed, 0x5eed)).Shuffle(m, func(i, j int) { ord[i], ord[j] = ord[j], ord[i] })
		fo := make([]int, m)
		for j, i := range ord {
			fo[i] = j % folds
		}
		oof := make([]float64, m)
		var models []*combo
		for ri := range rs {
			if rs[ri].shared > 0 {
				all := pick(ts, idx)
				if rs[ri].shared == 2 && rs[ri].aug > 0 {
					all = append(all, fragments(all, rs[ri].aug)...)
				}
				f, err := featurize.Fit(rs[ri].feat, []arrow.RecordBatch{textBatch(all)})
				if err != nil {
					return nil, nil, err
				}
				rs[ri].pre = f
			}
		}
		for f := 0; f < folds; f++ {
			var tr, he []int
			var heAt []int
			for k, i := range idx {
				if fo[k] == f {
					he = append(he, i)
					heAt = append(heAt, k)
				} else {
					tr = append(tr, i)
				}
			}
			c := &combo{}
			for _, r := range rs {
				trT, trZ := pick(ts, tr), pickF(refLogit, tr)
				var trW []float64
				if r.aug > 0 {
					fr := fragments(trT, r.aug)
					trW = make([]float64, len(trT)+len(fr))
					for i := range trW {
						trW[i] = 1
						if i >= len(trT) {
							trW[i] = r.augw
						}
					}
					trT = append(trT, fr...)
					trZ = append(trZ, labeler(fr)...)
				}
				mm, err := r.fit(textBatch(trT), trZ, trW)
				if err != nil {
					return nil, nil, err
				}
				c.parts = append(c.parts, mm)
			}
			z := c.logits(textBatch(pick(ts, he)))
			for j, k := range heAt {
				oof[k] = z[j]
			}
			models = append(models, c)
		}
		return oof, models, nil
	}
	if nested > 0 {
		outer := make([]int, n)
		for i := range outer {
			outer[i] = i
		}
		rand.New(rand.NewPCG(seed+1000, 7)).Shuffle(n, func(i, j int) { outer[i], outer[j] = outer[j], outer[i] })
		ofold := make([]int, n)
		for j, i := range outer {
			ofold[i] = j % nested
		}
		type rule struct {
			name   string
			target float64
			conf   float64
			window int
		}
		rules := []rule{{"e0.58%", 0.9942, 0, 0}, {"e0.45%", 0.9955, 0, 0}, {"e0.32%", 0.9968, 0, 0}, {"e0.2%", 0.998, 0, 0}, {"e0.1%", 0.9991, 0, 0}, {"e0", 1, 0, 0}, {"wilson.95", target, 0.95, 0}, {"wilson.99", target, 0.99, 0},
			{"w392@.95", target, 0.95, 392}, {"w250@.95", target, 0.95, 250}}
		for _, spec := range sp {
			var rs []recipe
			for _, part := range strings.Split(spec, "+") {
				r, err := parse(part)
				if err != nil {
					return err
				}
				rs = append(rs, r)
			}
			inAg, inRef, outErr, outRef := make([]float64, len(rules)), make([]float64, len(rules)), make([]int, len(rules)), make([]int, len(rules))
			perFold := make([]string, len(rules))
			for o := 0; o < nested; o++ {
				var in, out []int
				for i := 0; i < n; i++ {
					if ofold[i] == o {
						out = append(out, i)
					} else {
						in = append(in, i)
					}
				}
				oof, models, err := crossFit(rs, in)
				if err != nil {
					return err
				}
				sc := make([]float64, len(in))
				for k, z := range oof {
					sc[k] = 1 / (1 + math.Exp(-z))
				}
				h := &cascade.Heldout{Binary: true, Score: sc, Ref: pickI(refLab, in)}
				ob := textBatch(pick(ts, out))
				osc := make([]float64, len(out))
				for _, m := range models {
					for k, z := range m.logits(ob) {
						if logitAvg {
							osc[k] += z / float64(len(models))
						} else {
							osc[k] += 1 / (1 + math.Exp(-z)) / float64(len(models))
						}
					}
				}
				if logitAvg {
					for k, z := range osc {
						osc[k] = 1 / (1 + math.Exp(-z))
					}
				}
				for ri, ru := range rules {
					p, err := cascade.OptimizeMargin(h, cascade.Costs{Cheap: 0, Reference: 1}, ru.target, cascade.Margin{Confidence: ru.conf, Window: ru.window})
					if err != nil {
						return err
					}
					inAg[ri] += p.Agreement / float64(nested)
					inRef[ri] += p.ReferenceFraction / float64(nested)
					e, rf := 0, 0
					for k, i := range out {
						a := refLab[i]
						switch {
						case osc[k] <= p.Low:
							a = 0
						case osc[k] >= p.High:
							a = 1
						default:
							rf++
						}
						if a != refLab[i] {
							e++
							if os.Getenv("SHOWERR") == ru.name {
								fmt.Printf("  outer fold %d err ref=%d (logit %.1f) score=%.4f [%.4f %.4f] %q\n", o, refLab[i], refLogit[i], osc[k], p.Low, p.High, ts[i][:min(len(ts[i]), 100)])
							}
						}
					}
					outErr[ri] += e
					outRef[ri] += rf
					perFold[ri] += fmt.Sprintf(" %d/%d", e, rf)
				}
			}
			fmt.Println(spec)
			for ri, ru := range rules {
				fmt.Printf("  %-10s inner %.4f/%.3f  outer %.4f (%d errs) / %.3f   per fold errs/ref:%s\n", ru.name, inAg[ri], inRef[ri], 1-float64(outErr[ri])/float64(n), outErr[ri], float64(outRef[ri])/float64(n), perFold[ri])
			}
		}
		return nil
	}
	for si, spec := range sp {
		var rs []recipe
		for _, part := range strings.Split(spec, "+") {
			r, err := parse(part)
			if err != nil {
				return err
			}
			rs = append(rs, r)
		}
		t0 := time.Now()
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		oof, models, err := crossFit(rs, all)
		if err != nil {
			return err
		}
		fitTime := time.Since(t0)
		// cost: the ensemble on the sample
		sb := textBatch(ts)
		t0 = time.Now()
		for _, m := range models {
			m.logits(sb)
		}
		cost := time.Since(t0).Seconds() / float64(n)
		score := make([]float64, n)
		agree := 0
		for i, z := range oof {
			score[i] = 1 / (1 + math.Exp(-z))
			if (z > 0) == (refLab[i] == 1) {
				agree++
			}
		}
		h := &cascade.Heldout{Binary: true, Score: score, Ref: refLab}
		line := fmt.Sprintf("%-60s alone %.4f", spec, float64(agree)/float64(n))
		var plan *cascade.Plan
		line += " ref at errs"
		for _, e := range []int{3, 5, 7, 9, 15} {
			p, err := cascade.OptimizeConfident(h, cascade.Costs{Cheap: 0, Reference: 1}, 1-float64(e)/float64(n)-1e-9, 0)
			if err != nil {
				return err
			}
			line += fmt.Sprintf(" %d:%.3f", e, p.ReferenceFraction)
		}
		{
			p, err := cascade.OptimizeConfident(h, cascade.Costs{Cheap: 0, Reference: 1}, target, conf)
			if err != nil {
				return err
			}
			plan = p
		}
		line += fmt.Sprintf("  cost %.1f µs  fit %.1fs", 1e6*cost, fitTime.Seconds())
		if testTs != nil {
			tb := textBatch(testTs)
			zs := make([]float64, len(testTs))
			for _, m := range models {
				pz := m.logits(tb)
				for i, z := range pz {
					if logitAvg {
						zs[i] += z / float64(len(models))
					} else {
						zs[i] += 1 / (1 + math.Exp(-z)) / float64(len(models))
					}
				}
			}
			if logitAvg {
				for i, z := range zs {
					zs[i] = 1 / (1 + math.Exp(-z))
				}
			}
			ag, toRef := 0, 0
			for i, s := range zs {
				a := testRef[i]
				switch {
				case s <= plan.Low:
					a = 0
				case s >= plan.High:
					a = 1
				default:
					toRef++
				}
				if a == testRef[i] {
					ag++
				} else if os.Getenv("SHOWERR") != "" {
					fmt.Printf("  test err ref=%d score=%.5f (low %.5f high %.5f) %q\n", testRef[i], s, plan.Low, plan.High, testTs[i][:min(len(testTs[i]), 120)])
				}
			}
			line += fmt.Sprintf("  | test %d/%d %.4f ref %.3f", ag, len(zs), float64(ag)/float64(len(zs)), float64(toRef)/float64(len(zs)))
		}
		fmt.Println(line)
		if si == 0 && dump != "" {
			f, err := os.Create(dump)
			if err != nil {
				return err
			}
			for i := range ts {
				fmt.Fprintf(f, "%d\t%.4f\t%.4f\t%s\n", refLab[i], refLogit[i], oof[i], strings.ReplaceAll(ts[i], "\n", " "))
			}
			f.Close()
		}
	}
	return nil
}

func frac(l []int, c int) float64 {
	k := 0
	for _, v := range l {
		if v == c {
			k++
		}
	}
	return float64(k) / float64(len(l))
}

func pick(ts []string, idx []int) []string {
	out := make([]string, len(idx))
	for j, i := range idx {
		out[j] = ts[i]
	}
	return out
}

func pickI(v []int, idx []int) []int {
	out := make([]int, len(idx))
	for j, i := range idx {
		out[j] = v[i]
	}
	return out
}

func pickF(v []float64, idx []int) []float64 {
	out := make([]float64, len(idx))
	for j, i := range idx {
		out[j] = v[i]
	}
	return slices.Clip(out)
}

// fragments cuts each text into pieces: mode 1 sentences (when more than
// one) and word halves; mode 2 also word windows of 4.
func fragments(ts []string, mode int) []string {
	var out []string
	seen := map[string]bool{}
	add := func(x string) {
		x = strings.TrimSpace(x)
		if len(x) < 3 || seen[x] {
			return
		}
		seen[x] = true
		out = append(out, x)
	}
	if mode == 2 {
		for _, t := range ts {
			for _, x := range cascade.Fragments(t) {
				if !seen[x] {
					seen[x] = true
					out = append(out, x)
				}
			}
		}
		return out
	}
	for _, t := range ts {
		sent := strings.FieldsFunc(t, func(r rune) bool { return r == '.' || r == '!' || r == '?' || r == '\n' })
		if len(sent) > 1 {
			for _, x := range sent {
				add(x)
			}
		}
		w := strings.Fields(t)
		if len(w) >= 4 {
			add(strings.Join(w[:len(w)/2], " "))
			add(strings.Join(w[len(w)/2:], " "))
		}
		if mode == 2 && len(w) > 6 {
			for a := 0; a+4 <= len(w); a += 2 {
				add(strings.Join(w[a:a+4], " "))
			}
		}
		if mode == 3 {
			for _, k := range []int{2, 4, 8} {
				if len(w) <= k {
					continue
				}
				for a := 0; a+k <= len(w); a += max(1, k/2) {
					add(strings.Join(w[a:a+k], " "))
				}
			}
		}
		if mode == 4 {
			for _, k := range []int{1, 2, 3} {
				if len(w) <= k {
					continue
				}
				for a := 0; a+k <= len(w); a++ {
					add(strings.Join(w[a:a+k], " "))
				}
			}
		}
	}
	return out
}
