package monitor

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/dawn-ml/dawn/explain"
	"github.com/dawn-ml/dawn/model"
	"github.com/dawn-ml/dawn/train"
)

// TextColumns returns the columns a model featurizes as free text (none
// for models that do not say).
func TextColumns(m model.Model) []string {
	tm, ok := m.(*train.Model)
	if !ok || tm.Feat == nil {
		return nil
	}
	var out []string
	for _, t := range tm.Feat.Config.Text {
		out = append(out, t.Column)
	}
	return out
}

// scoreBatch is how many rows are scored per Predict call.
const scoreBatch = 8192

// scores are a classifier's outputs on a frame's rows.
type scores struct {
	classes    []string
	labels     []int     // predicted class per row
	confidence []float64 // top probability per row
}

// score runs the model over the frame, feeding the signature's columns.
func score(ctx context.Context, m model.Model, f *explain.Frame) (*scores, error) {
	info := m.Info()
	if len(info.Classes) == 0 {
		return nil, fmt.Errorf("monitor: model %s is not a classifier; performance monitoring needs class probabilities", info.Type)
	}
	cols := make([]*explain.FrameColumn, len(info.Inputs))
	fields := make([]arrow.Field, len(info.Inputs))
	for i, in := range info.Inputs {
		c, err := f.Col(in.Name)
		if err != nil {
			return nil, fmt.Errorf("monitor: model input %q: %w", in.Name, err)
		}
		cols[i] = c
		t := arrow.DataType(arrow.BinaryTypes.String)
		switch in.Type {
		case "double", "float", "long", "integer":
			t = arrow.PrimitiveTypes.Float64
		}
		fields[i] = arrow.Field{Name: in.Name, Type: t, Nullable: true}
	}
	sch := arrow.NewSchema(fields, nil)
	s := &scores{classes: info.Classes, labels: make([]int, 0, f.Rows), confidence: make([]float64, 0, f.Rows)}
	for lo := 0; lo < f.Rows; lo += scoreBatch {
		hi := min(lo+scoreBatch, f.Rows)
		b := array.NewRecordBuilder(memory.DefaultAllocator, sch)
		for j, c := range cols {
			switch fb := b.Field(j).(type) {
			case *array.StringBuilder:
				for i := lo; i < hi; i++ {
					if c.Str != nil {
						v, ok := c.Str.Value(i)
						if !ok {
							fb.AppendNull()
							continue
						}
						fb.Append(v)
					} else if math.IsNaN(c.Num[i]) {
						fb.AppendNull()
					} else {
						fb.Append(strconv.FormatFloat(c.Num[i], 'g', -1, 64))
					}
				}
			case *array.Float64Builder:
				for i := lo; i < hi; i++ {
					var x float64
					if c.Num != nil {
						x = c.Num[i]
					} else if v, ok := c.Str.Value(i); ok {
						x, _ = strconv.ParseFloat(v, 64)
					} else {
						x = math.NaN()
					}
					if math.IsNaN(x) {
						fb.AppendNull()
					} else {
						fb.Append(x)
					}
				}
			}
		}
		rec := b.NewRecordBatch()
		b.Release()
		pred, err := m.Predict(ctx, rec)
		rec.Release()
		if err != nil {
			return nil, fmt.Errorf("monitor: score rows %d-%d: %w", lo+1, hi, err)
		}
		k := len(pred.Classes)
		for i := 0; i < hi-lo; i++ {
			l := pred.Labels[i]
			s.labels = append(s.labels, l)
			conf := 0.0
			if l >= 0 {
				conf = pred.Probs[i*k+l]
			}
			s.confidence = append(s.confidence, conf)
		}
	}
	return s, nil
}

// labelIDs maps a label column to class ids (-1: missing or unknown).
func labelIDs(f *explain.Frame, name string, classes []string) ([]int, error) {
	c, err := f.Col(name)
	if err != nil {
		return nil, fmt.Errorf("monitor: labels: %w", err)
	}
	byName := map[string]int{}
	for i, cl := range classes {
		byName[cl] = i
	}
	out := make([]int, f.Rows)
	for i := range out {
		out[i] = -1
		var v string
		if c.Str != nil {
			s, ok := c.Str.Value(i)
			if !ok {
				continue
			}
			v = s
		} else {
			if math.IsNaN(c.Num[i]) {
				continue
			}
			v = strconv.FormatFloat(c.Num[i], 'g', -1, 64)
		}
		if id, ok := model.ClassID(v, byName, len(classes)); ok {
			out[i] = id
		}
	}
	return out, nil
}

func outputProfile(ctx context.Context, f *explain.Frame, opt ProfileOptions, rng *rand.Rand) (*OutputProfile, error) {
	s, err := score(ctx, opt.Model, f)
	if err != nil {
		return nil, err
	}
	out := &OutputProfile{Classes: s.classes, Predicted: map[string]int{}}
	for _, l := range s.labels {
		out.Predicted[className(s.classes, l)]++
	}
	idx := sampleIndex(rng, len(s.confidence), SampleSize)
	for _, i := range idx {
		out.Confidence = append(out.Confidence, s.confidence[i])
	}
	sort.Float64s(out.Confidence)
	if opt.Labels == "" {
		return out, nil
	}
	y, err := labelIDs(f, opt.Labels, s.classes)
	if err != nil {
		return nil, err
	}
	var conf, correct []float64
	for i, l := range y {
		if l < 0 {
			continue
		}
		conf = append(conf, s.confidence[i])
		c := 0.0
		if s.labels[i] == l {
			c = 1
		}
		correct = append(correct, c)
	}
	out.Labeled = len(conf)
	if len(conf) == 0 {
		return nil, fmt.Errorf("monitor: profile: labels column %q holds none of the model's classes %v", opt.Labels, s.classes)
	}
	acc := 0.0
	for _, c := range correct {
		acc += c
	}
	acc /= float64(len(correct))
	out.Accuracy = &acc
	out.Calibration = FitCalibration(conf, correct)
	return out, nil
}

func className(classes []string, l int) string {
	if l < 0 || l >= len(classes) {
		return "(abstain)"
	}
	return classes[l]
}

// Calibration is an isotonic (non-decreasing, step) map from a model's
// confidence to the probability that its prediction is right, fitted by
// pool-adjacent-violators, as NannyML's CBPE calibrates on reference data.
type Calibration struct {
	// X are the upper confidence bounds of the steps, ascending; Y the
	// calibrated probability of each step.
	X []float64 `json:"x"`
	Y []float64 `json:"y"`
}

// FitCalibration fits the map to (confidence, correct ∈ {0,1}) pairs.
func FitCalibration(conf, correct []float64) *Calibration {
	idx := make([]int, len(conf))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return conf[idx[a]] < conf[idx[b]] })
	type block struct{ sum, n, hi float64 }
	var st []block
	for _, i := range idx {
		b := block{sum: correct[i], n: 1, hi: conf[i]}
		if len(st) > 0 && st[len(st)-1].hi == b.hi {
			top := &st[len(st)-1]
			top.sum += b.sum
			top.n++
		} else {
			st = append(st, b)
		}
		for len(st) > 1 && st[len(st)-2].sum/st[len(st)-2].n >= st[len(st)-1].sum/st[len(st)-1].n {
			a, c := st[len(st)-2], st[len(st)-1]
			st = st[:len(st)-2]
			st = append(st, block{sum: a.sum + c.sum, n: a.n + c.n, hi: c.hi})
		}
	}
	cal := &Calibration{}
	for _, b := range st {
		cal.X = append(cal.X, b.hi)
		cal.Y = append(cal.Y, b.sum/b.n)
	}
	return cal
}

// At is the calibrated probability for confidence x: the step whose range
// holds x (the last step beyond the fitted range).
func (c *Calibration) At(x float64) float64 {
	i := sort.SearchFloat64s(c.X, x)
	if i >= len(c.Y) {
		i = len(c.Y) - 1
	}
	return c.Y[i]
}
