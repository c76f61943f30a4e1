package labelmodel

import (
	"fmt"

	"github.com/dawn-ml/dawn/label"
)

// Eval scores predictions against gold labels.
type Eval struct {
	Rows            int     `json:"rows"`
	Accuracy        float64 `json:"accuracy"`         // over all rows; an abstained prediction counts as wrong
	Coverage        float64 `json:"coverage"`         // fraction of rows where at least one LF votes
	CoveredAccuracy float64 `json:"covered_accuracy"` // accuracy over those rows
	Abstained       int     `json:"abstained"`        // predictions of Abstain (TieAbstain)
	// F1 of the positive class (class 1) when there are two classes, else 0.
	F1 float64 `json:"f1,omitempty"`
}

// Evaluate scores pred (from Predict on x) against gold class ids. Gold
// ids outside 0..k−1 are an error naming the row.
func Evaluate(x *label.Matrix, pred, gold []int) (Eval, error) {
	if err := CheckMatrix(x); err != nil {
		return Eval{}, err
	}
	if len(pred) != x.N || len(gold) != x.N {
		return Eval{}, fmt.Errorf("labelmodel: evaluate: %d rows, %d predictions, %d gold labels", x.N, len(pred), len(gold))
	}
	k := x.K()
	var e Eval
	e.Rows = x.N
	var ok, covered, coveredOK int
	var tp, fp, fn float64
	for i, g := range gold {
		if g < 0 || g >= k {
			return Eval{}, fmt.Errorf("labelmodel: evaluate: gold label %d on row %d is not a class id in 0..%d", g, i, k-1)
		}
		p := pred[i]
		hit := p == g
		if hit {
			ok++
		}
		if p == Abstain {
			e.Abstained++
		}
		if x.RowPtr[i+1] > x.RowPtr[i] {
			covered++
			if hit {
				coveredOK++
			}
		}
		switch {
		case p == 1 && g == 1:
			tp++
		case p == 1:
			fp++
		case g == 1:
			fn++
		}
	}
	if x.N > 0 {
		e.Accuracy = float64(ok) / float64(x.N)
		e.Coverage = float64(covered) / float64(x.N)
	}
	if covered > 0 {
		e.CoveredAccuracy = float64(coveredOK) / float64(covered)
	}
	if k == 2 && tp > 0 {
		e.F1 = 2 * tp / (2*tp + fp + fn)
	}
	return e, nil
}
