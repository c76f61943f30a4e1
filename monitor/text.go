package monitor

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/dawn-ml/dawn/eval"
	"github.com/dawn-ml/dawn/explain"
	"github.com/dawn-ml/dawn/featurize"
	"github.com/dawn-ml/dawn/train"
)

// Domain-classifier bounds: at most maxDomainRows current texts are used,
// randomAUCs random scorers set the threshold.
const (
	maxDomainRows = 1000
	randomAUCs    = 1000
	typicalWords  = 10
	exampleRows   = 3
)

// TextDrift explains a text column's drift verdict.
type TextDrift struct {
	AUC       float64 `json:"roc_auc"`
	Threshold float64 `json:"threshold"` // 95th percentile of random scorers' AUC
	// TypicalCurrent and TypicalReference are the words most over-
	// represented on each side (smoothed document-frequency log ratio).
	TypicalCurrent   []string `json:"typical_current"`
	TypicalReference []string `json:"typical_reference"`
	// ExamplesCurrent and ExamplesReference are the held-out rows the
	// classifier found most typical of each side.
	ExamplesCurrent   []string `json:"examples_current"`
	ExamplesReference []string `json:"examples_reference"`
}

// textDrift is Evidently's domain-classifier test: a logistic regression
// on hashed TF-IDF word features (dawn's own featurize and train) learns to
// tell reference texts from current ones on half the rows; the column
// drifts when its ROC AUC on the other half beats the 95th percentile of
// the AUCs of random scorers on the same half.
func textDrift(ctx context.Context, cp *ColumnProfile, c *explain.Column, seed uint64) (*TextDrift, error) {
	rng := rand.New(rand.NewPCG(seed, 0xd0a1))
	var cur []string
	for i := range c.Codes {
		if v, ok := c.Value(i); ok {
			cur = append(cur, v)
		}
	}
	ref := cp.Texts
	if len(cur) < 4 || len(ref) < 4 {
		return nil, fmt.Errorf("domain classifier: need at least 4 texts on each side (reference %d, current %d)", len(ref), len(cur))
	}
	if len(cur) > maxDomainRows {
		idx := sampleIndex(rng, len(cur), maxDomainRows)
		s := make([]string, len(idx))
		for i, j := range idx {
			s[i] = cur[j]
		}
		cur = s
	}
	texts := append(slices.Clone(ref), cur...)
	side := make([]bool, len(texts)) // true: current
	for i := len(ref); i < len(texts); i++ {
		side[i] = true
	}
	// A 50/50 split of the distinct texts: all copies of one text (spam is
	// posted many times over, on both sides) go to the same half, else the
	// classifier would recognise in the test half the copies it learned,
	// and the AUC of two samples of one distribution would spread wider
	// than the random scorers' that set the threshold.
	var trainIdx, testIdx []int
	half := map[string]bool{}
	var keys []string
	norm := make([]string, len(texts))
	for i, s := range texts {
		norm[i] = normText(s)
		if _, ok := half[norm[i]]; !ok {
			half[norm[i]] = false
			keys = append(keys, norm[i])
		}
	}
	for k, j := range rng.Perm(len(keys)) {
		half[keys[j]] = k%2 == 1
	}
	for i := range texts {
		if half[norm[i]] {
			testIdx = append(testIdx, i)
		} else {
			trainIdx = append(trainIdx, i)
		}
	}
	nTestCur := 0
	for _, i := range testIdx {
		if side[i] {
			nTestCur++
		}
	}
	if nTestCur == 0 || nTestCur == len(testIdx) || len(trainIdx) == 0 {
		return nil, fmt.Errorf("domain classifier: too few distinct texts to split")
	}
	trainRec := textRecord(texts, trainIdx)
	defer trainRec.Release()
	testRec := textRecord(texts, testIdx)
	defer testRec.Release()
	cfg := featurize.Config{Text: []featurize.Text{{Column: "text", Words: 1, Lower: true, TFIDF: true}}, Bits: 16}
	feat, err := featurize.Fit(cfg, []arrow.RecordBatch{trainRec})
	if err != nil {
		return nil, fmt.Errorf("domain classifier: %w", err)
	}
	X := featurize.NewMatrix(feat.Dim())
	if err := feat.Transform(trainRec, X); err != nil {
		return nil, fmt.Errorf("domain classifier: %w", err)
	}
	y := make([]float64, 2*len(trainIdx))
	for i, j := range trainIdx {
		if side[j] {
			y[2*i+1] = 1
		} else {
			y[2*i] = 1
		}
	}
	// Balance the sides so the classifier is not pulled to the larger one.
	w := make([]float64, len(trainIdx))
	nCur := 0
	for _, j := range trainIdx {
		if side[j] {
			nCur++
		}
	}
	for i, j := range trainIdx {
		if side[j] {
			w[i] = float64(len(trainIdx)) / (2 * float64(nCur))
		} else {
			w[i] = float64(len(trainIdx)) / (2 * float64(len(trainIdx)-nCur))
		}
	}
	ds := &train.Dataset{X: X, Y: y, C: 2, Weight: w}
	fit, err := train.Fit(ctx, ds, train.Options{Model: train.LogReg, Epochs: 20, Threads: 1, Seed: seed, L2: 1e-4})
	if err != nil {
		return nil, fmt.Errorf("domain classifier: %w", err)
	}
	m := &train.Model{Kind: train.LogReg, Classes: []string{"reference", "current"}, Feat: feat, Params: fit.Params}
	pred, err := m.Predict(ctx, testRec)
	if err != nil {
		return nil, fmt.Errorf("domain classifier: %w", err)
	}
	score := make([]float64, len(testIdx))
	pos := make([]bool, len(testIdx))
	for i, j := range testIdx {
		score[i] = pred.Probs[2*i+1]
		pos[i] = side[j]
	}
	auc, ok := eval.ROCAUC(score, pos)
	if !ok {
		return nil, fmt.Errorf("domain classifier: ROC AUC undefined")
	}
	td := &TextDrift{AUC: auc, Threshold: randomAUCThreshold(pos, rng)}
	// Example rows: the most confidently classified held-out rows of each side.
	order := make([]int, len(testIdx))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return score[order[a]] > score[order[b]] })
	for _, i := range order {
		if pos[i] && len(td.ExamplesCurrent) < exampleRows {
			td.ExamplesCurrent = append(td.ExamplesCurrent, texts[testIdx[i]])
		}
	}
	for k := len(order) - 1; k >= 0; k-- {
		i := order[k]
		if !pos[i] && len(td.ExamplesReference) < exampleRows {
			td.ExamplesReference = append(td.ExamplesReference, texts[testIdx[i]])
		}
	}
	td.TypicalCurrent, td.TypicalReference = typical(cp, cur)
	return td, nil
}

// copyKeyWords is how many leading words identify copies of a text.
const copyKeyWords = 4

// normText keys a text by its first copyKeyWords words, lower-cased, so
// that copies and templated variants of one message ("check out my
// channel ...") fall together.
func normText(s string) string {
	w := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127)
	})
	return strings.Join(w[:min(len(w), copyKeyWords)], " ")
}

func textRecord(texts []string, idx []int) arrow.RecordBatch {
	sch := arrow.NewSchema([]arrow.Field{{Name: "text", Type: arrow.BinaryTypes.String}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sch)
	defer b.Release()
	sb := b.Field(0).(*array.StringBuilder)
	for _, i := range idx {
		sb.Append(texts[i])
	}
	return b.NewRecordBatch()
}

// randomAUCThreshold is the 95th percentile of the ROC AUC of randomAUCs
// random scorers against the held-out sides.
func randomAUCThreshold(pos []bool, rng *rand.Rand) float64 {
	aucs := make([]float64, randomAUCs)
	s := make([]float64, len(pos))
	for r := range aucs {
		for i := range s {
			s[i] = rng.Float64()
		}
		aucs[r], _ = eval.ROCAUC(s, pos)
	}
	sort.Float64s(aucs)
	return percentileLinear(aucs, 95)
}

// percentileLinear is the p-th percentile with linear interpolation
// (NumPy's default), of sorted values; explain.PercentileOf is MacroBase's
// commons-math estimator, which places the percentile differently.
func percentileLinear(sorted []float64, p float64) float64 {
	h := (float64(len(sorted)) - 1) * p / 100
	lo := int(math.Floor(h))
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (h-float64(lo))*(sorted[hi]-sorted[lo])
}

// typical returns the words most over-represented in the current texts and
// in the reference, by the log ratio of smoothed document frequencies;
// words in fewer than three documents on their side are left out.
func typical(cp *ColumnProfile, cur []string) (current, reference []string) {
	df := map[string]int{}
	for _, s := range cur {
		for _, t := range uniqueTokens(s) {
			df[t]++
		}
	}
	nc, nr := float64(len(cur)), float64(max(cp.Count, 1))
	type wscore struct {
		w string
		s float64
	}
	var ws []wscore
	seen := map[string]bool{}
	for w, n := range df {
		seen[w] = true
		ws = append(ws, wscore{w, math.Log((float64(n)+1)/(nc+2)) - math.Log((float64(cp.Tokens[w])+1)/(nr+2))})
	}
	for w, n := range cp.Tokens {
		if !seen[w] {
			ws = append(ws, wscore{w, math.Log(1/(nc+2)) - math.Log((float64(n)+1)/(nr+2))})
		}
	}
	slices.SortFunc(ws, func(a, b wscore) int { return cmp.Or(cmp.Compare(b.s, a.s), cmp.Compare(a.w, b.w)) })
	for _, x := range ws {
		if len(current) < typicalWords && x.s > 0 && df[x.w] >= 3 {
			current = append(current, x.w)
		}
	}
	for k := len(ws) - 1; k >= 0; k-- {
		x := ws[k]
		if len(reference) < typicalWords && x.s < 0 && cp.Tokens[x.w] >= 3 {
			reference = append(reference, x.w)
		}
	}
	return current, reference
}
