package explain

import (
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// Kind is a column's type in a Frame.
type Kind int

const (
	Auto   Kind = iota // infer: numeric when every non-empty cell parses
	Number             // float64; empty or unparsable cells are NaN
	String             // dictionary-encoded
)

// FrameColumn is one column of a Frame: Num for numbers, Str for strings.
type FrameColumn struct {
	Name string
	Num  []float64
	Str  *Column
}

// Frame is an in-memory table of numeric and dictionary-encoded columns.
type Frame struct {
	Cols []FrameColumn
	Rows int
}

// Col returns the named column (names match exactly, then ignoring case).
func (f *Frame) Col(name string) (*FrameColumn, error) {
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
	names := make([]string, len(f.Cols))
	for i, c := range f.Cols {
		names[i] = c.Name
	}
	return nil, fmt.Errorf("explain: unknown column %q (have %s)", name, strings.Join(names, ", "))
}

// Numbers returns a numeric column, or an error naming a non-numeric one.
func (f *Frame) Numbers(name string) ([]float64, error) {
	c, err := f.Col(name)
	if err != nil {
		return nil, err
	}
	if c.Num == nil {
		return nil, fmt.Errorf("explain: column %q is not numeric", c.Name)
	}
	return c.Num, nil
}

// Strings returns a column as a dictionary-encoded attribute; a numeric
// column is encoded from its values' shortest text.
func (f *Frame) Strings(name string) (*Column, error) {
	c, err := f.Col(name)
	if err != nil {
		return nil, err
	}
	if c.Str != nil {
		return c.Str, nil
	}
	e := NewEncoder(c.Name)
	for _, v := range c.Num {
		if math.IsNaN(v) {
			e.AppendNull()
			continue
		}
		e.Append(FormatNumber(v))
	}
	c.Str = e.Column()
	return c.Str, nil
}

// ReadCSVFile reads a CSV file (gzip when the name ends in .gz) with a
// header row; kinds maps column names to their kind (missing: Auto).
func ReadCSVFile(path string, kinds map[string]Kind) (*Frame, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("explain: read %s: %w", path, err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		z, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("explain: read %s: %w", path, err)
		}
		defer z.Close()
		r = z
	}
	fr, err := ReadCSV(r, kinds)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return fr, nil
}

// ReadCSV reads CSV with a header row from r.
func ReadCSV(r io.Reader, kinds map[string]Kind) (*Frame, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("explain: read csv: empty input, no header")
		}
		return nil, fmt.Errorf("explain: read csv header: %w", err)
	}
	names := make([]string, len(head))
	for i, h := range head {
		names[i] = strings.TrimSpace(h)
		if i == 0 {
			names[i] = strings.TrimPrefix(names[i], "\ufeff")
		}
	}
	kind := make([]Kind, len(names))
	for i, n := range names {
		for k, v := range kinds {
			if strings.EqualFold(k, n) {
				kind[i] = v
			}
		}
	}
	raw := make([][]string, len(names))
	line := 1
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line++
		if err != nil {
			return nil, fmt.Errorf("explain: read csv line %d: %w", line, err)
		}
		for i := range names {
			raw[i] = append(raw[i], strings.Clone(rec[i]))
		}
	}
	fr := &Frame{Rows: len(raw[0])}
	if len(names) > 0 {
		fr.Rows = len(raw[0])
	}
	for i, n := range names {
		k := kind[i]
		nums, numErr := parseNumbers(raw[i])
		if k == Auto {
			k = String
			if numErr == nil {
				k = Number
			}
		}
		switch k {
		case Number:
			if numErr != nil && kind[i] == Number {
				return nil, fmt.Errorf("explain: read csv column %q: %w", n, numErr)
			}
			fr.Cols = append(fr.Cols, FrameColumn{Name: n, Num: nums})
		default:
			fr.Cols = append(fr.Cols, FrameColumn{Name: n, Str: EncodeStrings(n, raw[i])})
		}
	}
	return fr, nil
}

// parseNumbers parses cells as floats; empty cells and "NaN" are NaN.
func parseNumbers(cells []string) ([]float64, error) {
	out := make([]float64, len(cells))
	for i, s := range cells {
		s = strings.TrimSpace(s)
		if s == "" {
			out[i] = math.NaN()
			continue
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return out, fmt.Errorf("row %d: %q is not a number", i+1, s)
		}
		out[i] = v
	}
	return out, nil
}

// FormatNumber writes v as an attribute value: integers without a decimal
// point or exponent, others in the shortest form that reads back exactly.
func FormatNumber(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// HumanNumber writes v as people read it in a table: integers as
// integers, values of 1,000 or more with one decimal, others to 4
// significant digits (0.30000000000000004 is 0.3, 0.7894736842105263 is
// 0.7895), tiny ones in exponent form; NaN and Infinity by name. Files
// and JSON keep the exact values.
func HumanNumber(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatInt(int64(v), 10)
	case math.Abs(v) >= 1e15:
		return strconv.FormatFloat(v, 'g', 4, 64)
	case math.Abs(v) >= 1000:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case math.Abs(v) >= 1e-4:
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}
