package cascade

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/dawn-ml/dawn/model"
)

// Cheap is a trained cheap model that can save itself as a model directory.
type Cheap interface {
	model.Model
	Save(dir string) error
}

// Trainer fits the cheap (specialized) model on rows labeled by the
// reference: targets holds each row's reference probabilities over classes
// (row-major, len(rows)×len(classes); one-hot when the reference gives only
// labels), so the cheap model is distilled from the reference's confidence.
type Trainer interface {
	Train(ctx context.Context, rows arrow.RecordBatch, targets []float64, classes []string, seed uint64) (Cheap, error)
}

// Candidate is a named cheap-model trainer.
type Candidate struct {
	Name    string
	Trainer Trainer
}

// BuildConfig is what Build needs.
type BuildConfig struct {
	Reference model.Model       // a Client or a local model
	Sample    arrow.RecordBatch // the sample to label, train on and hold out from
	Trainer   Trainer
	// Candidates, when set, are alternative cheap models (Trainer is then
	// ignored): each is fitted and optimized, and the one whose plan has the
	// lowest expected cost is kept, as NoScope's optimizer also picks the
	// specialized model's architecture.
	Candidates []Candidate
	// Progress, when set, is told each stage as it starts (timing the
	// reference, labeling the sample, fitting candidate i of n), for a
	// progress display.
	Progress func(stage string, step, steps int)
	Target   float64 // agreement with the reference on the held-out part, e.g. 0.99
	// HoldOut is the fraction of the sample held out for the optimizer
	// (0.3 when 0).
	HoldOut float64
	// Ordered says the sample is in input order (e.g. video frames): the
	// tail is held out instead of a random part, and the difference
	// detector is considered.
	Ordered bool
	// Folds > 1 cross-fits instead of holding out once: the sample is cut
	// into Folds parts, each part is scored by a cheap model trained on the
	// others, and the optimizer sees every row of the sample, each scored by
	// a model that never saw it. The saved cheap model is trained on all
	// rows. Ignored with Ordered.
	Folds int
	// Ensemble keeps the folds' models, averaged, as the cheap model instead
	// of refitting one on every row (see Ensemble).
	Ensemble bool
	// Confidence > 0 demands the target at the Wilson upper confidence
	// bound of the held-out disagreement rate (OptimizeConfident).
	Confidence float64
	// Window > 0 applies Confidence to the agreement over the next Window
	// inputs rather than to the long-run rate (Margin).
	Window int
	// Nested chooses the error budget by nested cross-fitting (with Folds
	// > 1, not Ordered): the largest budget whose thresholds, chosen on
	// the other folds' out-of-fold scores, disagree on the left-out fold's
	// rows no more often, over all folds, than the margin allows on the
	// held-out rows. It corrects for the optimism of thresholds fitted to
	// the held-out rows, at the cost of Folds·(Folds-1)/2 more fits.
	Nested bool
	// ProbeCalls is how many single-row calls to the reference are timed,
	// back to back and 1 ms apart, to price it (20 each when 0): serving
	// one input per request pays one such call per input the cheap model
	// does not answer, which costs far more per row than labeling the
	// sample in batches. < 0 prices the reference at its batched labeling
	// cost per row instead.
	ProbeCalls int
	Seed       uint64
}

// Report describes what Build measured and chose; every figure is for the
// held-out part of the sample.
type Report struct {
	Plan
	Costs          Costs    `json:"costs"`
	Classes        []string `json:"classes"`
	SampleRows     int      `json:"sample_rows"`
	TrainRows      int      `json:"train_rows"`
	HeldOutRows    int      `json:"held_out_rows"`
	Folds          int      `json:"folds"`
	Target         float64  `json:"target_accuracy"`
	Confidence     float64  `json:"confidence,omitempty"`
	Window         int      `json:"window,omitempty"`
	CheapAgreement float64  `json:"cheap_only_agreement"`
	LabelSeconds   float64  `json:"label_seconds"`
	// Cheap names the chosen candidate; Candidates lists every candidate's
	// plan (when there were several).
	Cheap      string          `json:"cheap,omitempty"`
	Candidates []CandidatePlan `json:"candidates,omitempty"`
	// Nested is what nested cross-fitting measured (BuildConfig.Nested).
	Nested *NestedReport `json:"nested,omitempty"`
}

// NestedReport is what nested cross-fitting measured: for each error
// budget on the held-out rows, how many of the sample's rows disagreed
// when each fold was answered with thresholds chosen without it.
type NestedReport struct {
	Errors        []int `json:"errors_by_budget"`
	AllowedErrors int   `json:"allowed_errors"`
	Budget        int   `json:"budget"` // the chosen budget
	// Agreement and ReferenceFraction are the chosen budget's, over the
	// left-out folds: an estimate of what new inputs will see.
	Agreement         float64 `json:"agreement"`
	ReferenceFraction float64 `json:"reference_fraction"`
}

// CandidatePlan is one cheap-model candidate's best plan.
type CandidatePlan struct {
	Name  string `json:"name"`
	Plan  *Plan  `json:"plan,omitempty"`
	Error string `json:"error,omitempty"`
}

// Build labels the sample with the reference, trains the cheap model on the
// training part, measures both stages' cost per input, and picks the plan
// with Optimize on the held-out part.
func Build(ctx context.Context, cfg BuildConfig) (*Cascade, Cheap, *Report, error) {
	if cfg.Reference == nil || cfg.Sample == nil || (cfg.Trainer == nil && len(cfg.Candidates) == 0) {
		return nil, nil, nil, errors.New("cascade: build needs a reference, a sample and a trainer")
	}
	if cfg.HoldOut <= 0 {
		cfg.HoldOut = 0.3
	}
	n := int(cfg.Sample.NumRows())
	nHeld := int(float64(n) * cfg.HoldOut)
	if nHeld < 10 || n-nHeld < 10 {
		return nil, nil, nil, fmt.Errorf("cascade: build: a sample of %d rows is too small to train on and hold out %.0f%% of", n, 100*cfg.HoldOut)
	}
	// Time single-row calls first, while a caching client has answered
	// nothing yet.
	var perCall, alone time.Duration
	if cfg.ProbeCalls >= 0 {
		var err error
		if perCall, alone, err = probeReference(ctx, cfg.Reference, cfg.Sample, cmp.Or(cfg.ProbeCalls, 20)); err != nil {
			return nil, nil, nil, fmt.Errorf("cascade: build: time the reference: %w", err)
		}
	}
	cands := cfg.Candidates
	if len(cands) == 0 {
		cands = []Candidate{{Trainer: cfg.Trainer}}
	}
	progress := func(stage string, step int) {
		if cfg.Progress != nil {
			cfg.Progress(stage, step, 1+len(cands))
		}
	}
	progress(fmt.Sprintf("labeling %d rows with the reference", n), 0)
	start := time.Now()
	rp, err := cfg.Reference.Predict(ctx, cfg.Sample)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("cascade: build: label the sample: %w", err)
	}
	labelTime := time.Since(start)
	if len(rp.Labels) != n || len(rp.Classes) < 2 {
		return nil, nil, nil, fmt.Errorf("cascade: build: the reference returned %d labels over %d classes for %d rows; it must be a classifier", len(rp.Labels), len(rp.Classes), n)
	}
	refCost := Costs{ReferenceBatch: labelTime.Seconds() / float64(n), Reference: perCall.Seconds(), ReferenceAlone: alone.Seconds()}
	if cfg.ProbeCalls < 0 {
		refCost.Reference, refCost.ReferenceAlone = refCost.ReferenceBatch, 0
	}
	var best *Cascade
	var bestCheap Cheap
	var bestRep *Report
	var plans []CandidatePlan
	var firstErr error
	for ci, cand := range cands {
		progress(fmt.Sprintf("fitting and optimizing cheap model %d of %d %s", ci+1, len(cands), cand.Name), 1+ci)
		trainer := cand.Trainer
		if p, ok := trainer.(Preparer); ok {
			var err error
			if trainer, err = p.Prepare(ctx, cfg.Sample, cfg.Reference, rp.Classes); err != nil {
				if firstErr == nil {
					firstErr = err
				}
				plans = append(plans, CandidatePlan{Name: cand.Name, Error: err.Error()})
				continue
			}
		}
		c, cheap, rep, err := buildWith(ctx, cfg, trainer, rp, refCost, labelTime, nHeld)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			plans = append(plans, CandidatePlan{Name: cand.Name, Error: err.Error()})
			continue
		}
		rep.Cheap = cand.Name
		plans = append(plans, CandidatePlan{Name: cand.Name, Plan: &rep.Plan})
		if best == nil || rep.Cost < bestRep.Cost {
			best, bestCheap, bestRep = c, cheap, rep
		}
	}
	if best == nil {
		return nil, nil, nil, firstErr
	}
	if len(cands) > 1 {
		bestRep.Candidates = plans
	}
	return best, bestCheap, bestRep, nil
}

// buildWith fits one cheap-model candidate on the labeled sample and
// optimizes its plan.
func buildWith(ctx context.Context, cfg BuildConfig, trainer Trainer, rp *model.Prediction, costs Costs, labelTime time.Duration, nHeld int) (*Cascade, Cheap, *Report, error) {
	n := int(cfg.Sample.NumRows())
	classes := rp.Classes
	for _, l := range rp.Labels {
		if l < 0 {
			return nil, nil, nil, errors.New("cascade: build: the reference abstained on some rows; cascades need an answer for every row")
		}
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	if !cfg.Ordered {
		r := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
		r.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	// parts are (train rows, scored rows) pairs: one hold-out, or the folds.
	var parts []fold
	if cfg.Folds > 1 && !cfg.Ordered {
		for f := 0; f < cfg.Folds; f++ {
			var p fold
			for j, i := range order {
				if j%cfg.Folds == f {
					p.held = append(p.held, i)
				} else {
					p.train = append(p.train, i)
				}
			}
			parts = append(parts, p)
		}
	} else {
		parts = []fold{{train: slices.Clone(order[:n-nHeld]), held: slices.Clone(order[n-nHeld:])}}
	}
	k := len(classes)
	soft := len(rp.Probs) == n*k
	targetsOf := func(idx []int) []float64 {
		out := make([]float64, len(idx)*k)
		for j, i := range idx {
			if soft {
				copy(out[j*k:j*k+k], rp.Probs[i*k:i*k+k])
			} else {
				out[j*k+rp.Labels[i]] = 1
			}
		}
		return out
	}
	labelsOf := func(idx []int) []int {
		out := make([]int, len(idx))
		for j, i := range idx {
			out[j] = rp.Labels[i]
		}
		return out
	}
	var heldAll []int
	var cheap Cheap
	var heldRowsLast arrow.RecordBatch
	var cpAll struct {
		score  []float64
		labels []int
	}
	trainRowsTotal := 0
	var foldModels []Cheap
	for _, p := range parts {
		slices.Sort(p.train)
		slices.Sort(p.held)
		trainRows := takeRows(cfg.Sample, p.train)
		m, err := trainer.Train(ctx, trainRows, targetsOf(p.train), classes, cfg.Seed)
		trainRows.Release()
		if err != nil {
			return nil, nil, nil, fmt.Errorf("cascade: build: train the cheap model: %w", err)
		}
		if ci := m.Info(); !slices.Equal(ci.Classes, classes) {
			return nil, nil, nil, fmt.Errorf("cascade: build: the cheap model's classes %v differ from the reference's %v", ci.Classes, classes)
		}
		heldRows := takeRows(cfg.Sample, p.held)
		cp, err := m.Predict(ctx, heldRows)
		if err != nil {
			heldRows.Release()
			return nil, nil, nil, fmt.Errorf("cascade: build: score the held-out part: %w", err)
		}
		for j := range p.held {
			cpAll.score = append(cpAll.score, score(cp, j, len(classes) == 2))
			cpAll.labels = append(cpAll.labels, cp.Labels[j])
		}
		heldAll = append(heldAll, p.held...)
		if len(parts) == 1 {
			cheap, heldRowsLast = m, heldRows
			trainRowsTotal = len(p.train)
		} else {
			heldRows.Release()
			foldModels = append(foldModels, m)
		}
	}
	nHeld = len(heldAll)
	if cheap == nil && cfg.Ensemble {
		var err error
		if cheap, err = combine(foldModels); err != nil {
			return nil, nil, nil, err
		}
		trainRowsTotal = n
		heldRowsLast = takeRows(cfg.Sample, order2sorted(n))
	}
	if cheap == nil { // cross-fitted: the saved model learns from every row
		all := takeRows(cfg.Sample, order2sorted(n))
		var err error
		cheap, err = trainer.Train(ctx, all, targetsOf(order2sorted(n)), classes, cfg.Seed)
		all.Release()
		if err != nil {
			return nil, nil, nil, fmt.Errorf("cascade: build: train the cheap model: %w", err)
		}
		trainRowsTotal = n
		heldRowsLast = takeRows(cfg.Sample, order2sorted(n))
	}
	defer heldRowsLast.Release()
	single, batched, err := timeCheap(ctx, cheap, heldRowsLast)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("cascade: build: score the held-out part: %w", err)
	}
	heldRef := labelsOf(heldAll)
	h := &Heldout{Binary: len(classes) == 2, Ref: heldRef, Score: cpAll.score, Cheap: cpAll.labels}
	agree := 0
	for i := range heldRef {
		if cpAll.labels[i] == heldRef[i] {
			agree++
		}
	}
	costs.Cheap, costs.CheapBatch = single, batched
	if cfg.Ordered {
		t0 := time.Now()
		h.Dist = Distances(heldRowsLast)
		costs.Diff = time.Since(t0).Seconds() / float64(nHeld)
	}
	margin := Margin{Confidence: cfg.Confidence, Window: cfg.Window}
	var plan *Plan
	var nested *NestedReport
	if cfg.Nested && len(parts) > 1 {
		// Choose the largest error budget whose thresholds, chosen on inner
		// rows, disagreed on the outer rows no more than the margin allows
		// on n rows.
		maxBudget := errorBudget(nHeld, cfg.Target, 0)
		allowed := margin.budget(nHeld, cfg.Target)
		var tr []transfer
		tr, err = nestedTransfer(ctx, cfg.Sample, trainer, parts, targetsOf, rp.Labels, classes, cfg.Seed, maxBudget)
		if err != nil {
			return nil, nil, nil, err
		}
		nested = &NestedReport{Budget: -1, AllowedErrors: allowed}
		for b, t := range tr {
			nested.Errors = append(nested.Errors, t.Errors)
			if t.Errors <= allowed {
				nested.Budget = b
				nested.Agreement = 1 - float64(t.Errors)/float64(n)
				nested.ReferenceFraction = float64(t.Reference) / float64(n)
			}
		}
		if nested.Budget < 0 {
			return nil, nil, nil, fmt.Errorf("%w: nested cross-fitting found no error budget whose thresholds keep new inputs within %d disagreements of %d (disagreements by budget: %v)", ErrNoPlan, allowed, n, nested.Errors)
		}
		plan, err = OptimizeBudget(h, costs, nested.Budget)
	} else {
		plan, err = OptimizeMargin(h, costs, cfg.Target, margin)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := New(cheap, cfg.Reference, *plan)
	if err != nil {
		return nil, nil, nil, err
	}
	rep := &Report{Plan: *plan, Costs: costs, Nested: nested, Classes: classes, SampleRows: n, TrainRows: trainRowsTotal, Folds: max(1, len(parts)),
		HeldOutRows: nHeld, Target: cfg.Target, Confidence: cfg.Confidence, Window: cfg.Window, CheapAgreement: float64(agree) / float64(nHeld), LabelSeconds: labelTime.Seconds()}
	return c, cheap, rep, nil
}

// timeCheap measures the cheap model's cost per row as single-row serving
// pays it, one call per row (over up to 200 rows spread across rows), and
// per row in one batched call; each is the best of 3 passes, so that a busy
// machine's hiccup does not count as the model's cost.
func timeCheap(ctx context.Context, m model.Model, rows arrow.RecordBatch) (single, batched float64, err error) {
	n := int(rows.NumRows())
	k := min(n, 200)
	best := func(f func() error) (time.Duration, error) {
		d := time.Duration(math.MaxInt64)
		for range 3 {
			t0 := time.Now()
			if err := f(); err != nil {
				return 0, err
			}
			d = min(d, time.Since(t0))
		}
		return d, nil
	}
	db, err := best(func() error { _, err := m.Predict(ctx, rows); return err })
	if err != nil {
		return 0, 0, err
	}
	ds, err := best(func() error {
		for j := 0; j < k; j++ {
			i := int64(j * n / k)
			row := rows.NewSlice(i, i+1)
			_, err := m.Predict(ctx, row)
			row.Release()
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	return ds.Seconds() / float64(k), db.Seconds() / float64(n), nil
}

// probeReference times single-row calls to the reference over rows of the
// sample, after one untimed call (which may open the connection): calls
// back to back, as the reference alone serving one input per request pays,
// and calls 1 ms apart, as a cascade pays, whose reference calls come now
// and then between cheap answers (an idle server answers more slowly:
// about twice as slowly on loopback, docs/serve.md). It returns the medians.
func probeReference(ctx context.Context, ref model.Model, sample arrow.RecordBatch, calls int) (apart, backToBack time.Duration, err error) {
	n := int(sample.NumRows())
	call := func(i int) (time.Duration, error) {
		row := sample.NewSlice(int64(i%n), int64(i%n+1))
		defer row.Release()
		t0 := time.Now()
		_, err := ref.Predict(ctx, row)
		return time.Since(t0), err
	}
	if _, err := call(0); err != nil {
		return 0, 0, err
	}
	hot, sparse := make([]time.Duration, calls), make([]time.Duration, calls)
	for i := range calls {
		if hot[i], err = call(1 + i); err != nil {
			return 0, 0, err
		}
	}
	for i := range calls {
		time.Sleep(time.Millisecond)
		if sparse[i], err = call(1 + calls + i); err != nil {
			return 0, 0, err
		}
	}
	slices.Sort(hot)
	slices.Sort(sparse)
	return sparse[calls/2], hot[calls/2], nil
}

func order2sorted(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}
