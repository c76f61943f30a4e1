package eval

import (
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestAUC(t *testing.T) {
	cases := []struct {
		name    string
		score   []float64
		pos     []bool
		auc, ap float64
	}{
		// scikit-learn's documented example: roc_auc_score 0.75, average_precision_score 0.8333.
		{"sklearn doc", []float64{0.1, 0.4, 0.35, 0.8}, []bool{false, false, true, true}, 0.75, 5.0 / 6},
		{"perfect", []float64{0.1, 0.2, 0.8, 0.9}, []bool{false, false, true, true}, 1, 1},
		{"inverted", []float64{0.9, 0.8, 0.2, 0.1}, []bool{false, false, true, true}, 0, 0.5/3 + 0.5*0.5}, // thresholds 0.2: R ½ P ⅓; 0.1: R 1 P ½
		// All tied: AUC one half; one threshold, precision 2/4.
		{"ties", []float64{0.5, 0.5, 0.5, 0.5}, []bool{false, true, false, true}, 0.5, 0.5},
		// Partial tie between a positive and a negative at 0.6: pairs (0.6+,0.6-) count 1/2.
		// Positives 0.9, 0.6; negatives 0.6, 0.1 → wins 1+1+0.5+1 = 3.5 of 4.
		// AP: threshold 0.9 → R 1/2, P 1; 0.6 → R 1, P 2/3: 0.5 + 0.5·2/3.
		{"partial tie", []float64{0.9, 0.6, 0.6, 0.1}, []bool{true, true, false, false}, 3.5 / 4, 0.5 + 1.0/3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			auc, ok := ROCAUC(c.score, c.pos)
			if !ok || !near(auc, c.auc) {
				t.Errorf("ROC AUC %v, want %v", auc, c.auc)
			}
			ap, ok := AveragePrecision(c.score, c.pos)
			if !ok || !near(ap, c.ap) {
				t.Errorf("AP %v, want %v", ap, c.ap)
			}
		})
	}
	if _, ok := ROCAUC([]float64{1, 2}, []bool{true, true}); ok {
		t.Error("AUC defined with one class")
	}
}

func TestClassification(t *testing.T) {
	classes := []string{"a", "b", "c"}
	gold := []int{0, 0, 1, 1, 2, 2}
	pred := []int{0, 1, 1, 1, 2, -1}
	probs := []float64{
		0.8, 0.1, 0.1,
		0.3, 0.6, 0.1,
		0.1, 0.7, 0.2,
		0.2, 0.5, 0.3,
		0.1, 0.1, 0.8,
		1.0 / 3, 1.0 / 3, 1.0 / 3,
	}
	r, err := Classification(classes, gold, probs, pred)
	if err != nil {
		t.Fatal(err)
	}
	// 4 right of 6; the abstain counts wrong.
	if !near(r.Accuracy, 4.0/6) || r.Abstained != 1 || r.N != 6 {
		t.Errorf("accuracy %v abstained %d", r.Accuracy, r.Abstained)
	}
	// a: P 1/1 R 1/2; b: P 2/3 R 1; c: P 1 R 1/2.
	want := []Class{{"a", 1, 0.5, 2.0 / 3, 2}, {"b", 2.0 / 3, 1, 0.8, 2}, {"c", 1, 0.5, 2.0 / 3, 2}}
	for i, w := range want {
		g := r.PerClass[i]
		if g.Class != w.Class || !near(g.Precision, w.Precision) || !near(g.Recall, w.Recall) || !near(g.F1, w.F1) || g.Support != w.Support {
			t.Errorf("class %s = %+v, want %+v", w.Class, g, w)
		}
	}
	if !near(r.MacroF1, (2.0/3+0.8+2.0/3)/3) || !near(r.F1, r.MacroF1) {
		t.Errorf("macro F1 %v, F1 %v", r.MacroF1, r.F1)
	}
	wantLL := -(math.Log(0.8) + math.Log(0.3) + math.Log(0.7) + math.Log(0.5) + math.Log(0.8) + math.Log(1.0/3)) / 6
	if !near(r.LogLoss, wantLL) {
		t.Errorf("log loss %v, want %v", r.LogLoss, wantLL)
	}
	if r.Confusion[0][1] != 1 || r.Confusion[1][1] != 2 || r.Confusion[2][2] != 1 || r.ROCAUC != nil {
		t.Errorf("confusion %v", r.Confusion)
	}
	// Calibration: top confidences 0.8,0.6,0.7,0.5,0.8,1/3 → bins 0.3,0.5,0.6,0.7,0.8(×2).
	var n int
	for _, b := range r.Calibrated {
		n += b.Count
		if b.Lo == 0.8 && (b.Count != 2 || !near(b.Accuracy, 1) || !near(b.Confidence, 0.8)) {
			t.Errorf("bin 0.8 = %+v", b)
		}
	}
	if n != 6 || len(r.Calibrated) != 5 {
		t.Errorf("calibration %+v", r.Calibrated)
	}
}

func TestBinaryF1IsPositiveClass(t *testing.T) {
	r, err := Classification([]string{"ham", "spam"}, []int{0, 1, 1, 0}, []float64{0.9, 0.1, 0.2, 0.8, 0.6, 0.4, 0.4, 0.6}, []int{0, 1, 0, 1})
	if err != nil {
		t.Fatal(err)
	}
	// spam: TP 1, FP 1, FN 1 → P = R = F1 = 0.5.
	if !near(r.F1, 0.5) || r.ROCAUC == nil || !near(*r.ROCAUC, 0.75) {
		t.Errorf("F1 %v AUC %v", r.F1, r.ROCAUC)
	}
}

func TestRegression(t *testing.T) {
	r, err := Regression([]float64{1, 2, 3}, []float64{1, 2, 5})
	if err != nil {
		t.Fatal(err)
	}
	// SE 4 → RMSE sqrt(4/3); MAE 2/3; SStot 2 → R² = 1 − 4/2 = −1.
	if !near(*r.RMSE, math.Sqrt(4.0/3)) || !near(*r.MAE, 2.0/3) || !near(*r.R2, -1) {
		t.Errorf("%v %v %v", *r.RMSE, *r.MAE, *r.R2)
	}
}

func TestErrors(t *testing.T) {
	if _, err := Classification([]string{"a", "b"}, []int{0}, []float64{1}, []int{0}); err == nil {
		t.Error("accepted mismatched lengths")
	}
	if _, err := Classification([]string{"a", "b"}, []int{2}, []float64{1, 0}, []int{0}); err == nil {
		t.Error("accepted a gold id out of range")
	}
	if _, err := Regression(nil, nil); err == nil {
		t.Error("accepted no rows")
	}
}
