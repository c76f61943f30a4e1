package monitor

import (
	"fmt"
	"math"
	"os"
	"strconv"

	"github.com/dawn-ml/dawn/data"
	"github.com/dawn-ml/dawn/explain"
)

// MaxLabels bounds the labels one source may hold (all its files
// together): a labels source past it is an error, so that memory stays
// bounded; move old label files out of a directory that grows.
const MaxLabels = 10_000_000

// LabelOptions name the columns of a labels source and of the rows the
// labels join.
type LabelOptions struct {
	// IDColumn is the request id, in the labels and in the rows
	// (default "request_id", the prediction log's).
	IDColumn string
	// RowColumn is the row's index in its request (default
	// "request_row"). When the labels have it, a label belongs to one row
	// of a request; when they do not, to every row of the request.
	RowColumn string
	// LabelColumn holds the true class in the labels (default "label").
	LabelColumn string
	// Format forces the files' format (default: by extension).
	Format string
}

// WithDefaults fills the empty fields with their defaults.
func (o LabelOptions) WithDefaults() LabelOptions {
	if o.IDColumn == "" {
		o.IDColumn = "request_id"
	}
	if o.RowColumn == "" {
		o.RowColumn = "request_row"
	}
	if o.LabelColumn == "" {
		o.LabelColumn = "label"
	}
	return o
}

type rowKey struct {
	id  string
	row int64
}

// Labels are true classes that arrived apart from the rows, keyed by
// request id (and row). A later label for the same key replaces an
// earlier one (files are read in name order).
type Labels struct {
	opt   LabelOptions
	byRow map[rowKey]string
	byID  map[string]string
}

// Len is the number of labels held.
func (l *Labels) Len() int { return len(l.byRow) + len(l.byID) }

// ReadLabels reads a labels source: a file (CSV, TSV, JSONL, Parquet), a
// directory of them (an empty or missing directory holds no labels) or a
// glob, with columns IDColumn, LabelColumn and optionally RowColumn.
func ReadLabels(path string, opt LabelOptions) (*Labels, error) {
	opt = opt.WithDefaults()
	l := &Labels{opt: opt, byRow: map[rowKey]string{}, byID: map[string]string{}}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		if ents, err := os.ReadDir(path); err == nil && len(ents) == 0 {
			return l, nil
		}
	}
	files, err := explain.Inputs(path)
	if err != nil {
		return nil, fmt.Errorf("labels %s: %w", path, err)
	}
	for _, file := range files {
		if err := l.readFile(file); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func (l *Labels) readFile(file string) error {
	ro := explain.ReadOptions{Kinds: map[string]explain.Kind{l.opt.IDColumn: explain.String, l.opt.LabelColumn: explain.String}}
	if l.opt.Format != "" {
		ro.Data = data.Options{Format: data.Format(l.opt.Format)}
	}
	f, err := explain.ReadFrame(file, ro)
	if err != nil {
		return fmt.Errorf("labels %s: %w", file, err)
	}
	ids, err := f.Strings(l.opt.IDColumn)
	if err != nil {
		return fmt.Errorf("labels %s: no %q column (the request id the labels join on): %w", file, l.opt.IDColumn, err)
	}
	labels, err := f.Strings(l.opt.LabelColumn)
	if err != nil {
		return fmt.Errorf("labels %s: no %q column (the true class): %w", file, l.opt.LabelColumn, err)
	}
	var rows []float64
	if c, err := f.Col(l.opt.RowColumn); err == nil {
		if c.Num == nil {
			return fmt.Errorf("labels %s: column %q must hold row numbers", file, l.opt.RowColumn)
		}
		rows = c.Num
	}
	for i := 0; i < f.Rows; i++ {
		id, ok := ids.Value(i)
		if !ok || id == "" {
			return fmt.Errorf("labels %s: row %d: empty %s", file, i+1, l.opt.IDColumn)
		}
		lab, ok := labels.Value(i)
		if !ok {
			continue // no label (yet) for this row
		}
		if rows != nil {
			r := rows[i]
			if math.IsNaN(r) || r < 0 || r != math.Trunc(r) {
				return fmt.Errorf("labels %s: row %d: %s %s is not a row number", file, i+1, l.opt.RowColumn, strconv.FormatFloat(r, 'g', -1, 64))
			}
			l.byRow[rowKey{id, int64(r)}] = lab
		} else {
			l.byID[id] = lab
		}
		if l.Len() > MaxLabels {
			return fmt.Errorf("labels %s: more than %d labels in the source; move older label files out", file, MaxLabels)
		}
	}
	return nil
}

// Join returns f with a string column name holding each row's label:
// f's own value where it has one (when f already has the column), else
// the label of its (request id, row), else of its request id; and the
// number of rows that have a label. f needs the request id column.
func (l *Labels) Join(f *explain.Frame, name string) (*explain.Frame, int, error) {
	ids, err := f.Strings(l.opt.IDColumn)
	if err != nil {
		return nil, 0, fmt.Errorf("labels: the rows have no %q column to join labels on", l.opt.IDColumn)
	}
	var rows []float64
	if c, err := f.Col(l.opt.RowColumn); err == nil && c.Num != nil {
		rows = c.Num
	}
	var own *explain.Column
	if c, err := f.Col(name); err == nil {
		if c.Str == nil {
			return nil, 0, fmt.Errorf("labels: the rows' column %q is not a column of classes", name)
		}
		own = c.Str
	}
	enc := explain.NewEncoder(name)
	enc.Grow(f.Rows)
	n := 0
	for i := 0; i < f.Rows; i++ {
		if own != nil {
			if v, ok := own.Value(i); ok && v != "" {
				enc.Append(v)
				n++
				continue
			}
		}
		id, ok := ids.Value(i)
		lab, found := "", false
		if ok {
			if rows != nil && !math.IsNaN(rows[i]) {
				lab, found = l.byRow[rowKey{id, int64(rows[i])}]
			}
			if !found {
				lab, found = l.byID[id]
			}
		}
		if found {
			enc.Append(lab)
			n++
		} else {
			enc.AppendNull()
		}
	}
	out := &explain.Frame{Rows: f.Rows}
	for _, c := range f.Cols {
		if c.Name != name {
			out.Cols = append(out.Cols, c)
		}
	}
	out.Cols = append(out.Cols, explain.FrameColumn{Name: name, Str: enc.Column()})
	return out, n, nil
}
