// Package eval scores predictions against gold labels: accuracy, per-class
// and macro precision/recall/F1, ROC AUC and PR AUC (average precision) for
// binary problems, log loss, a calibration table and a confusion matrix;
// RMSE, MAE and R² for regression.
package eval

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/dawn-ml/dawn/data"
	"github.com/dawn-ml/dawn/model"
)

// Class holds one class's metrics.
type Class struct {
	Class     string  `json:"class"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int     `json:"support"`
}

// Bin is one row of a calibration table: predictions with confidence in
// [Lo, Hi), their mean confidence and how often they were right.
type Bin struct {
	Lo         float64 `json:"lo"`
	Hi         float64 `json:"hi"`
	Count      int     `json:"count"`
	Confidence float64 `json:"mean_confidence"`
	Accuracy   float64 `json:"accuracy"`
}

// Report holds every metric. For k = 2, F1 is the positive class's
// (class id 1); otherwise it is the macro F1.
type Report struct {
	N          int      `json:"rows"`
	Accuracy   float64  `json:"accuracy"`
	F1         float64  `json:"f1"`
	Classes    []string `json:"classes,omitempty"`
	PerClass   []Class  `json:"per_class,omitempty"`
	MacroP     float64  `json:"macro_precision"`
	MacroR     float64  `json:"macro_recall"`
	MacroF1    float64  `json:"macro_f1"`
	ROCAUC     *float64 `json:"roc_auc,omitempty"`
	PRAUC      *float64 `json:"pr_auc,omitempty"`
	LogLoss    float64  `json:"log_loss"`
	Abstained  int      `json:"abstained,omitempty"` // rows the model declined to label (counted wrong)
	Confusion  [][]int  `json:"confusion,omitempty"` // [gold][predicted]
	Calibrated []Bin    `json:"calibration,omitempty"`
	// Regression.
	RMSE *float64 `json:"rmse,omitempty"`
	MAE  *float64 `json:"mae,omitempty"`
	R2   *float64 `json:"r2,omitempty"`
}

// Classification computes the report for n rows: gold class ids, row-major
// n×k probabilities and predicted ids (-1 for abstain).
func Classification(classes []string, gold []int, probs []float64, pred []int) (*Report, error) {
	k, n := len(classes), len(gold)
	if k < 2 || len(probs) != n*k || len(pred) != n {
		return nil, fmt.Errorf("eval: %d gold labels, %d probabilities, %d predictions for %d classes", n, len(probs), len(pred), k)
	}
	if n == 0 {
		return nil, errors.New("eval: no rows to evaluate")
	}
	r := &Report{N: n, Classes: classes, Confusion: make([][]int, k)}
	for i := range r.Confusion {
		r.Confusion[i] = make([]int, k)
	}
	right := 0
	var ll float64
	for i, g := range gold {
		if g < 0 || g >= k {
			return nil, fmt.Errorf("eval: row %d: gold class id %d outside 0..%d", i+1, g, k-1)
		}
		if pred[i] < 0 {
			r.Abstained++
		} else {
			r.Confusion[g][pred[i]]++
			if pred[i] == g {
				right++
			}
		}
		ll -= math.Log(math.Max(probs[i*k+g], 1e-15))
	}
	r.Accuracy = float64(right) / float64(n)
	r.LogLoss = ll / float64(n)
	for c := 0; c < k; c++ {
		tp, predicted, support := r.Confusion[c][c], 0, 0
		for g := 0; g < k; g++ {
			predicted += r.Confusion[g][c]
		}
		for i := range gold {
			if gold[i] == c {
				support++
			}
		}
		m := Class{Class: classes[c], Support: support, Precision: ratio(tp, predicted), Recall: ratio(tp, support)}
		if m.Precision+m.Recall > 0 {
			m.F1 = 2 * m.Precision * m.Recall / (m.Precision + m.Recall)
		}
		r.PerClass = append(r.PerClass, m)
		r.MacroP += m.Precision / float64(k)
		r.MacroR += m.Recall / float64(k)
		r.MacroF1 += m.F1 / float64(k)
	}
	r.F1 = r.MacroF1
	if k == 2 {
		r.F1 = r.PerClass[1].F1
		score := make([]float64, n)
		pos := make([]bool, n)
		for i := range gold {
			score[i], pos[i] = probs[i*2+1], gold[i] == 1
		}
		if auc, ok := ROCAUC(score, pos); ok {
			r.ROCAUC = &auc
		}
		if ap, ok := AveragePrecision(score, pos); ok {
			r.PRAUC = &ap
		}
	}
	r.Calibrated = calibration(k, gold, probs, 10)
	return r, nil
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// ROCAUC is the area under the ROC curve: the probability that a random
// positive scores above a random negative, ties counting one half. ok is
// false when one class is absent.
func ROCAUC(score []float64, pos []bool) (float64, bool) {
	idx := sortedBy(score)
	var np, nn float64
	for _, p := range pos {
		if p {
			np++
		} else {
			nn++
		}
	}
	if np == 0 || nn == 0 {
		return math.NaN(), false
	}
	// Sum of the (tie-averaged) ranks of the positives.
	var rankSum float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && score[idx[j]] == score[idx[i]] {
			j++
		}
		avg := float64(i+j+1) / 2 // ranks i+1..j
		for _, t := range idx[i:j] {
			if pos[t] {
				rankSum += avg
			}
		}
		i = j
	}
	return (rankSum - np*(np+1)/2) / (np * nn), true
}

// AveragePrecision is the area under the precision-recall curve as
// scikit-learn's average_precision_score computes it:
// Σ_n (R_n − R_{n−1})·P_n over the distinct score thresholds.
func AveragePrecision(score []float64, pos []bool) (float64, bool) {
	idx := sortedBy(score)
	var np float64
	for _, p := range pos {
		if p {
			np++
		}
	}
	if np == 0 {
		return math.NaN(), false
	}
	var ap, tp, fp, prevR float64
	for i := len(idx) - 1; i >= 0; {
		j := i
		for j >= 0 && score[idx[j]] == score[idx[i]] {
			if pos[idx[j]] {
				tp++
			} else {
				fp++
			}
			j--
		}
		rec := tp / np
		ap += (rec - prevR) * tp / (tp + fp)
		prevR = rec
		i = j
	}
	return ap, true
}

func sortedBy(score []float64) []int {
	idx := make([]int, len(score))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return score[idx[a]] < score[idx[b]] })
	return idx
}

// calibration bins each row by the confidence of its top class.
func calibration(k int, gold []int, probs []float64, bins int) []Bin {
	out := make([]Bin, bins)
	for b := range out {
		out[b].Lo, out[b].Hi = float64(b)/float64(bins), float64(b+1)/float64(bins)
	}
	for i, g := range gold {
		row := probs[i*k : i*k+k]
		top := 0
		for c := range row {
			if row[c] > row[top] {
				top = c
			}
		}
		b := min(int(row[top]*float64(bins)), bins-1)
		out[b].Count++
		out[b].Confidence += row[top]
		if top == g {
			out[b].Accuracy++
		}
	}
	var kept []Bin
	for _, b := range out {
		if b.Count > 0 {
			b.Confidence /= float64(b.Count)
			b.Accuracy /= float64(b.Count)
			kept = append(kept, b)
		}
	}
	return kept
}

// Regression computes RMSE, MAE and R² of predictions against gold values.
func Regression(gold, pred []float64) (*Report, error) {
	n := len(gold)
	if n == 0 || len(pred) != n {
		return nil, fmt.Errorf("eval: %d gold values and %d predictions", n, len(pred))
	}
	var mean float64
	for _, g := range gold {
		mean += g / float64(n)
	}
	var se, ae, tot float64
	for i, g := range gold {
		d := pred[i] - g
		se += d * d
		ae += math.Abs(d)
		tot += (g - mean) * (g - mean)
	}
	rmse, mae := math.Sqrt(se/float64(n)), ae/float64(n)
	r := &Report{N: n, RMSE: &rmse, MAE: &mae}
	if tot > 0 {
		r2 := 1 - se/tot
		r.R2 = &r2
	}
	return r, nil
}

// File predicts every row of path with m and evaluates it against the gold
// column. Rows whose gold label is empty are skipped.
func File(ctx context.Context, m model.Model, path, goldCol string) (*Report, error) {
	return FileOptions(ctx, m, path, goldCol, data.Options{})
}

// FileOptions is File reading path with the given reader options (a format,
// type overrides, a delimiter).
func FileOptions(ctx context.Context, m model.Model, path, goldCol string, opt data.Options) (*Report, error) {
	rd, err := data.Open(path, opt)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	defer rd.Close()
	if len(rd.Schema().FieldIndices(goldCol)) == 0 {
		var names []string
		for _, f := range rd.Schema().Fields() {
			names = append(names, f.Name)
		}
		return nil, fmt.Errorf("eval: %s: no gold column %q (columns: %s)", path, goldCol, strings.Join(names, ", "))
	}
	info := m.Info()
	regression := len(info.Classes) == 0
	id := map[string]int{}
	for i, c := range info.Classes {
		id[c] = i
	}
	var gold, pred []int
	var probs, goldV, predV []float64
	var classes []string
	row := 0
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("eval: %w", err)
		}
		p, err := m.Predict(ctx, rec)
		if err != nil {
			rec.Release()
			return nil, fmt.Errorf("eval: %s: %w", path, err)
		}
		g := rec.Column(rd.Schema().FieldIndices(goldCol)[0])
		for r := 0; r < int(rec.NumRows()); r++ {
			row++
			txt := value(g, r)
			if txt == "" {
				continue
			}
			if regression {
				v, err := strconv.ParseFloat(txt, 64)
				if err != nil || math.IsNaN(v) {
					rec.Release()
					return nil, fmt.Errorf("eval: %s: row %d, column %q: %q is not a number", path, row, goldCol, txt)
				}
				goldV, predV = append(goldV, v), append(predV, p.Values[r])
				continue
			}
			if classes == nil {
				classes = p.Classes
			}
			k, ok := model.ClassID(txt, id, len(info.Classes))
			if !ok {
				rec.Release()
				return nil, fmt.Errorf("eval: %s: row %d, column %q: gold label %q is neither one of the model's classes (%s) nor a class id 0..%d", path, row, goldCol, txt, strings.Join(info.Classes, ", "), len(info.Classes)-1)
			}
			C := len(p.Classes)
			gold = append(gold, k)
			pred = append(pred, p.Labels[r])
			probs = append(probs, p.Probs[r*C:r*C+C]...)
		}
		rec.Release()
	}
	if regression {
		return Regression(goldV, predV)
	}
	if classes == nil {
		classes = info.Classes
	}
	return Classification(classes, gold, probs, pred)
}

func value(a arrow.Array, r int) string {
	if a.IsNull(r) {
		return ""
	}
	if s, ok := a.(*array.String); ok {
		return strings.TrimSpace(s.Value(r))
	}
	return data.FormatValue(a, r)
}
