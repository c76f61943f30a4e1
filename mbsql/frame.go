package mbsql

import (
	"fmt"
	"math"
	"strings"

	"github.com/dawn-ml/dawn/explain"
)

// Frame helpers: row selection, concatenation, lookups.

func colNames(f *explain.Frame) []string {
	out := make([]string, len(f.Cols))
	for i, c := range f.Cols {
		out[i] = c.Name
	}
	return out
}

// lookup finds a column by (possibly qualified) name.
func lookup(f *explain.Frame, id *Ident) (*explain.FrameColumn, error) {
	full := strings.Join(id.Parts, ".")
	for _, name := range []string{full, id.Name()} {
		for i := range f.Cols {
			if f.Cols[i].Name == name {
				return &f.Cols[i], nil
			}
		}
		for i := range f.Cols {
			if strings.EqualFold(f.Cols[i].Name, name) {
				return &f.Cols[i], nil
			}
		}
	}
	return nil, &Error{id.Pos, fmt.Sprintf("unknown column %q (have %s)", full, strings.Join(colNames(f), ", "))}
}

// take builds a frame of the given rows, in that order.
func take(f *explain.Frame, rows []int) *explain.Frame {
	out := &explain.Frame{Rows: len(rows)}
	for _, c := range f.Cols {
		nc := explain.FrameColumn{Name: c.Name}
		if c.Num != nil {
			nc.Num = make([]float64, len(rows))
			for i, r := range rows {
				nc.Num[i] = c.Num[r]
			}
		} else {
			codes := make([]int32, len(rows))
			for i, r := range rows {
				codes[i] = c.Str.Codes[r]
			}
			nc.Str = &explain.Column{Name: c.Name, Codes: codes, Dict: c.Str.Dict}
		}
		out.Cols = append(out.Cols, nc)
	}
	return out
}

func filter(f *explain.Frame, mask []bool) *explain.Frame {
	var rows []int
	for i, m := range mask {
		if m {
			rows = append(rows, i)
		}
	}
	if len(rows) == f.Rows {
		return f
	}
	return take(f, rows)
}

// concat stacks b under a; both must have the same column names and kinds.
func concat(a, b *explain.Frame) (*explain.Frame, error) {
	if len(a.Cols) != len(b.Cols) {
		return nil, fmt.Errorf("columns (%s) and (%s) differ", strings.Join(colNames(a), ", "), strings.Join(colNames(b), ", "))
	}
	out := &explain.Frame{Rows: a.Rows + b.Rows}
	for i, ca := range a.Cols {
		cb := b.Cols[i]
		if !strings.EqualFold(ca.Name, cb.Name) || (ca.Num == nil) != (cb.Num == nil) {
			return nil, fmt.Errorf("column %d is %q in one input and %q in the other, or their types differ", i+1, ca.Name, cb.Name)
		}
		nc := explain.FrameColumn{Name: ca.Name}
		if ca.Num != nil {
			nc.Num = append(append(make([]float64, 0, out.Rows), ca.Num...), cb.Num...)
		} else {
			e := explain.NewEncoder(ca.Name)
			e.AppendCodes(ca.Str.Codes, ca.Str.Dict, nil)
			e.AppendCodes(cb.Str.Codes, cb.Str.Dict, nil)
			nc.Str = e.Column()
		}
		out.Cols = append(out.Cols, nc)
	}
	return out, nil
}

// isNull reports whether column c is null at row r.
func isNull(c *explain.FrameColumn, r int) bool {
	if c.Num != nil {
		return math.IsNaN(c.Num[r])
	}
	return c.Str.Codes[r] < 0
}
