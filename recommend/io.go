package recommend

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/dawn-ml/dawn/data"
)

// WriteRows writes the rows idx of rec (every column, types kept) to path
// (format by extension), through a temporary file renamed into place.
// Columns of types other than string, integer, float and boolean are
// written as text.
func WriteRows(path string, rec arrow.RecordBatch, idx []int) error {
	sch := rec.Schema()
	fields := make([]arrow.Field, len(sch.Fields()))
	cols := make([]arrow.Array, len(fields))
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for c, f := range sch.Fields() {
		col := rec.Column(c)
		var b array.Builder
		switch f.Type.ID() {
		case arrow.INT64:
			b = take(col.(*array.Int64), array.NewInt64Builder(memory.DefaultAllocator), idx)
		case arrow.FLOAT64:
			b = take(col.(*array.Float64), array.NewFloat64Builder(memory.DefaultAllocator), idx)
		case arrow.BOOL:
			b = take(col.(*array.Boolean), array.NewBooleanBuilder(memory.DefaultAllocator), idx)
		default:
			f.Type = arrow.BinaryTypes.String
			bb := array.NewStringBuilder(memory.DefaultAllocator)
			for _, r := range idx {
				if col.IsNull(r) {
					bb.AppendNull()
				} else {
					bb.Append(data.FormatValue(col, r))
				}
			}
			b = bb
		}
		fields[c] = arrow.Field{Name: f.Name, Type: f.Type, Nullable: f.Nullable}
		cols[c] = b.NewArray()
		b.Release()
	}
	out := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(len(idx)))
	defer out.Release()
	w, err := data.Create(path, out.Schema(), data.WriteOptions{})
	if err != nil {
		return fmt.Errorf("recommend: write %s: %w", path, err)
	}
	if err := w.Write(out); err != nil {
		w.Abort()
		return fmt.Errorf("recommend: write %s: %w", path, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("recommend: write %s: %w", path, err)
	}
	return nil
}

type valuer[T any] interface {
	IsNull(int) bool
	Value(int) T
}

type appender[T any] interface {
	array.Builder
	Append(T)
}

// take appends the values of a at idx (nulls kept) to b.
func take[T any](a valuer[T], b appender[T], idx []int) array.Builder {
	for _, r := range idx {
		if a.IsNull(r) {
			b.AppendNull()
		} else {
			b.Append(a.Value(r))
		}
	}
	return b
}

// Rec is one recommendation for a user, by external ids.
type Rec struct {
	User  string  `json:"user"`
	Item  string  `json:"item"`
	Rank  int     `json:"rank"`
	Score float64 `json:"score"`
}

// WriteRecs writes recommendations with the columns userCol, itemCol,
// rank, score (CSV, Parquet, ... by extension), atomically.
func WriteRecs(path, userCol, itemCol string, recs []Rec) error {
	sch := arrow.NewSchema([]arrow.Field{{Name: userCol, Type: arrow.BinaryTypes.String}, {Name: itemCol, Type: arrow.BinaryTypes.String},
		{Name: "rank", Type: arrow.PrimitiveTypes.Int64}, {Name: "score", Type: arrow.PrimitiveTypes.Float64}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sch)
	defer b.Release()
	for _, r := range recs {
		b.Field(0).(*array.StringBuilder).Append(r.User)
		b.Field(1).(*array.StringBuilder).Append(r.Item)
		b.Field(2).(*array.Int64Builder).Append(int64(r.Rank))
		b.Field(3).(*array.Float64Builder).Append(r.Score)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	w, err := data.Create(path, sch, data.WriteOptions{})
	if err != nil {
		return fmt.Errorf("recommend: write %s: %w", path, err)
	}
	if err := w.Write(rec); err != nil {
		w.Abort()
		return fmt.Errorf("recommend: write %s: %w", path, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("recommend: write %s: %w", path, err)
	}
	return nil
}

// RecommendID ranks the top k for an external user id. A user the model
// has not seen gets the most popular training items (cold start).
func (m *Model) RecommendID(user string, k int, excludeSeen bool) []Rec {
	var top []Scored
	if u, ok := m.UserIndex(user); ok {
		top = m.Recommend(int(u), nil, nil, k, excludeSeen, nil)
	} else {
		m.popOnce.Do(func() {
			pop := make([]float64, m.NItems())
			for _, i := range m.Seen.Idx {
				pop[i]++
			}
			m.popularity = pop
		})
		top = TopK(m.popularity, k)
	}
	out := make([]Rec, len(top))
	for r, s := range top {
		out[r] = Rec{User: user, Item: m.Items[s.Item], Rank: r + 1, Score: s.Score}
	}
	return out
}

// WithHistory returns a copy of m whose seen items (the histories scored
// from and removed from recommendations) are those of x, mapped to the
// model's ids; users and items the model does not know are dropped.
func (m *Model) WithHistory(x *Interactions) *Model {
	c := *m
	var us, is []int32
	var vs []float64
	for e := range x.U {
		u, ok1 := m.UserIndex(x.Users[x.U[e]])
		i, ok2 := m.ItemIndex(x.Items[x.I[e]])
		if ok1 && ok2 {
			us, is, vs = append(us, u), append(is, i), append(vs, x.R[e])
		}
	}
	c.Seen = buildCSR(len(m.Users), len(m.Items), us, is, vs, !m.Explicit)
	if m.Aff != nil {
		c.Aff = c.Seen
	}
	return &c
}
