package cascade

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/dawn-ml/dawn/model"
)

// Ensemble averages the class probabilities of its members. Build uses the
// cross-fitting folds' models as the cheap model when asked to: those are
// the very models whose held-out behaviour the optimizer measured, where a
// model refitted on every row is more confident than any of them and would
// answer more (and more wrongly) than the plan expects.
type Ensemble struct {
	Members []Cheap
	info    *model.Info
}

var _ Cheap = (*Ensemble)(nil)

func init() { model.Register("ensemble", loadEnsemble) }

// NewEnsemble makes an ensemble of models with the same classes.
func NewEnsemble(members []Cheap) (*Ensemble, error) {
	if len(members) == 0 {
		return nil, fmt.Errorf("cascade: an ensemble needs members")
	}
	info := members[0].Info()
	for _, m := range members[1:] {
		if !slices.Equal(m.Info().Classes, info.Classes) {
			return nil, fmt.Errorf("cascade: ensemble members disagree on classes: %v vs %v", m.Info().Classes, info.Classes)
		}
	}
	return &Ensemble{Members: members, info: &model.Info{Type: "ensemble", Classes: info.Classes, Inputs: info.Inputs}}, nil
}

// Info describes the ensemble (its first member's classes and inputs).
func (e *Ensemble) Info() *model.Info { return e.info }

// Predict averages the members' probabilities; the label is the argmax.
func (e *Ensemble) Predict(ctx context.Context, rows arrow.RecordBatch) (*model.Prediction, error) {
	n := int(rows.NumRows())
	k := len(e.info.Classes)
	out := &model.Prediction{Classes: e.info.Classes, Probs: make([]float64, n*k), Labels: make([]int, n)}
	for mi, m := range e.Members {
		p, err := m.Predict(ctx, rows)
		if err != nil {
			return nil, fmt.Errorf("cascade: ensemble member %d: %w", mi, err)
		}
		if len(p.Probs) != n*k {
			return nil, fmt.Errorf("cascade: ensemble member %d returned %d probabilities for %d rows of %d classes", mi, len(p.Probs), n, k)
		}
		for i, v := range p.Probs {
			out.Probs[i] += v
		}
	}
	w := 1 / float64(len(e.Members))
	for i := 0; i < n; i++ {
		row := out.Probs[i*k : i*k+k]
		best := 0
		for c := range row {
			row[c] *= w
			if row[c] > row[best] {
				best = c
			}
		}
		out.Labels[i] = best
	}
	return out, nil
}

// Save writes the ensemble as a model directory: MLmodel (model type
// "ensemble") and each member under member<i>/.
func (e *Ensemble) Save(dir string) error {
	files := make([]model.File, len(e.Members))
	for i, m := range e.Members {
		name := "member" + strconv.Itoa(i)
		files[i] = model.File{Role: name, Name: name, Write: m.Save}
	}
	return model.Save(dir, &model.Artifact{Type: "ensemble", Classes: e.info.Classes, Inputs: e.info.Inputs, Files: files,
		Params: map[string]string{"members": strconv.Itoa(len(e.Members))}})
}

// loaded is a loaded member of an ensemble or blend: a model.Model that
// cannot save itself again.
type loaded struct{ model.Model }

func (loaded) Save(string) error {
	return fmt.Errorf("cascade: a loaded ensemble or blend member cannot be saved again; copy the directory")
}

func loadEnsemble(dir string, desc *model.MLmodel) (model.Model, error) {
	members, err := loadMembers(dir, desc, "ensemble")
	if err != nil {
		return nil, err
	}
	e, err := NewEnsemble(members)
	if err != nil {
		return nil, err
	}
	e.info.Inputs = desc.Info().Inputs
	return e, nil
}
