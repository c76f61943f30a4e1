package recommend

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/dawn-ml/dawn/data"
)

// Columns names the interaction columns of an input file.
type Columns struct {
	User   string `json:"user"`
	Item   string `json:"item"`
	Rating string `json:"rating,omitempty"` // rating (explicit) or weight (implicit); empty: every event weighs 1
	Time   string `json:"time,omitempty"`   // optional timestamp column
}

// Interactions is a set of events with dense user and item indices: event e
// is user U[e] with item I[e], value R[e] (the rating or weight; 1 when the
// file has none) at time T[e] (nil when there is no time column). Users and
// Items map an index back to its external id, in order of first appearance.
type Interactions struct {
	Users, Items []string
	U, I         []int32
	R            []float64
	T            []int64

	userIdx, itemIdx map[string]int32
}

// ErrEmpty reports input without any interaction.
var ErrEmpty = errors.New("recommend: no interactions")

// NewInteractions returns an empty set to Add events to.
func NewInteractions() *Interactions {
	return &Interactions{userIdx: map[string]int32{}, itemIdx: map[string]int32{}}
}

// Len is the number of events.
func (x *Interactions) Len() int { return len(x.U) }

// NUsers and NItems are the sizes of the id spaces.
func (x *Interactions) NUsers() int { return len(x.Users) }
func (x *Interactions) NItems() int { return len(x.Items) }

// UserIndex returns the index of an external user id.
func (x *Interactions) UserIndex(id string) (int32, bool) {
	i, ok := x.userIdx[id]
	return i, ok
}

// ItemIndex returns the index of an external item id.
func (x *Interactions) ItemIndex(id string) (int32, bool) {
	i, ok := x.itemIdx[id]
	return i, ok
}

// AddUser returns the index of user id, adding it when new.
func (x *Interactions) AddUser(id string) int32 {
	if i, ok := x.userIdx[id]; ok {
		return i
	}
	i := int32(len(x.Users))
	x.userIdx[id] = i
	x.Users = append(x.Users, id)
	return i
}

// AddItem returns the index of item id, adding it when new.
func (x *Interactions) AddItem(id string) int32 {
	if i, ok := x.itemIdx[id]; ok {
		return i
	}
	i := int32(len(x.Items))
	x.itemIdx[id] = i
	x.Items = append(x.Items, id)
	return i
}

// Add appends one event. t is ignored unless the set has times (the first
// Add with hasTime true, on an empty set, starts them).
func (x *Interactions) Add(user, item string, r float64, t int64, hasTime bool) {
	if hasTime && x.T == nil && len(x.U) == 0 {
		x.T = []int64{}
	}
	x.U = append(x.U, x.AddUser(user))
	x.I = append(x.I, x.AddItem(item))
	x.R = append(x.R, r)
	if x.T != nil {
		x.T = append(x.T, t)
	}
}

// Subset returns the events at idx, keeping this set's id spaces (so
// indices stay comparable); a user or item without events keeps its index.
func (x *Interactions) Subset(idx []int) *Interactions {
	out := &Interactions{Users: x.Users, Items: x.Items, userIdx: x.userIdx, itemIdx: x.itemIdx}
	out.U = make([]int32, len(idx))
	out.I = make([]int32, len(idx))
	out.R = make([]float64, len(idx))
	if x.T != nil {
		out.T = make([]int64, len(idx))
	}
	for k, e := range idx {
		out.U[k], out.I[k], out.R[k] = x.U[e], x.I[e], x.R[e]
		if x.T != nil {
			out.T[k] = x.T[e]
		}
	}
	return out
}

// Read reads the interactions of a file dawn can read (CSV, TSV, JSONL,
// Parquet, Arrow). The user and item columns may hold any type (ids are
// compared as text); the rating column must be numeric (a text column whose
// values all parse as numbers is accepted); the time column holds integers
// (e.g. Unix seconds), numbers, or RFC 3339 / "2006-01-02 15:04:05" text.
// Rows with an empty user or item, or a missing rating, are errors naming
// the row.
func Read(path string, cols Columns, opt data.Options) (*Interactions, error) {
	if cols.User == "" || cols.Item == "" {
		return nil, fmt.Errorf("recommend: read %s: the user and item columns must be named", path)
	}
	want := []string{cols.User, cols.Item}
	if cols.Rating != "" {
		want = append(want, cols.Rating)
	}
	if cols.Time != "" {
		want = append(want, cols.Time)
	}
	opt.Columns = want
	r, err := data.Open(path, opt)
	if err != nil {
		return nil, fmt.Errorf("recommend: %w", err)
	}
	defer r.Close()
	x := NewInteractions()
	if cols.Time != "" {
		x.T = []int64{}
	}
	var row int64
	for {
		rec, err := r.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("recommend: %w", err)
		}
		err = x.appendBatch(path, cols, rec, row)
		row += rec.NumRows()
		rec.Release()
		if err != nil {
			return nil, err
		}
	}
	if x.Len() == 0 {
		return nil, fmt.Errorf("recommend: read %s: %w (the file has no data rows)", path, ErrEmpty)
	}
	return x, nil
}

func (x *Interactions) appendBatch(path string, cols Columns, rec arrow.RecordBatch, row0 int64) error {
	uc, ic := rec.Column(0), rec.Column(1)
	var rc, tc arrow.Array
	k := 2
	if cols.Rating != "" {
		rc = rec.Column(k)
		k++
		if err := numericColumn(path, cols.Rating, rc); err != nil {
			return err
		}
	}
	if cols.Time != "" {
		tc = rec.Column(k)
	}
	n := int(rec.NumRows())
	for i := 0; i < n; i++ {
		row := row0 + int64(i) + 1
		if uc.IsNull(i) {
			return &data.Error{File: path, Row: row, Column: cols.User, Err: errors.New("empty user id")}
		}
		if ic.IsNull(i) {
			return &data.Error{File: path, Row: row, Column: cols.Item, Err: errors.New("empty item id")}
		}
		u, it := data.FormatValue(uc, i), data.FormatValue(ic, i)
		if u == "" {
			return &data.Error{File: path, Row: row, Column: cols.User, Err: errors.New("empty user id")}
		}
		if it == "" {
			return &data.Error{File: path, Row: row, Column: cols.Item, Err: errors.New("empty item id")}
		}
		v := 1.0
		if rc != nil {
			var err error
			if v, err = numberAt(rc, i); err != nil {
				return &data.Error{File: path, Row: row, Column: cols.Rating, Err: err}
			}
		}
		var t int64
		if tc != nil {
			var err error
			if t, err = timeAt(tc, i); err != nil {
				return &data.Error{File: path, Row: row, Column: cols.Time, Err: err}
			}
		}
		x.U = append(x.U, x.AddUser(u))
		x.I = append(x.I, x.AddItem(it))
		x.R = append(x.R, v)
		if x.T != nil {
			x.T = append(x.T, t)
		}
	}
	return nil
}

func numericColumn(path, name string, a arrow.Array) error {
	switch a.DataType().ID() {
	case arrow.INT64, arrow.INT32, arrow.FLOAT64, arrow.FLOAT32, arrow.STRING, arrow.LARGE_STRING, arrow.NULL:
		return nil
	}
	return &data.Error{File: path, Column: name, Err: fmt.Errorf("the rating column has type %s; want numbers", a.DataType())}
}

func numberAt(a arrow.Array, i int) (float64, error) {
	if a.IsNull(i) {
		return 0, errors.New("missing rating")
	}
	var v float64
	switch c := a.(type) {
	case *array.Int64:
		v = float64(c.Value(i))
	case *array.Int32:
		v = float64(c.Value(i))
	case *array.Float64:
		v = c.Value(i)
	case *array.Float32:
		v = float64(c.Value(i))
	default:
		s := data.FormatValue(a, i)
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, fmt.Errorf("rating %q is not a number", s)
		}
		v = f
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("rating %v is not a finite number", v)
	}
	return v, nil
}

func timeAt(a arrow.Array, i int) (int64, error) {
	if a.IsNull(i) {
		return 0, errors.New("missing timestamp")
	}
	switch c := a.(type) {
	case *array.Int64:
		return c.Value(i), nil
	case *array.Int32:
		return int64(c.Value(i)), nil
	case *array.Float64:
		return int64(c.Value(i)), nil
	case *array.Timestamp:
		return int64(c.Value(i)), nil
	}
	s := data.FormatValue(a, i)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Unix(), nil
		}
	}
	return 0, fmt.Errorf("timestamp %q is neither an integer nor an RFC 3339 time", s)
}
