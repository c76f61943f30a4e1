package model

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/dawn-ml/dawn/data"
)

// PredictFile scores every row of the file in with m and writes out (CSV or
// Parquet by extension, renamed into place when complete): the input's
// columns, then prob_<class> per class and `label` (classifiers) or
// `prediction` (regression), then `stage` when the model reports one. It
// returns the number of rows written.
func PredictFile(ctx context.Context, m Model, in, out string) (int64, error) {
	return PredictFileOptions(ctx, m, in, out, data.Options{})
}

// PredictFileOptions is PredictFile reading in with the given reader
// options (a format, type overrides, a delimiter).
func PredictFileOptions(ctx context.Context, m Model, in, out string, opt data.Options) (int64, error) {
	r, err := data.Open(in, opt)
	if err != nil {
		return 0, fmt.Errorf("model: predict: %w", err)
	}
	defer r.Close()
	var w *data.Writer
	var sch *arrow.Schema
	var n int64
	fail := func(err error) (int64, error) {
		if w != nil {
			w.Abort()
		}
		return 0, err
	}
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail(fmt.Errorf("model: predict: %w", err))
		}
		pred, err := m.Predict(ctx, rec)
		if err != nil {
			rec.Release()
			return fail(fmt.Errorf("model: predict %s (rows %d..%d): %w", in, n+1, n+rec.NumRows(), err))
		}
		if err := pred.check(int(rec.NumRows())); err != nil {
			rec.Release()
			return fail(fmt.Errorf("model: predict %s: %w", in, err))
		}
		if w == nil {
			sch = OutputSchema(r.Schema(), pred.Classes, pred.Values != nil && pred.Probs == nil, pred.Stage != nil)
			if w, err = data.Create(out, sch, data.WriteOptions{}); err != nil {
				rec.Release()
				return 0, fmt.Errorf("model: predict: %w", err)
			}
		}
		outRec := appendPrediction(sch, rec, pred)
		rec.Release()
		err = w.Write(outRec)
		outRec.Release()
		if err != nil {
			return fail(err)
		}
		n += int64(outRec.NumRows())
	}
	if w == nil {
		info := m.Info()
		sch = OutputSchema(r.Schema(), info.Classes, len(info.Classes) == 0, false)
		if w, err = data.Create(out, sch, data.WriteOptions{}); err != nil {
			return 0, fmt.Errorf("model: predict: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return 0, err
	}
	return n, nil
}

func (p *Prediction) check(n int) error {
	switch {
	case p.Probs != nil && (len(p.Classes) == 0 || len(p.Probs) != n*len(p.Classes)):
		return fmt.Errorf("the model returned %d probabilities for %d rows × %d classes", len(p.Probs), n, len(p.Classes))
	case p.Probs != nil && len(p.Labels) != n:
		return fmt.Errorf("the model returned %d labels for %d rows", len(p.Labels), n)
	case p.Probs == nil && len(p.Values) != n:
		return fmt.Errorf("the model returned %d values for %d rows", len(p.Values), n)
	case p.Stage != nil && len(p.Stage) != n:
		return fmt.Errorf("the model returned %d stages for %d rows", len(p.Stage), n)
	}
	for _, l := range p.Labels {
		if l < -1 || l >= len(p.Classes) {
			return fmt.Errorf("the model returned label id %d outside -1..%d", l, len(p.Classes)-1)
		}
	}
	return nil
}

// OutputSchema is the schema PredictFile writes for an input schema.
// An input column whose name an output column takes (often a gold `label`)
// is kept as input_<name>.
func OutputSchema(in *arrow.Schema, classes []string, regression, stage bool) *arrow.Schema {
	taken := map[string]bool{"label": !regression, "prediction": regression, "stage": stage}
	for _, c := range classes {
		taken["prob_"+c] = !regression
	}
	fields := append([]arrow.Field(nil), in.Fields()...)
	for i := range fields {
		for taken[fields[i].Name] {
			fields[i].Name = "input_" + fields[i].Name
		}
	}
	if regression {
		fields = append(fields, arrow.Field{Name: "prediction", Type: arrow.PrimitiveTypes.Float64, Nullable: true})
	} else {
		for _, c := range classes {
			fields = append(fields, arrow.Field{Name: "prob_" + c, Type: arrow.PrimitiveTypes.Float64, Nullable: true})
		}
		fields = append(fields, arrow.Field{Name: "label", Type: arrow.BinaryTypes.String, Nullable: true})
	}
	if stage {
		fields = append(fields, arrow.Field{Name: "stage", Type: arrow.BinaryTypes.String, Nullable: true})
	}
	return arrow.NewSchema(fields, nil)
}

func appendPrediction(sch *arrow.Schema, rec arrow.RecordBatch, p *Prediction) arrow.RecordBatch {
	n := int(rec.NumRows())
	cols := make([]arrow.Array, 0, sch.NumFields())
	for i := 0; i < int(rec.NumCols()); i++ {
		c := rec.Column(i)
		c.Retain()
		cols = append(cols, c)
	}
	mem := memory.DefaultAllocator
	if p.Probs == nil {
		b := array.NewFloat64Builder(mem)
		b.AppendValues(p.Values, nil)
		cols = append(cols, b.NewArray())
		b.Release()
	} else {
		C := len(p.Classes)
		for k := 0; k < C; k++ {
			b := array.NewFloat64Builder(mem)
			b.Reserve(n)
			for i := 0; i < n; i++ {
				b.UnsafeAppend(p.Probs[i*C+k])
			}
			cols = append(cols, b.NewArray())
			b.Release()
		}
		b := array.NewStringBuilder(mem)
		for _, l := range p.Labels {
			if l < 0 {
				b.AppendNull()
			} else {
				b.Append(p.Classes[l])
			}
		}
		cols = append(cols, b.NewArray())
		b.Release()
	}
	if sch.Field(sch.NumFields()-1).Name == "stage" && len(cols) < sch.NumFields() {
		b := array.NewStringBuilder(mem)
		if p.Stage == nil {
			b.AppendNulls(n)
		} else {
			b.AppendValues(p.Stage, nil)
		}
		cols = append(cols, b.NewArray())
		b.Release()
	}
	out := array.NewRecordBatch(sch, cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	return out
}
