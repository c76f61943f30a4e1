package data

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// SplitSpec describes how to cut rows into parts (train, valid, test, ...).
type SplitSpec struct {
	// Fractions of the rows for parts 1, 2, ...; part 0 takes the rest.
	// Each in [0, 1), summing below 1.
	Fractions []float64
	// Stratify, when set, keeps each value of this column in the same
	// proportion in every part (each value's rows are shuffled and cut on
	// their own).
	Stratify string
	// Group, when set, keeps all rows with the same value of this column
	// in one part (e.g. all comments of one video); the fractions are then
	// met as closely as whole groups allow.
	Group string
	// Seed makes the split reproducible: the same data, spec and seed
	// give the same parts.
	Seed uint64
}

// Split assigns each row of recs (in order) to a part: 0 for the rest,
// i for Fractions[i-1]. Random and stratified splits give each part
// round(fraction·n) rows (of each stratum); the rows of a part keep their
// input order when written by WriteParts.
func Split(file string, recs []arrow.RecordBatch, spec SplitSpec) ([]int, error) {
	var sum float64
	for i, f := range spec.Fractions {
		if !(f >= 0 && f < 1) {
			return nil, fmt.Errorf("data: split: fraction %d is %v, want a number in [0, 1)", i+1, f)
		}
		sum += f
	}
	if sum >= 1 {
		return nil, fmt.Errorf("data: split: fractions sum to %v; they must leave rows for the first part", sum)
	}
	if spec.Stratify != "" && spec.Group != "" {
		return nil, fmt.Errorf("data: split: stratify by a column or group by one, not both")
	}
	n := 0
	for _, r := range recs {
		n += int(r.NumRows())
	}
	rng := rand.New(rand.NewPCG(spec.Seed, 0x5eed5p1))
	part := make([]int, n)
	// cut gives the rows idx (shuffled in place) to the parts by count.
	cut := func(idx []int) {
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		at := 0
		for p, f := range spec.Fractions {
			c := int(math.Round(f * float64(len(idx))))
			c = min(c, len(idx)-at)
			for _, r := range idx[at : at+c] {
				part[r] = p + 1
			}
			at += c
		}
	}
	if spec.Stratify == "" && spec.Group == "" {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		cut(idx)
		return part, nil
	}
	col := spec.Stratify
	if col == "" {
		col = spec.Group
	}
	vals, err := columnStrings(file, recs, col)
	if err != nil {
		return nil, err
	}
	byVal := map[string][]int{}
	var order []string
	for i, v := range vals {
		if _, ok := byVal[v]; !ok {
			order = append(order, v)
		}
		byVal[v] = append(byVal[v], i)
	}
	slices.Sort(order) // independent of row order
	if spec.Stratify != "" {
		for _, v := range order {
			cut(byVal[v])
		}
		return part, nil
	}
	// Groups: shuffle them, then fill parts 1, 2, ... up to their targets
	// in rows, the rest to part 0. Shuffling by a hash of the value and
	// the seed keeps a group's part independent of the other groups'
	// order of appearance.
	key := func(v string) uint64 {
		h := fnv.New64a()
		fmt.Fprintf(h, "%d\x00%s", spec.Seed, v)
		return h.Sum64()
	}
	slices.SortFunc(order, func(a, b string) int { return cmp.Compare(key(a), key(b)) })
	p, filled := 0, 0
	for _, v := range order {
		rows := byVal[v]
		for p < len(spec.Fractions) && float64(filled)+float64(len(rows))/2 > spec.Fractions[p]*float64(n) {
			p, filled = p+1, 0
		}
		if p == len(spec.Fractions) {
			break // the rest stay in part 0
		}
		for _, r := range rows {
			part[r] = p + 1
		}
		filled += len(rows)
	}
	return part, nil
}

// columnStrings returns a column's cells as text ("" for null).
func columnStrings(file string, recs []arrow.RecordBatch, name string) ([]string, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	idx := recs[0].Schema().FieldIndices(name)
	if len(idx) == 0 {
		var names []string
		for _, f := range recs[0].Schema().Fields() {
			names = append(names, f.Name)
		}
		return nil, &Error{File: file, Column: name, Err: fmt.Errorf("no such column (columns: %v)", names)}
	}
	var out []string
	for _, r := range recs {
		c := r.Column(idx[0])
		for i := 0; i < c.Len(); i++ {
			out = append(out, FormatValue(c, i))
		}
	}
	return out, nil
}

// WriteParts writes the rows of recs assigned to each part (see Split) to
// writers[part], in input order; a nil writer skips its part. It returns
// the number of rows of each part.
func WriteParts(recs []arrow.RecordBatch, part []int, writers []*Writer) ([]int, error) {
	counts := make([]int, len(writers))
	row := 0
	for _, rec := range recs {
		n := int(rec.NumRows())
		pieces := make([][]arrow.RecordBatch, len(writers))
		for lo := 0; lo < n; {
			p := part[row+lo]
			hi := lo + 1
			for hi < n && part[row+hi] == p {
				hi++
			}
			counts[p] += hi - lo
			if writers[p] != nil {
				pieces[p] = append(pieces[p], rec.NewSlice(int64(lo), int64(hi)))
			}
			lo = hi
		}
		row += n
		for p, ps := range pieces {
			if len(ps) == 0 {
				continue
			}
			out, err := concatRecords(rec.Schema(), ps)
			for _, s := range ps {
				s.Release()
			}
			if err != nil {
				return nil, err
			}
			err = writers[p].Write(out)
			out.Release()
			if err != nil {
				return nil, err
			}
		}
	}
	return counts, nil
}

func concatRecords(schema *arrow.Schema, recs []arrow.RecordBatch) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, schema.NumFields())
	var rows int64
	for _, r := range recs {
		rows += r.NumRows()
	}
	for c := range cols {
		parts := make([]arrow.Array, len(recs))
		for i, r := range recs {
			parts[i] = r.Column(c)
		}
		a, err := array.Concatenate(parts, memory.DefaultAllocator)
		if err != nil {
			for _, x := range cols[:c] {
				x.Release()
			}
			return nil, fmt.Errorf("data: split: %w", err)
		}
		cols[c] = a
	}
	out := array.NewRecordBatch(schema, cols, rows)
	for _, a := range cols {
		a.Release()
	}
	return out, nil
}
