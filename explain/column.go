package explain

import (
	"fmt"
	"math"
	"slices"
)

// Null is the code of a missing attribute value (an empty cell). A null
// value never takes part in an explanation.
const Null int32 = -1

// Column is a dictionary-encoded string attribute: row i holds Dict[Codes[i]],
// or no value when Codes[i] is Null.
type Column struct {
	Name  string
	Codes []int32
	Dict  []string
}

// Len is the number of rows.
func (c *Column) Len() int { return len(c.Codes) }

// Value returns row i's value and whether it is present.
func (c *Column) Value(i int) (string, bool) {
	k := c.Codes[i]
	if k < 0 {
		return "", false
	}
	return c.Dict[k], true
}

// Encoder builds a Column one value at a time.
type Encoder struct {
	col   Column
	index map[string]int32
	// EmptyIsNull makes "" a missing value (the default for CSV input).
	EmptyIsNull bool
}

// NewEncoder returns an encoder for a column named name.
func NewEncoder(name string) *Encoder {
	return &Encoder{col: Column{Name: name}, index: map[string]int32{}, EmptyIsNull: true}
}

// Code returns the dictionary code of s, adding it when new.
func (e *Encoder) Code(s string) int32 {
	if s == "" && e.EmptyIsNull {
		return Null
	}
	k, ok := e.index[s]
	if !ok {
		k = int32(len(e.col.Dict))
		e.col.Dict = append(e.col.Dict, s)
		e.index[s] = k
	}
	return k
}

// Append adds one row holding s.
func (e *Encoder) Append(s string) { e.col.Codes = append(e.col.Codes, e.Code(s)) }

// AppendNull adds one row with no value.
func (e *Encoder) AppendNull() { e.col.Codes = append(e.col.Codes, Null) }

// AppendCodes adds rows given as codes of a batch-local dictionary, mapping
// them through the column's dictionary: the per-row work is one slice load.
// valid, when not nil, says which rows hold a value.
func (e *Encoder) AppendCodes(local []int32, localDict []string, valid func(i int) bool) {
	remap := make([]int32, len(localDict))
	for i, s := range localDict {
		remap[i] = e.Code(s)
	}
	base := len(e.col.Codes)
	e.col.Codes = slices.Grow(e.col.Codes, len(local))[:base+len(local)]
	out := e.col.Codes[base:]
	if valid == nil {
		for i, k := range local {
			out[i] = remap[k]
		}
		return
	}
	for i, k := range local {
		if valid(i) {
			out[i] = remap[k]
		} else {
			out[i] = Null
		}
	}
}

// Grow makes room for n more rows.
func (e *Encoder) Grow(n int) { e.col.Codes = slices.Grow(e.col.Codes, n) }

// Column returns the column built so far. The encoder must not be used after.
func (e *Encoder) Column() *Column { return &e.col }

// EncodeStrings dictionary-encodes values; empty strings become Null.
func EncodeStrings(name string, values []string) *Column {
	e := NewEncoder(name)
	e.col.Codes = make([]int32, 0, len(values))
	for _, v := range values {
		e.Append(v)
	}
	return e.Column()
}

// Labels says which rows are outliers. Either Outlier is set (one row per
// record), or Count and OutlierCount are (pre-aggregated rows, such as a
// cube, where a row stands for Count records of which OutlierCount are
// outliers).
type Labels struct {
	Outlier      []bool
	Count        []float64
	OutlierCount []float64
}

func (l *Labels) rows() int {
	if l.Outlier != nil {
		return len(l.Outlier)
	}
	return len(l.Count)
}

func (l *Labels) validate(n int) error {
	switch {
	case l.Outlier != nil:
		if len(l.Outlier) != n {
			return fmt.Errorf("explain: labels: %d outlier flags for %d rows", len(l.Outlier), n)
		}
	case l.Count != nil || l.OutlierCount != nil:
		if len(l.Count) != n || len(l.OutlierCount) != n {
			return fmt.Errorf("explain: labels: %d counts and %d outlier counts for %d rows", len(l.Count), len(l.OutlierCount), n)
		}
		for i := range l.Count {
			c, o := l.Count[i], l.OutlierCount[i]
			if math.IsNaN(c) || math.IsNaN(o) || math.IsInf(c, 0) || math.IsInf(o, 0) || c < 0 || o < 0 || o > c {
				return fmt.Errorf("explain: labels: row %d: count %v, outlier count %v: want 0 <= outliers <= count", i, c, o)
			}
		}
	default:
		return fmt.Errorf("explain: labels: neither outlier flags nor counts given")
	}
	return nil
}
