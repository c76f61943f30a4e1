// Package labeling runs data programming's steps on files: it writes the
// labels file (the data with one probability column per class, the label
// and the vote count added) from LFs and a fitted label model, labels a vote
// matrix made elsewhere, saves and loads label models, and runs the whole
// `label run` and `label predict` pipelines (Run, Predict: the step order
// and the tracking calls, through the small Tracker interface). The dawn
// label commands are its flags and printing.
package labeling

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/dawn-ml/dawn/data"
	"github.com/dawn-ml/dawn/label"
	"github.com/dawn-ml/dawn/labelmodel"
	"github.com/dawn-ml/dawn/lfmodel"
)

// SaveModel writes a .json label model, or a model directory (type
// labelmodel: the LFs and the label model together) for any other path.
func SaveModel(path string, lm labelmodel.Model, f *label.File, schema *arrow.Schema, runID string) error {
	if !IsJSONPath(path) {
		return lfmodel.Save(path, f, schema, lm, runID)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := lm.Save(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func LoadModel(path string) (labelmodel.Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	lm, err := labelmodel.Load(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return lm, nil
}

// PredictVotes labels a vote matrix file with lm and writes row, the
// probabilities, the label and the vote count per row.
func PredictVotes(ctx context.Context, lm labelmodel.Model, votesPath, out string, policy labelmodel.TieBreak, seed uint64) (rows, labeled int, err error) {
	x, _, err := label.ReadVotes(ctx, votesPath, label.VotesOptions{Classes: lm.Classes()})
	if err != nil {
		return 0, 0, err
	}
	if ext := strings.ToLower(filepath.Ext(votesPath)); (ext == ".npy" || ext == ".json") && len(x.LFs) == len(lm.LFs()) {
		x.LFs = lm.LFs() // these formats carry no LF names: by position
	}
	probs, err := lm.PredictProba(x)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", votesPath, err)
	}
	preds, err := labelmodel.ProbsToPreds(probs, x.K(), policy, seed)
	if err != nil {
		return 0, 0, err
	}
	oc := label.OutputNames([]string{"row"}, x.Classes)
	fields := []arrow.Field{{Name: "row", Type: arrow.PrimitiveTypes.Int64}}
	schema := arrow.NewSchema(append(fields, LabelFields(oc)...), nil)
	w, err := data.Create(out, schema, data.WriteOptions{})
	if err != nil {
		return 0, 0, err
	}
	defer w.Abort()
	rb := array.NewInt64Builder(memory.DefaultAllocator)
	for i := 0; i < x.N; i++ {
		rb.Append(int64(i))
	}
	ids := rb.NewArray()
	rb.Release()
	in := array.NewRecordBatch(arrow.NewSchema(fields, nil), []arrow.Array{ids}, int64(x.N))
	ids.Release()
	defer in.Release()
	if err := writeBatch(w, schema, in, x, probs, preds, x.Classes, &labeled); err != nil {
		return 0, 0, err
	}
	return x.N, labeled, w.Close()
}

// LabelFields are the columns a labels file adds.
func LabelFields(oc label.OutputColumns) []arrow.Field {
	var fields []arrow.Field
	for _, c := range oc.Probs {
		fields = append(fields, arrow.Field{Name: c, Type: arrow.PrimitiveTypes.Float64})
	}
	return append(fields, arrow.Field{Name: oc.Label, Type: arrow.BinaryTypes.String},
		arrow.Field{Name: oc.Votes, Type: arrow.PrimitiveTypes.Int64})
}

// WriteOptions tunes WriteLabels.
type WriteOptions struct {
	// Data says how to read the data file.
	Data data.Options
	// TieBreak and Seed decide tied rows.
	TieBreak labelmodel.TieBreak
	Seed     uint64
	// Progress, when set, is called after each batch with the bytes read
	// so far and the file's size.
	Progress func(read, size int64)
}

// Written is what WriteLabels wrote.
type Written struct {
	Rows, Labeled int
	Columns       label.OutputColumns
}

// WriteLabels streams dataPath through the LFs of f (read from lfsPath,
// named in messages) and the label model, and writes each batch to out with
// the probability, label and vote-count columns added (names that do not
// clash with the data's, label.OutputNames). The output is written to a
// temp file and renamed, so out is whole or absent.
func WriteLabels(ctx context.Context, f *label.File, lfsPath, dataPath, out string, lm labelmodel.Model, o WriteOptions) (Written, error) {
	var res Written
	rows, labeled, oc, err := writeLabels(ctx, f, lfsPath, dataPath, out, lm, o)
	if err == nil {
		res = Written{Rows: rows, Labeled: labeled, Columns: oc}
	}
	return res, err
}

func writeLabels(ctx context.Context, f *label.File, lfsPath, dataPath, out string, lm labelmodel.Model, o WriteOptions) (rows, labeled int, oc label.OutputColumns, err error) {
	policy, seed := o.TieBreak, o.Seed
	if strings.Join(lm.Classes(), "\x00") != strings.Join(f.Labels, "\x00") {
		return 0, 0, oc, fmt.Errorf("the model's classes (%s) differ from %s's labels (%s)", strings.Join(lm.Classes(), ", "), lfsPath, strings.Join(f.Labels, ", "))
	}
	r, err := data.Open(dataPath, o.Data)
	if err != nil {
		return 0, 0, oc, err
	}
	defer r.Close()
	set, err := label.Compile(f, r.Schema())
	if err != nil {
		return 0, 0, oc, fmt.Errorf("%s: %w", lfsPath, err)
	}
	inFields := r.Schema().Fields()
	names := make([]string, len(inFields))
	for i, fl := range inFields {
		names[i] = fl.Name
	}
	oc = label.OutputNames(names, f.Labels)
	fields := append(append([]arrow.Field(nil), inFields...), LabelFields(oc)...)
	schema := arrow.NewSchema(fields, nil)
	w, err := data.Create(out, schema, data.WriteOptions{})
	if err != nil {
		return 0, 0, oc, err
	}
	defer w.Abort()
	k := len(f.Labels)
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, 0, oc, err
		}
		x := &label.Matrix{LFs: set.Names, Classes: set.Classes, RowPtr: []int64{0}}
		err = set.ApplyBatch(ctx, rec, int64(rows), x, 0)
		if err == nil {
			var probs []float64
			var preds []int
			probs, err = lm.PredictProba(x)
			if err == nil {
				preds, err = labelmodel.ProbsToPreds(probs, k, policy, seed)
			}
			if err == nil {
				err = writeBatch(w, schema, rec, x, probs, preds, f.Labels, &labeled)
			}
		}
		rows += int(rec.NumRows())
		rec.Release()
		if err != nil {
			return 0, 0, oc, fmt.Errorf("%s: %w", dataPath, err)
		}
		if o.Progress != nil {
			o.Progress(r.BytesRead(), r.Size())
		}
	}
	return rows, labeled, oc, w.Close()
}

func writeBatch(w *data.Writer, schema *arrow.Schema, rec arrow.RecordBatch, x *label.Matrix, probs []float64, preds []int, classes []string, labeled *int) error {
	n := int(rec.NumRows())
	k := len(classes)
	cols := append([]arrow.Array(nil), rec.Columns()...)
	mem := memory.DefaultAllocator
	for c := 0; c < k; c++ {
		b := array.NewFloat64Builder(mem)
		b.Reserve(n)
		for i := 0; i < n; i++ {
			b.UnsafeAppend(probs[i*k+c])
		}
		cols = append(cols, b.NewArray())
		b.Release()
	}
	lb := array.NewStringBuilder(mem)
	for _, p := range preds {
		if p < 0 {
			lb.Append("")
			continue
		}
		lb.Append(classes[p])
		*labeled++
	}
	cols = append(cols, lb.NewArray())
	lb.Release()
	vb := array.NewInt64Builder(mem)
	vb.Reserve(n)
	for _, c := range x.VoteCounts() {
		vb.UnsafeAppend(int64(c))
	}
	cols = append(cols, vb.NewArray())
	vb.Release()
	out := array.NewRecordBatch(schema, cols, int64(n))
	defer out.Release()
	for _, c := range cols[rec.NumCols():] {
		c.Release()
	}
	return w.Write(out)
}

// IsJSONPath reports whether a label model path names a .json file (the
// label model alone) rather than a model directory (LFs and label model).
func IsJSONPath(p string) bool { return strings.EqualFold(filepath.Ext(p), ".json") }

// Probabilities returns the label model lm's n×k probabilities of x's
// rows, for label.Inspect's uncertain rows. With lm nil it fits the
// default label model, Snorkel with default options, on x itself (and
// returns it): what `dawn label inspect --show uncertain` does without
// --model and what the web console's workbench does when the run has no
// label model for the LFs shown.
func Probabilities(ctx context.Context, x *label.Matrix, lm labelmodel.Model) ([]float64, labelmodel.Model, error) {
	if lm == nil {
		var err error
		if lm, err = labelmodel.New(labelmodel.Snorkel, labelmodel.Options{}); err != nil {
			return nil, nil, err
		}
		if err := lm.Fit(ctx, x); err != nil {
			return nil, nil, err
		}
	}
	probs, err := lm.PredictProba(x)
	if err != nil {
		return nil, nil, err
	}
	return probs, lm, nil
}
