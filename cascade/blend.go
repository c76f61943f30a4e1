package cascade

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/dawn-ml/dawn/model"
)

// Blend is a log-linear pool of cheap models trained on different
// features: its class probabilities are proportional to the geometric mean
// of its members' (for two classes, its logit is the mean of theirs). A
// word model and a character n-gram model blended this way let a cascade
// answer far more inputs within the same error budget than either alone
// (docs/serve.md).
type Blend struct {
	Members []Cheap
	info    *model.Info
}

var _ Merger = (*Blend)(nil)

func init() { model.Register("blend", loadBlend) }

// NewBlend blends models with the same classes; the blend's inputs are the
// union of theirs.
func NewBlend(members []Cheap) (*Blend, error) {
	if len(members) == 0 {
		return nil, fmt.Errorf("cascade: a blend needs members")
	}
	info := members[0].Info()
	inputs := slices.Clone(info.Inputs)
	for _, m := range members[1:] {
		mi := m.Info()
		if !slices.Equal(mi.Classes, info.Classes) {
			return nil, fmt.Errorf("cascade: blend members disagree on classes: %v vs %v", mi.Classes, info.Classes)
		}
		for _, in := range mi.Inputs {
			if !slices.ContainsFunc(inputs, func(x model.Column) bool { return x.Name == in.Name }) {
				inputs = append(inputs, in)
			}
		}
	}
	if len(info.Classes) < 2 {
		return nil, fmt.Errorf("cascade: blend members must be classifiers")
	}
	return &Blend{Members: members, info: &model.Info{Type: "blend", Classes: info.Classes, Inputs: inputs}}, nil
}

// Info describes the blend.
func (b *Blend) Info() *model.Info { return b.info }

// minProb keeps log(p) finite for a member that is certain.
const minProb = 1e-300

// Predict pools the members' probabilities; the label is the argmax.
func (b *Blend) Predict(ctx context.Context, rows arrow.RecordBatch) (*model.Prediction, error) {
	n := int(rows.NumRows())
	k := len(b.info.Classes)
	logp := make([]float64, n*k)
	for mi, m := range b.Members {
		p, err := m.Predict(ctx, rows)
		if err != nil {
			return nil, fmt.Errorf("cascade: blend member %d: %w", mi, err)
		}
		if len(p.Probs) != n*k {
			return nil, fmt.Errorf("cascade: blend member %d returned %d probabilities for %d rows of %d classes", mi, len(p.Probs), n, k)
		}
		for i, v := range p.Probs {
			logp[i] += math.Log(max(v, minProb))
		}
	}
	w := 1 / float64(len(b.Members))
	out := &model.Prediction{Classes: b.info.Classes, Probs: make([]float64, n*k), Labels: make([]int, n)}
	for i := 0; i < n; i++ {
		row := logp[i*k : i*k+k]
		top := math.Inf(-1)
		for c := range row {
			row[c] *= w
			top = max(top, row[c])
		}
		var sum float64
		best := 0
		probs := out.Probs[i*k : i*k+k]
		for c, v := range row {
			probs[c] = math.Exp(v - top)
			sum += probs[c]
			if probs[c] > probs[best] {
				best = c
			}
		}
		for c := range probs {
			probs[c] /= sum
		}
		out.Labels[i] = best
	}
	return out, nil
}

// Merge merges blends of the same shape member by member (see Merger).
func (b *Blend) Merge(others []Cheap) (Cheap, error) {
	members := make([]Cheap, len(b.Members))
	for i, m := range b.Members {
		mm, ok := m.(Merger)
		if !ok {
			return nil, fmt.Errorf("cascade: blend member %d (%T) cannot be merged", i, m)
		}
		var rest []Cheap
		for _, o := range others {
			ob, ok := o.(*Blend)
			if !ok || len(ob.Members) != len(b.Members) {
				return nil, fmt.Errorf("cascade: cannot merge a blend of %d members with a %T", len(b.Members), o)
			}
			rest = append(rest, ob.Members[i])
		}
		merged, err := mm.Merge(rest)
		if err != nil {
			return nil, fmt.Errorf("cascade: blend member %d: %w", i, err)
		}
		members[i] = merged
	}
	return NewBlend(members)
}

// Save writes the blend as a model directory: MLmodel (model type "blend")
// and each member under member<i>/.
func (b *Blend) Save(dir string) error {
	files := make([]model.File, len(b.Members))
	for i, m := range b.Members {
		name := "member" + strconv.Itoa(i)
		files[i] = model.File{Role: name, Name: name, Write: m.Save}
	}
	return model.Save(dir, &model.Artifact{Type: "blend", Classes: b.info.Classes, Inputs: b.info.Inputs, Files: files,
		Params: map[string]string{"members": strconv.Itoa(len(b.Members))}})
}

func loadBlend(dir string, desc *model.MLmodel) (model.Model, error) {
	members, err := loadMembers(dir, desc, "blend")
	if err != nil {
		return nil, err
	}
	b, err := NewBlend(members)
	if err != nil {
		return nil, err
	}
	b.info.Inputs = desc.Info().Inputs
	return b, nil
}

// loadMembers loads the member<i>/ model directories of a saved ensemble or
// blend.
func loadMembers(dir string, desc *model.MLmodel, kind string) ([]Cheap, error) {
	n, err := strconv.Atoi(desc.Flavors.Dawn.Params["members"])
	if err != nil || n <= 0 {
		return nil, fmt.Errorf("cascade: load %s %s: bad members param %q", kind, dir, desc.Flavors.Dawn.Params["members"])
	}
	var members []Cheap
	for i := 0; i < n; i++ {
		p, err := desc.Path(dir, "member"+strconv.Itoa(i))
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("cascade: load %s: %w", kind, err)
		}
		m, err := model.Load(p)
		if err != nil {
			return nil, fmt.Errorf("cascade: load %s member %d: %w", kind, i, err)
		}
		members = append(members, loaded{m})
	}
	return members, nil
}
