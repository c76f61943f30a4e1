package labeling

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/dawn-ml/dawn/data"
	"github.com/dawn-ml/dawn/internal/suggest"
	"github.com/dawn-ml/dawn/label"
	"github.com/dawn-ml/dawn/labelmodel"
	"github.com/dawn-ml/dawn/model"
)

// ApplyFile compiles the LF file against a data file's schema and applies
// it, reading only the columns the LFs use. The data's full schema is
// returned too, for saving a servable model. progress, when set, is called
// with the bytes read and the file's size.
func ApplyFile(ctx context.Context, lfsPath, dataPath string, opt data.Options, workers int, progress func(read, size int64)) (*label.Matrix, *label.File, *arrow.Schema, error) {
	f, err := label.LoadFile(lfsPath)
	if err != nil {
		return nil, nil, nil, err
	}
	r, err := data.Open(dataPath, opt)
	if err != nil {
		return nil, nil, nil, err
	}
	defer func() { r.Close() }()
	full := r.Schema()
	set, err := label.Compile(f, full)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", lfsPath, err)
	}
	if cols := set.Columns(); len(cols) < full.NumFields() {
		opt.Columns = nil
		for _, c := range cols {
			opt.Columns = append(opt.Columns, full.Field(c).Name)
		}
		r.Close()
		if r, err = data.Open(dataPath, opt); err != nil {
			return nil, nil, nil, err
		}
		if set, err = label.Compile(f, r.Schema()); err != nil {
			return nil, nil, nil, fmt.Errorf("%s: %w", lfsPath, err)
		}
	}
	ao := label.ApplyOptions{Workers: workers}
	if progress != nil {
		ao.Progress = func(int64) { progress(r.BytesRead(), r.Size()) }
	}
	x, err := label.Apply(ctx, set, r, ao)
	return x, f, full, err
}

// ReadColumn reads one column of a data file as text (as typ when given).
func ReadColumn(path, column string, opt data.Options, typ arrow.DataType) ([]string, error) {
	opt.Columns = []string{column}
	if typ != nil {
		opt.Types = maps.Clone(opt.Types)
		if opt.Types == nil {
			opt.Types = map[string]arrow.DataType{}
		}
		opt.Types[column] = typ
	}
	r, err := data.Open(path, opt)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []string
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		c := rec.Column(0)
		for i := 0; i < c.Len(); i++ {
			out = append(out, data.FormatValue(c, i))
		}
		rec.Release()
	}
}

// ErrNoGoldColumn is wrapped by the error for a gold column the file lacks
// (a mistake of the caller's: dawn exits with a usage error).
var ErrNoGoldColumn = errors.New("no gold column")

// CheckGoldColumn fails when a labeled file lacks its gold column, so that
// a typo stops a command before it writes or logs anything. The message
// lists the columns and the nearest name.
func CheckGoldColumn(path, column string, opt data.Options) error {
	r, err := data.Open(path, opt)
	if err != nil {
		return err
	}
	defer r.Close()
	if len(r.Schema().FieldIndices(column)) == 0 {
		names := make([]string, 0, r.Schema().NumFields())
		for _, f := range r.Schema().Fields() {
			names = append(names, f.Name)
		}
		return fmt.Errorf("%s: %w %q%s (columns: %s)", path, ErrNoGoldColumn, column, suggest.Hint(column, names), strings.Join(names, ", "))
	}
	return nil
}

// ReadGold reads a gold-label column holding class names or integer ids in
// the order of classes; empty cells give -1 (no gold label).
func ReadGold(path, column string, classes []string, opt data.Options) ([]int, error) {
	if err := CheckGoldColumn(path, column, opt); err != nil {
		return nil, err
	}
	cells, err := ReadColumn(path, column, opt, arrow.BinaryTypes.String)
	if err != nil {
		return nil, err
	}
	byName := make(map[string]int, len(classes))
	for i, c := range classes {
		byName[c] = i
	}
	gold := make([]int, len(cells))
	for i, v := range cells {
		if gold[i], err = classOf(strings.TrimSpace(v), classes, byName); err != nil {
			return nil, &data.Error{File: path, Row: int64(i + 1), Column: column, Err: err}
		}
	}
	return gold, nil
}

func classOf(v string, classes []string, byName map[string]int) (int, error) {
	if v == "" {
		return -1, nil
	}
	if id, ok := model.ClassID(v, byName, len(classes)); ok {
		return id, nil
	}
	return 0, fmt.Errorf("gold label %q is neither a class name (%s) nor a class id 0..%d", v, strings.Join(classes, ", "), len(classes)-1)
}

// Evaluate applies the LFs of lfsPath to a labeled file, scores the label
// model's labels (ties by policy and seed) against its gold column, every
// row of which needs a label, and adds the LFs' empirical accuracies to sum.
func Evaluate(ctx context.Context, lm labelmodel.Model, lfsPath, evalPath, gold string, opt data.Options,
	policy labelmodel.TieBreak, seed uint64, sum []label.LFSummary, progress func(read, size int64)) (*labelmodel.Eval, error) {
	dx, f, _, err := ApplyFile(ctx, lfsPath, evalPath, opt, 0, progress)
	if err != nil {
		return nil, err
	}
	g, err := ReadGold(evalPath, gold, f.Labels, opt)
	if err != nil {
		return nil, err
	}
	for i, v := range g {
		if v < 0 {
			return nil, &data.Error{File: evalPath, Row: int64(i + 1), Column: gold, Err: errors.New("no gold label; every row of the --valid file needs one")}
		}
	}
	if err := label.AddGold(sum, dx, g); err != nil {
		return nil, err
	}
	probs, err := lm.PredictProba(dx)
	if err != nil {
		return nil, err
	}
	preds, err := labelmodel.ProbsToPreds(probs, dx.K(), policy, seed)
	if err != nil {
		return nil, err
	}
	r, err := labelmodel.Evaluate(dx, preds, g)
	if err != nil {
		return nil, err
	}
	return &r, nil
}
