package cascade

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/dawn-ml/dawn/featurize"
	"github.com/dawn-ml/dawn/model"
	"github.com/dawn-ml/dawn/train"
)

// Preparer is a Trainer that first looks at the whole sample, once, before
// Build fits the folds: Prepare returns the trainer to fit them with. Build
// passes the reference and its classes, so a trainer can have the
// reference label extra rows derived from the sample (see
// LinearTrainer.Augment).
type Preparer interface {
	Prepare(ctx context.Context, sample arrow.RecordBatch, reference model.Model, classes []string) (Trainer, error)
}

// Merger is a cheap model that can be merged with models of its own kind
// into one model answering as their log-linear pool (the mean of their
// logits) at the cost of one. Build merges the fold models this way when
// they allow it, and averages them as an Ensemble otherwise.
type Merger interface {
	Cheap
	Merge(others []Cheap) (Cheap, error)
}

// LinearTrainer trains the cheap model with package train: the configured
// features and a logistic (softmax for more than two classes) regression,
// or an MLP when Options.Model says so.
type LinearTrainer struct {
	Features featurize.Config
	Options  train.Options
	// Augment adds the fragments of every training row (Fragments: its
	// sentences, halves and 4-word windows), labeled by the reference, to
	// the rows the model is fitted on: more of the reference's answers to
	// learn from, all taken from the sample itself. It needs Prepare (Build
	// calls it) and exactly one text column.
	Augment bool

	// Set by Prepare:
	feat   *featurize.Featurizer // fitted once on the whole sample
	labels map[string][]float64  // each fragment's reference probabilities
	column string                // the text column
}

var _ Preparer = LinearTrainer{}

type trainedModel struct{ *train.Model }

var _ Merger = trainedModel{}

func (m trainedModel) Save(dir string) error { return m.Model.Save(dir, "", nil) }

// Prepare fits the featurizer once on the whole sample (tf-idf document
// frequencies need no labels), so that every fold model shares it and the
// fold models can be merged into one; with Augment it also has the
// reference label the fragments of every sample row, once.
func (t LinearTrainer) Prepare(ctx context.Context, sample arrow.RecordBatch, reference model.Model, classes []string) (Trainer, error) {
	feat, err := featurize.Fit(t.Features, []arrow.RecordBatch{sample})
	if err != nil {
		return nil, fmt.Errorf("cascade: featurize: %w", err)
	}
	t.feat = feat
	if !t.Augment {
		return t, nil
	}
	if len(t.Features.Text) != 1 || len(t.Features.Numeric)+len(t.Features.Categorical) > 0 {
		return nil, errors.New("cascade: augmenting the cheap model's data with fragments needs exactly one text column and no other features")
	}
	t.column = t.Features.Text[0].Column
	texts, err := stringColumn(sample, t.column)
	if err != nil {
		return nil, err
	}
	var frags []string
	seen := map[string]bool{}
	for _, s := range texts {
		for _, f := range Fragments(s) {
			if !seen[f] {
				seen[f] = true
				frags = append(frags, f)
			}
		}
	}
	t.labels = make(map[string][]float64, len(frags))
	if len(frags) == 0 {
		return t, nil
	}
	rec := stringBatch(t.column, frags)
	defer rec.Release()
	p, err := reference.Predict(ctx, rec)
	if err != nil {
		return nil, fmt.Errorf("cascade: label the sample's fragments: %w", err)
	}
	probs, err := alignProbs(p, classes, len(frags))
	if err != nil {
		return nil, fmt.Errorf("cascade: label the sample's fragments: %w", err)
	}
	k := len(classes)
	for i, f := range frags {
		t.labels[f] = probs[i*k : i*k+k]
	}
	return t, nil
}

// alignProbs returns p's class probabilities (one-hot labels when it has
// none) in the order of classes.
func alignProbs(p *model.Prediction, classes []string, n int) ([]float64, error) {
	k := len(classes)
	if len(p.Labels) != n {
		return nil, fmt.Errorf("the reference returned %d labels for %d rows", len(p.Labels), n)
	}
	col := make([]int, len(p.Classes))
	for c, name := range p.Classes {
		col[c] = indexOf(classes, name)
		if col[c] < 0 {
			return nil, fmt.Errorf("the reference answered class %q, not among %v", name, classes)
		}
	}
	out := make([]float64, n*k)
	soft := len(p.Probs) == n*len(p.Classes)
	for i := 0; i < n; i++ {
		if soft {
			for c, j := range col {
				out[i*k+j] = p.Probs[i*len(p.Classes)+c]
			}
			continue
		}
		if l := p.Labels[i]; l >= 0 && l < len(col) {
			out[i*k+col[l]] = 1
		} else {
			return nil, fmt.Errorf("the reference abstained on row %d", i+1)
		}
	}
	return out, nil
}

// Train fits the cheap model on rows labeled by the reference (and, with
// Augment after Prepare, on their fragments).
func (t LinearTrainer) Train(ctx context.Context, rows arrow.RecordBatch, targets []float64, classes []string, seed uint64) (Cheap, error) {
	feat := t.feat
	if feat == nil {
		var err error
		if feat, err = featurize.Fit(t.Features, []arrow.RecordBatch{rows}); err != nil {
			return nil, fmt.Errorf("cascade: featurize: %w", err)
		}
	}
	X := featurize.NewMatrix(feat.Dim())
	if err := feat.Transform(rows, X); err != nil {
		return nil, fmt.Errorf("cascade: featurize: %w", err)
	}
	k := len(classes)
	if len(targets) != X.Rows()*k {
		return nil, fmt.Errorf("cascade: train: %d targets for %d rows of %d classes", len(targets), X.Rows(), k)
	}
	if t.Augment && t.labels != nil {
		texts, err := stringColumn(rows, t.column)
		if err != nil {
			return nil, err
		}
		var frags []string
		seen := map[string]bool{}
		targets = append([]float64(nil), targets...)
		for _, s := range texts {
			for _, f := range Fragments(s) {
				if p, ok := t.labels[f]; ok && !seen[f] {
					seen[f] = true
					frags = append(frags, f)
					targets = append(targets, p...)
				}
			}
		}
		if len(frags) > 0 {
			rec := stringBatch(t.column, frags)
			err := feat.Transform(rec, X)
			rec.Release()
			if err != nil {
				return nil, fmt.Errorf("cascade: featurize fragments: %w", err)
			}
		}
	}
	opt := t.Options
	if opt.Model == "" {
		opt.Model = train.LogReg
		if k > 2 {
			opt.Model = train.Softmax
		}
	}
	opt.Seed = seed
	res, err := train.Fit(ctx, &train.Dataset{X: X, Y: targets, C: k}, opt)
	if err != nil {
		return nil, fmt.Errorf("cascade: train the cheap model: %w", err)
	}
	return trainedModel{&train.Model{Kind: opt.Model, Classes: classes, Feat: feat, Params: res.Params,
		Hyper: map[string]string{"trained_for": "cascade"}}}, nil
}

// Merge averages the weights of linear models that share their features:
// the merged model's logits are the mean of theirs.
func (m trainedModel) Merge(others []Cheap) (Cheap, error) {
	if m.Kind != train.LogReg && m.Kind != train.Softmax {
		return nil, fmt.Errorf("cascade: only linear models merge, not %s", m.Kind)
	}
	p := m.Params.Clone()
	for _, o := range others {
		om, ok := o.(trainedModel)
		if !ok {
			return nil, fmt.Errorf("cascade: cannot merge a %s model with a %T", m.Kind, o)
		}
		if om.Kind != m.Kind || om.Params.D != p.D || om.Params.K != p.K || !sameFeatures(om.Feat, m.Feat) {
			return nil, errors.New("cascade: models to merge must be linear models of one kind over the same features")
		}
		for i, w := range om.Params.W {
			p.W[i] += w
		}
		for i, b := range om.Params.B {
			p.B[i] += b
		}
	}
	inv := 1 / float64(len(others)+1)
	for i := range p.W {
		p.W[i] *= inv
	}
	for i := range p.B {
		p.B[i] *= inv
	}
	hyper := map[string]string{"trained_for": "cascade", "merged_models": fmt.Sprint(len(others) + 1)}
	return trainedModel{&train.Model{Kind: m.Kind, Classes: m.Classes, Feat: m.Feat, Params: p, Hyper: hyper}}, nil
}

func sameFeatures(a, b *featurize.Featurizer) bool {
	return a == b || reflect.DeepEqual(a, b)
}

// BlendTrainer trains one cheap model per part and blends them (Blend):
// e.g. a word model and a character n-gram model, whose mistakes differ.
type BlendTrainer struct {
	Parts []Trainer
}

var _ Preparer = BlendTrainer{}

// Prepare prepares the parts that are Preparers.
func (t BlendTrainer) Prepare(ctx context.Context, sample arrow.RecordBatch, reference model.Model, classes []string) (Trainer, error) {
	out := BlendTrainer{Parts: make([]Trainer, len(t.Parts))}
	for i, p := range t.Parts {
		out.Parts[i] = p
		if pp, ok := p.(Preparer); ok {
			q, err := pp.Prepare(ctx, sample, reference, classes)
			if err != nil {
				return nil, fmt.Errorf("cascade: blend part %d: %w", i+1, err)
			}
			out.Parts[i] = q
		}
	}
	return out, nil
}

// Train fits every part on the same rows.
func (t BlendTrainer) Train(ctx context.Context, rows arrow.RecordBatch, targets []float64, classes []string, seed uint64) (Cheap, error) {
	if len(t.Parts) == 0 {
		return nil, errors.New("cascade: a blend needs parts")
	}
	members := make([]Cheap, len(t.Parts))
	for i, p := range t.Parts {
		m, err := p.Train(ctx, rows, targets, classes, seed)
		if err != nil {
			return nil, fmt.Errorf("cascade: blend part %d: %w", i+1, err)
		}
		members[i] = m
	}
	return NewBlend(members)
}
