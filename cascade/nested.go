package cascade

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
)

// A fold is one part of a cross-fitted sample: the rows a model is
// trained on and the rows it scores.
type fold struct{ train, held []int }

// transfer is how thresholds chosen for one error budget fared on rows no
// model involved in choosing them had seen (nestedTransfer).
type transfer struct {
	Errors    int // disagreements with the reference
	Reference int // rows sent to the reference
}

// nestedTransfer measures how thresholds chosen on out-of-fold scores
// transfer to new inputs, by nested cross-fitting over the same folds: for
// each outer fold o, the other folds' rows are scored out of fold by models
// that saw neither o nor the row's own fold, thresholds are chosen on those
// scores, and the models that saw no row of o, combined as Build combines
// its fold models, answer o's rows with them. That takes a model for every
// pair of folds left out (K(K-1)/2 more fits for K folds).
//
// It returns, for every error budget b = 0..maxBudget on the whole sample
// (b·(n-|o|)/n, rounded, on the inner rows), the summed outer disagreements
// and rows sent to the reference. Thresholds chosen exactly at the error
// budget on the held-out rows sit in gaps between that sample's
// disagreements, so new inputs disagree more often than the held-out rows
// did; this measures by how much.
func nestedTransfer(ctx context.Context, sample arrow.RecordBatch, trainer Trainer, folds []fold, targets func([]int) []float64,
	ref []int, classes []string, seed uint64, maxBudget int) ([]transfer, error) {
	K := len(folds)
	n := int(sample.NumRows())
	binary := len(classes) == 2
	foldOf := make([]int, n)
	for f, p := range folds {
		for _, i := range p.held {
			foldOf[i] = f
		}
	}
	// inner[o] scores every row outside fold o with the model that saw
	// neither o nor the row's fold; pair[o][j] is that model.
	type scored struct {
		score []float64
		label []int
	}
	inner := make([]scored, K)
	for o := range inner {
		inner[o] = scored{make([]float64, n), make([]int, n)}
	}
	pair := make([][]Cheap, K)
	for o := range pair {
		pair[o] = make([]Cheap, K)
	}
	for o := 0; o < K; o++ {
		for j := o + 1; j < K; j++ {
			var tr []int
			for i := 0; i < n; i++ {
				if foldOf[i] != o && foldOf[i] != j {
					tr = append(tr, i)
				}
			}
			rows := takeRows(sample, tr)
			m, err := trainer.Train(ctx, rows, targets(tr), classes, seed)
			rows.Release()
			if err != nil {
				return nil, fmt.Errorf("cascade: build: nested cross-fitting: %w", err)
			}
			pair[o][j], pair[j][o] = m, m
			for _, x := range [2][2]int{{o, j}, {j, o}} {
				outer, held := x[0], folds[x[1]].held
				if err := scoreInto(ctx, m, sample, held, binary, inner[outer].score, inner[outer].label); err != nil {
					return nil, err
				}
			}
		}
	}
	out := make([]transfer, maxBudget+1)
	for o := 0; o < K; o++ {
		var in []int
		for i := 0; i < n; i++ {
			if foldOf[i] != o {
				in = append(in, i)
			}
		}
		hIn := &Heldout{Binary: binary, Score: pick(inner[o].score, in), Cheap: pick(inner[o].label, in), Ref: pick(ref, in)}
		var models []Cheap
		for j := 0; j < K; j++ {
			if j != o {
				models = append(models, pair[o][j])
			}
		}
		combined, err := combine(models)
		if err != nil {
			return nil, err
		}
		held := folds[o].held
		outScore, outLabel := make([]float64, n), make([]int, n)
		if err := scoreInto(ctx, combined, sample, held, binary, outScore, outLabel); err != nil {
			return nil, err
		}
		hOut := &Heldout{Binary: binary, Score: pick(outScore, held), Cheap: pick(outLabel, held), Ref: pick(ref, held)}
		rows := make([]int, len(in))
		for i := range rows {
			rows[i] = i
		}
		for b := 0; b <= maxBudget; b++ {
			bIn := int(math.Round(float64(b) * float64(len(in)) / float64(n)))
			low, high := bestCover(hIn, rows, bIn)
			p := &Plan{Low: low, High: high}
			Evaluate(hOut, Costs{}, p)
			out[b].Errors += int(math.Round((1 - p.Agreement) * float64(len(held))))
			out[b].Reference += int(math.Round(p.ReferenceFraction * float64(len(held))))
		}
	}
	return out, nil
}

// combine makes one cheap model of fold models as Build does: merged when
// they allow it (Merger), averaged (Ensemble) otherwise.
func combine(models []Cheap) (Cheap, error) {
	if len(models) == 1 {
		return models[0], nil
	}
	if m, ok := models[0].(Merger); ok {
		if merged, err := m.Merge(models[1:]); err == nil {
			return merged, nil
		}
	}
	return NewEnsemble(models)
}

// scoreInto scores the rows idx of sample with m into score and label
// (indexed by sample row).
func scoreInto(ctx context.Context, m Cheap, sample arrow.RecordBatch, idx []int, binary bool, scores []float64, labels []int) error {
	idx = slices.Clone(idx)
	slices.Sort(idx)
	rows := takeRows(sample, idx)
	defer rows.Release()
	p, err := m.Predict(ctx, rows)
	if err != nil {
		return fmt.Errorf("cascade: build: nested cross-fitting: %w", err)
	}
	for j, i := range idx {
		scores[i] = score(p, j, binary)
		labels[i] = p.Labels[j]
	}
	return nil
}

func pick[T any](v []T, idx []int) []T {
	out := make([]T, len(idx))
	for j, i := range idx {
		out[j] = v[i]
	}
	return out
}
