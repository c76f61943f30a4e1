package cascade

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/dawn-ml/dawn/model"
)

// Stages of a cascade, as reported in model.Prediction.Stage.
const (
	StageCheap     = "cheap"
	StageReference = "reference"
	StageReuse     = "reuse"
)

// Cascade answers with its cheap model when the cheap model is sure and
// asks the reference otherwise. It implements model.Model and is safe for
// concurrent use; with a difference detector, "the previous input" is the
// previous row across Predict calls, in call order.
type Cascade struct {
	Cheap     model.Model
	Reference model.Model
	Plan      Plan

	info   *model.Info
	binary bool

	mu      sync.Mutex // guards the detector's memory of the last row
	last    fingerprint
	lastAns answer
	hasLast bool
}

var _ model.Model = (*Cascade)(nil)

// New assembles a cascade. The cheap model must be a classifier; its
// classes are the cascade's.
func New(cheap, reference model.Model, plan Plan) (*Cascade, error) {
	ci := cheap.Info()
	if len(ci.Classes) < 2 {
		return nil, fmt.Errorf("cascade: the cheap model (%s) must be a classifier with at least two classes", ci.Type)
	}
	c := &Cascade{Cheap: cheap, Reference: reference, Plan: plan, binary: len(ci.Classes) == 2}
	inputs := append([]model.Column(nil), ci.Inputs...)
	if reference != nil {
		for _, in := range reference.Info().Inputs {
			if !slices.ContainsFunc(inputs, func(x model.Column) bool { return x.Name == in.Name }) {
				inputs = append(inputs, in)
			}
		}
	}
	c.info = &model.Info{Type: "cascade", Classes: append([]string(nil), ci.Classes...), Inputs: inputs}
	return c, nil
}

// Info describes the cascade: its classes and the union of both models'
// inputs.
func (c *Cascade) Info() *model.Info { return c.info }

// score is the cheap model's decision value for row i: p(second class) for
// a binary task, the top probability otherwise.
func score(p *model.Prediction, i int, binary bool) float64 {
	k := len(p.Classes)
	if binary {
		return p.Probs[i*k+1]
	}
	return p.Probs[i*k+p.Labels[i]]
}

// decide says what the cheap model answers for row i, or -1 to ask the
// reference.
func (c *Cascade) decide(p *model.Prediction, i int) int {
	s := score(p, i, c.binary)
	if c.binary {
		switch {
		case s <= c.Plan.Low:
			return 0
		case s >= c.Plan.High:
			return 1
		}
		return -1
	}
	if s >= c.Plan.High {
		return p.Labels[i]
	}
	return -1
}

// Predict runs the cascade over rows.
func (c *Cascade) Predict(ctx context.Context, rows arrow.RecordBatch) (*model.Prediction, error) {
	cp, err := c.Cheap.Predict(ctx, rows)
	if err != nil {
		return nil, fmt.Errorf("cascade: cheap model: %w", err)
	}
	n := int(rows.NumRows())
	k := len(c.info.Classes)
	if len(cp.Classes) != k || len(cp.Probs) != n*k || len(cp.Labels) != n {
		return nil, fmt.Errorf("cascade: the cheap model returned %d classes, %d probabilities and %d labels for %d rows", len(cp.Classes), len(cp.Probs), len(cp.Labels), n)
	}
	out := &model.Prediction{Classes: c.info.Classes, Probs: make([]float64, n*k), Labels: make([]int, n), Stage: make([]string, n)}
	copy(out.Probs, cp.Probs)
	var toRef []int
	reuseFrom := make([]int, 0) // pairs (row, anchor row or -1 for the last call's row)
	detect := c.Plan.DiffThreshold > 0
	var fps []fingerprint
	if detect {
		fps = fingerprints(rows)
		c.mu.Lock()
		defer c.mu.Unlock()
	}
	anchor := -1
	for i := 0; i < n; i++ {
		if detect {
			var prev *fingerprint
			switch {
			case i > 0:
				prev = &fps[i-1]
			case c.hasLast:
				prev = &c.last
			}
			if prev != nil && distance(&fps[i], prev) < c.Plan.DiffThreshold {
				out.Stage[i] = StageReuse
				reuseFrom = append(reuseFrom, i, anchor)
				continue
			}
			anchor = i
		}
		if a := c.decide(cp, i); a >= 0 {
			out.Labels[i] = a
			out.Stage[i] = StageCheap
			continue
		}
		out.Stage[i] = StageReference
		toRef = append(toRef, i)
	}
	if len(toRef) > 0 {
		if c.Reference == nil {
			return nil, fmt.Errorf("cascade: %d rows need the reference model, which is not configured", len(toRef))
		}
		sub := takeRows(rows, toRef)
		rp, err := c.Reference.Predict(ctx, sub)
		sub.Release()
		if err != nil {
			return nil, fmt.Errorf("cascade: reference: %w", err)
		}
		if len(rp.Labels) != len(toRef) {
			return nil, fmt.Errorf("cascade: the reference returned %d labels for %d rows", len(rp.Labels), len(toRef))
		}
		rk := len(rp.Classes)
		for j, i := range toRef {
			l := rp.Labels[j]
			// Map the reference's class ids to ours by name.
			if l >= 0 && l < rk {
				l = indexOf(c.info.Classes, rp.Classes[l])
			}
			out.Labels[i] = l
			row := out.Probs[i*k : i*k+k]
			clear(row)
			if len(rp.Probs) == len(toRef)*rk {
				for rc := 0; rc < rk; rc++ {
					if ci := indexOf(c.info.Classes, rp.Classes[rc]); ci >= 0 {
						row[ci] = rp.Probs[j*rk+rc]
					}
				}
			} else if l >= 0 {
				row[l] = 1
			}
		}
	}
	for x := 0; x < len(reuseFrom); x += 2 {
		i, a := reuseFrom[x], reuseFrom[x+1]
		if a < 0 {
			out.Labels[i] = c.lastAns.label
			copy(out.Probs[i*k:i*k+k], c.lastAns.probs)
		} else {
			out.Labels[i] = out.Labels[a]
			copy(out.Probs[i*k:i*k+k], out.Probs[a*k:a*k+k])
		}
	}
	if detect && n > 0 {
		c.last = fps[n-1]
		c.lastAns = answer{label: out.Labels[n-1], probs: append([]float64(nil), out.Probs[(n-1)*k:n*k]...)}
		c.hasLast = true
	}
	return out, nil
}

// takeRows copies the rows idx (ascending) of rec into a new batch.
func takeRows(rec arrow.RecordBatch, idx []int) arrow.RecordBatch {
	cols := make([]arrow.Array, rec.NumCols())
	for c := range cols {
		var parts []arrow.Array
		for s := 0; s < len(idx); {
			e := s + 1
			for e < len(idx) && idx[e] == idx[e-1]+1 {
				e++
			}
			parts = append(parts, array.NewSlice(rec.Column(c), int64(idx[s]), int64(idx[e-1]+1)))
			s = e
		}
		col, err := array.Concatenate(parts, memory.DefaultAllocator)
		for _, p := range parts {
			p.Release()
		}
		if err != nil {
			panic("cascade: concatenating slices of one array cannot fail: " + err.Error())
		}
		cols[c] = col
	}
	out := array.NewRecordBatch(rec.Schema(), cols, int64(len(idx)))
	for _, col := range cols {
		col.Release()
	}
	return out
}

// fingerprint is what the difference detector compares: each string
// column's hashed character trigrams and each numeric column's value.
type fingerprint struct {
	grams [][]uint64 // per string column, sorted and unique
	nums  []float64  // per numeric column (NaN for null)
}

// hash64 is FNV-1a: fixed, so distances are the same in every process.
func hash64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

func fingerprints(rec arrow.RecordBatch) []fingerprint {
	n := int(rec.NumRows())
	fps := make([]fingerprint, n)
	for c := 0; c < int(rec.NumCols()); c++ {
		switch a := rec.Column(c).(type) {
		case *array.String:
			for i := 0; i < n; i++ {
				fps[i].grams = append(fps[i].grams, trigrams(a.Value(i)))
			}
		default:
			for i := 0; i < n; i++ {
				v := math.NaN()
				if !a.IsNull(i) {
					v = numeric(a, i)
				}
				fps[i].nums = append(fps[i].nums, v)
			}
		}
	}
	return fps
}

func numeric(a arrow.Array, i int) float64 {
	switch x := a.(type) {
	case *array.Float64:
		return x.Value(i)
	case *array.Float32:
		return float64(x.Value(i))
	case *array.Int64:
		return float64(x.Value(i))
	case *array.Int32:
		return float64(x.Value(i))
	case *array.Boolean:
		if x.Value(i) {
			return 1
		}
		return 0
	}
	return float64(hash64(a.ValueStr(i)) % 1024)
}

func trigrams(s string) []uint64 {
	if len(s) < 3 {
		return []uint64{hash64(s)}
	}
	g := make([]uint64, 0, len(s)-2)
	for i := 0; i+3 <= len(s); i++ {
		g = append(g, hash64(s[i:i+3]))
	}
	slices.Sort(g)
	return slices.Compact(g)
}

// distance is the mean over columns of 1 - Jaccard similarity (strings) or
// the relative difference (numbers); 0 means identical.
func distance(a, b *fingerprint) float64 {
	total, cols := 0.0, 0
	for c := range a.grams {
		x, y := a.grams[c], b.grams[c]
		inter, i, j := 0, 0, 0
		for i < len(x) && j < len(y) {
			switch {
			case x[i] == y[j]:
				inter++
				i++
				j++
			case x[i] < y[j]:
				i++
			default:
				j++
			}
		}
		union := len(x) + len(y) - inter
		if union > 0 {
			total += 1 - float64(inter)/float64(union)
		}
		cols++
	}
	for c := range a.nums {
		x, y := a.nums[c], b.nums[c]
		switch {
		case math.IsNaN(x) && math.IsNaN(y):
		case math.IsNaN(x) || math.IsNaN(y):
			total++
		default:
			total += math.Abs(x-y) / (math.Abs(x) + math.Abs(y) + 1e-12)
		}
		cols++
	}
	if cols == 0 {
		return 0
	}
	return total / float64(cols)
}

// Distances returns each row's distance to the previous row (the first is
// +Inf), as the difference detector measures it.
func Distances(rec arrow.RecordBatch) []float64 {
	fps := fingerprints(rec)
	d := make([]float64, len(fps))
	for i := range d {
		if i == 0 {
			d[i] = math.Inf(1)
			continue
		}
		d[i] = distance(&fps[i], &fps[i-1])
	}
	return d
}
