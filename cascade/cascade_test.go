package cascade

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/dawn-ml/dawn/model"
)

// keywordModel is a fake reference: spam when the text holds word.
type keywordModel struct {
	word  string
	delay time.Duration // per call, to make it expensive
	rows  atomic.Int64
}

func (m *keywordModel) prob(s string) float64 {
	if strings.Contains(s, m.word) {
		return 0.875
	}
	return 0.125
}

func (m *keywordModel) Info() *model.Info {
	return &model.Info{Type: "keyword", Classes: []string{"ham", "spam"}, Inputs: []model.Column{{Name: "text", Type: "string"}}}
}

func (m *keywordModel) Predict(ctx context.Context, rec arrow.RecordBatch) (*model.Prediction, error) {
	m.rows.Add(rec.NumRows())
	time.Sleep(m.delay)
	text := rec.Column(0).(*array.String)
	n := text.Len()
	p := &model.Prediction{Classes: []string{"ham", "spam"}, Probs: make([]float64, 2*n), Labels: make([]int, n)}
	for i := 0; i < n; i++ {
		ps := m.prob(text.Value(i))
		p.Probs[2*i], p.Probs[2*i+1] = 1-ps, ps
		if ps > 0.5 {
			p.Labels[i] = 1
		}
	}
	return p, nil
}

// prefixModel is a fake cheap model: it sees only the first two words and
// answers the spam rate of training rows sharing whether "buy" is among
// them.
type prefixModel struct {
	pBuy, pOther float64
	classes      []string
	saved        string
}

func firstTwo(s string) string {
	f := strings.Fields(s)
	return strings.Join(f[:min(2, len(f))], " ")
}

func (m *prefixModel) Info() *model.Info {
	return &model.Info{Type: "prefix", Classes: m.classes, Inputs: []model.Column{{Name: "text", Type: "string"}}}
}

func (m *prefixModel) Predict(ctx context.Context, rec arrow.RecordBatch) (*model.Prediction, error) {
	text := rec.Column(0).(*array.String)
	n := text.Len()
	p := &model.Prediction{Classes: m.classes, Probs: make([]float64, 2*n), Labels: make([]int, n)}
	for i := 0; i < n; i++ {
		ps := m.pOther
		if strings.Contains(firstTwo(text.Value(i)), "buy") {
			ps = m.pBuy
		}
		// A little per-row spread so thresholds have something to split.
		ps = min(1, max(0, ps+0.01*float64(len(text.Value(i))%7-3)))
		p.Probs[2*i], p.Probs[2*i+1] = 1-ps, ps
		if ps > 0.5 {
			p.Labels[i] = 1
		}
	}
	return p, nil
}

func (m *prefixModel) Save(dir string) error { m.saved = dir; return nil }

type prefixTrainer struct{}

func (prefixTrainer) Train(ctx context.Context, rows arrow.RecordBatch, targets []float64, classes []string, seed uint64) (Cheap, error) {
	text := rows.Column(0).(*array.String)
	var nb, sb, no, so float64
	for i := 0; i < text.Len(); i++ {
		l := 0.0
		if targets[2*i+1] > 0.5 {
			l = 1
		}
		if strings.Contains(firstTwo(text.Value(i)), "buy") {
			nb++
			sb += l
		} else {
			no++
			so += l
		}
	}
	return &prefixModel{pBuy: (sb + 1) / (nb + 2), pOther: (so + 1) / (no + 2), classes: classes}, nil
}

var words = strings.Fields("the a video song love great nice channel check out my please watch like subscribe")

// spamTexts makes n texts; about a third hold "buy", mostly among the first
// two words.
func spamTexts(r *rand.Rand, n int) []string {
	out := make([]string, n)
	for i := range out {
		w := make([]string, 3+r.IntN(8))
		for j := range w {
			w[j] = words[r.IntN(len(words))]
		}
		if r.IntN(3) == 0 {
			pos := 0
			if r.IntN(10) == 0 {
				pos = len(w) - 1
			}
			w[pos] = "buy"
		}
		out[i] = strings.Join(w, " ")
	}
	return out
}

func TestCascadePredictStages(t *testing.T) {
	ref := &keywordModel{word: "buy"}
	cheap := &prefixModel{pBuy: 0.99, pOther: 0.3, classes: []string{"ham", "spam"}}
	c, err := New(cheap, ref, Plan{Low: 0.2, High: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	rec := textBatch("buy it now", "ok then so", "hello there buy", "no")
	defer rec.Release()
	p, err := c.Predict(t.Context(), rec)
	if err != nil {
		t.Fatal(err)
	}
	// Row 0: cheap sure spam. Rows 1-3: p(spam) ~0.3 is between 0.2 and 0.9:
	// the reference answers (row 2 is spam by the reference).
	wantStage := []string{"cheap", "reference", "reference", "reference"}
	wantLabel := []int{1, 0, 1, 0}
	for i := range wantStage {
		if p.Stage[i] != wantStage[i] || p.Labels[i] != wantLabel[i] {
			t.Errorf("row %d: %s/%d, want %s/%d", i, p.Stage[i], p.Labels[i], wantStage[i], wantLabel[i])
		}
	}
	if p.Probs[2*2+1] != 0.875 {
		t.Errorf("reference row keeps the reference's probability: %v", p.Probs[4:6])
	}
	if ref.rows.Load() != 3 {
		t.Errorf("reference saw %d rows, want 3", ref.rows.Load())
	}
}

func TestCascadeDifferenceDetectorReuses(t *testing.T) {
	ref := &keywordModel{word: "buy"}
	cheap := &prefixModel{pBuy: 0.99, pOther: 0.3, classes: []string{"ham", "spam"}}
	c, _ := New(cheap, ref, Plan{Low: 0.2, High: 0.9, DiffThreshold: 0.2})
	rec := textBatch("hello there buy", "hello there buy", "something else", "something else!")
	defer rec.Release()
	p, err := c.Predict(t.Context(), rec)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.Stage, ","); got != "reference,reuse,reference,reuse" {
		t.Errorf("stages %s", got)
	}
	if p.Labels[1] != 1 || p.Labels[3] != 0 {
		t.Errorf("labels %v", p.Labels)
	}
	// The next call's first row is compared with the last call's last row.
	rec2 := textBatch("something else!")
	defer rec2.Release()
	p2, _ := c.Predict(t.Context(), rec2)
	if p2.Stage[0] != StageReuse || p2.Labels[0] != 0 {
		t.Errorf("across calls: %v %v", p2.Stage, p2.Labels)
	}
}

func TestBuildMeetsTargetOnFreshData(t *testing.T) {
	for _, folds := range []int{1, 5} {
		t.Run(fmt.Sprint("folds=", folds), func(t *testing.T) { testBuild(t, folds) })
	}
}

func testBuild(t *testing.T, folds int) {
	r := rand.New(rand.NewPCG(1, 2))
	sample := textBatch(spamTexts(r, 2000)...)
	defer sample.Release()
	ref := &keywordModel{word: "buy", delay: 50 * time.Millisecond}
	c, _, rep, err := Build(t.Context(), BuildConfig{Reference: ref, Sample: sample, Trainer: prefixTrainer{}, Target: 0.99, Seed: 1, Folds: folds, ProbeCalls: 4})
	if err != nil {
		t.Fatal(err)
	}
	wantHeld, wantTrain := 600, 1400
	if folds > 1 {
		wantHeld, wantTrain = 2000, 2000
	}
	if rep.Agreement < 0.99 || rep.HeldOutRows != wantHeld || rep.TrainRows != wantTrain {
		t.Fatalf("report %+v", rep)
	}
	// Only the rows whose first two words lack "buy" are uncertain: about
	// 2/3 of the rows.
	if rep.ReferenceFraction < 0.5 || rep.ReferenceFraction > 0.8 {
		t.Errorf("reference fraction %v", rep.ReferenceFraction)
	}
	if rep.Speedup <= 1 {
		t.Errorf("speedup %v", rep.Speedup)
	}
	// The reference is priced per single-row call (50 ms here, as serving
	// one input per request pays), not at its batched cost per row.
	if rep.Costs.Reference < 0.05 || rep.Costs.ReferenceAlone < 0.05 || rep.Costs.ReferenceBatch > rep.Costs.Reference/100 {
		t.Errorf("costs %+v: want the reference at >= 50 ms per call, batched far below", rep.Costs)
	}
	test := textBatch(spamTexts(rand.New(rand.NewPCG(9, 9)), 1000)...)
	defer test.Release()
	agree, toRef := agreement(t, c, ref, test, StageReference)
	if a := float64(agree) / 1000; a < 0.98 {
		t.Errorf("agreement on fresh data %v", a)
	}
	if f := float64(toRef) / 1000; f > rep.ReferenceFraction+0.1 {
		t.Errorf("fresh reference fraction %v vs held-out %v", f, rep.ReferenceFraction)
	}
}

func TestBuildErrors(t *testing.T) {
	small := textBatch("a", "b")
	defer small.Release()
	_, _, _, err := Build(t.Context(), BuildConfig{Reference: &keywordModel{word: "x"}, Sample: small, Trainer: prefixTrainer{}, Target: 0.9})
	if err == nil || !strings.Contains(err.Error(), "too small") {
		t.Errorf("err %v", err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	sample := textBatch(spamTexts(r, 100)...)
	defer sample.Release()
	_, _, _, err = Build(t.Context(), BuildConfig{Reference: failing{}, Sample: sample, Trainer: prefixTrainer{}, Target: 0.9})
	if err == nil || !strings.Contains(err.Error(), "time the reference: down") {
		t.Errorf("err %v", err)
	}
	_, _, _, err = Build(t.Context(), BuildConfig{Reference: failing{}, Sample: sample, Trainer: prefixTrainer{}, Target: 0.9, ProbeCalls: -1})
	if err == nil || !strings.Contains(err.Error(), "label the sample: down") {
		t.Errorf("err %v", err)
	}
}

type failing struct{}

func (failing) Info() *model.Info { return &model.Info{} }
func (failing) Predict(context.Context, arrow.RecordBatch) (*model.Prediction, error) {
	return nil, fmt.Errorf("down")
}

// flatTrainer is a useless cheap model: p(spam) = 0.5 for every row.
type flatTrainer struct{}

func (flatTrainer) Train(ctx context.Context, rows arrow.RecordBatch, targets []float64, classes []string, seed uint64) (Cheap, error) {
	return &prefixModel{pBuy: 0.5, pOther: 0.5, classes: classes}, nil
}

func TestBuildPicksTheCheapestCandidate(t *testing.T) {
	sample := textBatch(spamTexts(rand.New(rand.NewPCG(1, 2)), 600)...)
	defer sample.Release()
	ref := &keywordModel{word: "buy", delay: 20 * time.Millisecond}
	_, _, rep, err := Build(t.Context(), BuildConfig{Reference: ref, Sample: sample, Target: 0.99, Seed: 1, Folds: 3,
		Candidates: []Candidate{{"flat", flatTrainer{}}, {"prefix", prefixTrainer{}}}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Cheap != "prefix" || len(rep.Candidates) != 2 {
		t.Fatalf("chose %q from %+v", rep.Cheap, rep.Candidates)
	}
	if rep.Candidates[0].Plan.ReferenceFraction <= rep.Candidates[1].Plan.ReferenceFraction {
		t.Errorf("flat candidate should need the reference more: %+v", rep.Candidates)
	}
}

// Ordered input with runs of repeated comments: Build holds out the tail in
// order, the optimizer turns the difference detector on, and the cascade
// reuses answers on fresh ordered input while meeting the target.
func TestBuildOrderedUsesDifferenceDetector(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	var texts []string
	for _, s := range spamTexts(r, 500) {
		for range 1 + r.IntN(5) {
			texts = append(texts, s)
		}
	}
	sample := textBatch(texts...)
	defer sample.Release()
	ref := &keywordModel{word: "buy", delay: 30 * time.Millisecond}
	c, _, rep, err := Build(t.Context(), BuildConfig{Reference: ref, Sample: sample, Trainer: prefixTrainer{}, Target: 0.99, Ordered: true, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if rep.DiffThreshold <= 0 || rep.ReuseFraction < 0.3 || rep.Agreement < 0.99 {
		t.Fatalf("plan %+v", rep.Plan)
	}
	var fresh []string
	for _, s := range spamTexts(rand.New(rand.NewPCG(12, 12)), 200) {
		for range 1 + r.IntN(5) {
			fresh = append(fresh, s)
		}
	}
	test := textBatch(fresh...)
	defer test.Release()
	agree, reuse := agreement(t, c, ref, test, StageReuse)
	// A wrong cheap answer is reused for every repeat of its comment, so
	// errors come in runs and a held-out tail of ~150 distinct comments
	// estimates them loosely: demand 0.95 here, not the 0.99 target.
	if a := float64(agree) / float64(len(fresh)); a < 0.95 {
		t.Errorf("agreement %v", a)
	}
	if f := float64(reuse) / float64(len(fresh)); f < 0.3 {
		t.Errorf("reuse fraction %v", f)
	}
}

// agreement runs the cascade over test and counts the rows on which it
// agrees with the reference (asked without its delay) and the rows the
// given stage answered.
func agreement(t *testing.T, c *Cascade, ref *keywordModel, test arrow.RecordBatch, stage string) (agree, inStage int) {
	t.Helper()
	p, err := c.Predict(t.Context(), test)
	if err != nil {
		t.Fatal(err)
	}
	ref.delay = 0
	rp, err := ref.Predict(t.Context(), test)
	if err != nil {
		t.Fatal(err)
	}
	for i := range p.Labels {
		if p.Labels[i] == rp.Labels[i] {
			agree++
		}
		if p.Stage[i] == stage {
			inStage++
		}
	}
	return agree, inStage
}
