package cascade

import (
	"context"
	"errors"
	"fmt"
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
// reference: labels are ids into classes.
type Trainer interface {
	Train(ctx context.Context, rows arrow.RecordBatch, labels []int, classes []string, seed uint64) (Cheap, error)
}

// BuildConfig is what Build needs.
type BuildConfig struct {
	Reference model.Model       // a Client or a local model
	Sample    arrow.RecordBatch // the sample to label, train on and hold out from
	Trainer   Trainer
	Target    float64 // agreement with the reference on the held-out part, e.g. 0.99
	// HoldOut is the fraction of the sample held out for the optimizer
	// (0.3 when 0).
	HoldOut float64
	// Ordered says the sample is in input order (e.g. video frames): the
	// tail is held out instead of a random part, and the difference
	// detector is considered.
	Ordered bool
	Seed    uint64
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
	Target         float64  `json:"target_accuracy"`
	CheapAgreement float64  `json:"cheap_only_agreement"`
	LabelSeconds   float64  `json:"label_seconds"`
}

// Build labels the sample with the reference, trains the cheap model on the
// training part, measures both stages' cost per input, and picks the plan
// with Optimize on the held-out part.
func Build(ctx context.Context, cfg BuildConfig) (*Cascade, Cheap, *Report, error) {
	if cfg.Reference == nil || cfg.Sample == nil || cfg.Trainer == nil {
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
	start := time.Now()
	rp, err := cfg.Reference.Predict(ctx, cfg.Sample)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("cascade: build: label the sample: %w", err)
	}
	labelTime := time.Since(start)
	if len(rp.Labels) != n || len(rp.Classes) < 2 {
		return nil, nil, nil, fmt.Errorf("cascade: build: the reference returned %d labels over %d classes for %d rows; it must be a classifier", len(rp.Labels), len(rp.Classes), n)
	}
	classes := rp.Classes

	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	if !cfg.Ordered {
		r := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
		r.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	trainIdx := slices.Clone(order[:n-nHeld])
	heldIdx := slices.Clone(order[n-nHeld:])
	slices.Sort(trainIdx)
	slices.Sort(heldIdx)
	trainRows := takeRows(cfg.Sample, trainIdx)
	defer trainRows.Release()
	heldRows := takeRows(cfg.Sample, heldIdx)
	defer heldRows.Release()
	trainLabels := make([]int, len(trainIdx))
	for j, i := range trainIdx {
		trainLabels[j] = rp.Labels[i]
	}
	heldRef := make([]int, len(heldIdx))
	for j, i := range heldIdx {
		heldRef[j] = rp.Labels[i]
	}
	for _, l := range rp.Labels {
		if l < 0 {
			return nil, nil, nil, errors.New("cascade: build: the reference abstained on some rows; cascades need an answer for every row")
		}
	}

	cheap, err := cfg.Trainer.Train(ctx, trainRows, trainLabels, classes, cfg.Seed)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("cascade: build: train the cheap model: %w", err)
	}
	if ci := cheap.Info(); !slices.Equal(ci.Classes, classes) {
		return nil, nil, nil, fmt.Errorf("cascade: build: the cheap model's classes %v differ from the reference's %v", ci.Classes, classes)
	}
	// Time the cheap model over the held-out part (best of 3, so a busy
	// machine's hiccup does not count as the model's cost).
	var cp *model.Prediction
	cheapTime := time.Duration(1<<63 - 1)
	for range 3 {
		t0 := time.Now()
		cp, err = cheap.Predict(ctx, heldRows)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("cascade: build: score the held-out part: %w", err)
		}
		cheapTime = min(cheapTime, time.Since(t0))
	}
	h := &Heldout{Binary: len(classes) == 2, Ref: heldRef, Score: make([]float64, nHeld), Cheap: cp.Labels}
	agree := 0
	for i := range heldRef {
		h.Score[i] = score(cp, i, h.Binary)
		if cp.Labels[i] == heldRef[i] {
			agree++
		}
	}
	costs := Costs{
		Cheap:     cheapTime.Seconds() / float64(nHeld),
		Reference: labelTime.Seconds() / float64(n),
	}
	if cfg.Ordered {
		t0 := time.Now()
		h.Dist = Distances(heldRows)
		costs.Diff = time.Since(t0).Seconds() / float64(nHeld)
	}
	plan, err := Optimize(h, costs, cfg.Target)
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := New(cheap, cfg.Reference, *plan)
	if err != nil {
		return nil, nil, nil, err
	}
	rep := &Report{Plan: *plan, Costs: costs, Classes: classes, SampleRows: n, TrainRows: n - nHeld,
		HeldOutRows: nHeld, Target: cfg.Target, CheapAgreement: float64(agree) / float64(nHeld), LabelSeconds: labelTime.Seconds()}
	return c, cheap, rep, nil
}
