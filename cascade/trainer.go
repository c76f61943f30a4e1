package cascade

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/dawn-ml/dawn/featurize"
	"github.com/dawn-ml/dawn/train"
)

// LinearTrainer trains the cheap model with package train: the configured
// features and a logistic (softmax for more than two classes) regression,
// or an MLP when Options.Model says so.
type LinearTrainer struct {
	Features featurize.Config
	Options  train.Options
}

type trainedModel struct{ *train.Model }

func (m trainedModel) Save(dir string) error { return m.Model.Save(dir, "", nil) }

// Train fits the cheap model on rows labeled by the reference.
func (t LinearTrainer) Train(ctx context.Context, rows arrow.RecordBatch, targets []float64, classes []string, seed uint64) (Cheap, error) {
	feat, err := featurize.Fit(t.Features, []arrow.RecordBatch{rows})
	if err != nil {
		return nil, fmt.Errorf("cascade: featurize: %w", err)
	}
	X := featurize.NewMatrix(feat.Dim())
	if err := feat.Transform(rows, X); err != nil {
		return nil, fmt.Errorf("cascade: featurize: %w", err)
	}
	k := len(classes)
	if len(targets) != X.Rows()*k {
		return nil, fmt.Errorf("cascade: train: %d targets for %d rows of %d classes", len(targets), X.Rows(), k)
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
