package fuse

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// Claims is a set of claims grouped by object: object o's claims are
// indices Ptr[o]..Ptr[o+1] of Src and Val (categorical) or Num (numeric).
// A source claims at most one value per object.
type Claims struct {
	Objects []string // object names, in order of first appearance
	Sources []string // source names, in order of first appearance
	Values  []string // categorical values, sorted; nil for numeric claims
	Numeric bool

	Ptr []int64
	Src []int32
	Val []int32   // value ids (categorical)
	Num []float64 // values (numeric)

	// Duplicates counts claims dropped because their source had already
	// claimed a value for the object (the first claim is kept).
	Duplicates int64
}

// K is the number of distinct categorical values.
func (c *Claims) K() int { return len(c.Values) }

// N is the number of claims.
func (c *Claims) N() int { return len(c.Src) }

// SourceCounts returns the number of claims of each source.
func (c *Claims) SourceCounts() []int {
	n := make([]int, len(c.Sources))
	for _, s := range c.Src {
		n[s]++
	}
	return n
}

// Builder collects claims one at a time; Build groups them by object.
type Builder struct {
	numeric bool
	objIdx  map[string]int32
	srcIdx  map[string]int32
	valIdx  map[string]int32
	objects []string
	sources []string
	values  []string
	obj     []int32
	src     []int32
	val     []int32
	num     []float64
}

// NewBuilder starts a claim set; numeric selects numeric values.
func NewBuilder(numeric bool) *Builder {
	return &Builder{numeric: numeric, objIdx: map[string]int32{}, srcIdx: map[string]int32{}, valIdx: map[string]int32{}}
}

// maxIDs bounds objects, sources and values (int32 ids).
const maxIDs = math.MaxInt32 - 1

func intern(m map[string]int32, names *[]string, s string) (int32, error) {
	if id, ok := m[s]; ok {
		return id, nil
	}
	if len(*names) >= maxIDs {
		return 0, errors.New("fuse: more than 2^31 distinct names")
	}
	id := int32(len(*names))
	m[s] = id
	*names = append(*names, s)
	return id, nil
}

// Add adds a categorical claim.
func (b *Builder) Add(object, source, value string) error {
	if b.numeric {
		f, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return fmt.Errorf("fuse: value %q of object %q is not a number", value, object)
		}
		return b.AddNumber(object, source, f)
	}
	o, err := intern(b.objIdx, &b.objects, object)
	if err != nil {
		return err
	}
	s, err := intern(b.srcIdx, &b.sources, source)
	if err != nil {
		return err
	}
	v, err := intern(b.valIdx, &b.values, value)
	if err != nil {
		return err
	}
	b.obj, b.src, b.val = append(b.obj, o), append(b.src, s), append(b.val, v)
	return nil
}

// AddNumber adds a numeric claim.
func (b *Builder) AddNumber(object, source string, value float64) error {
	if !b.numeric {
		return b.Add(object, source, strconv.FormatFloat(value, 'g', -1, 64))
	}
	if math.IsNaN(value) || math.IsInf(value, 0) {
		return fmt.Errorf("fuse: value of object %q from source %q is %v", object, source, value)
	}
	o, err := intern(b.objIdx, &b.objects, object)
	if err != nil {
		return err
	}
	s, err := intern(b.srcIdx, &b.sources, source)
	if err != nil {
		return err
	}
	b.obj, b.src, b.num = append(b.obj, o), append(b.src, s), append(b.num, value)
	return nil
}

// Build groups the claims by object (a counting sort, stable within an
// object) and drops repeated (object, source) pairs.
func (b *Builder) Build() (*Claims, error) {
	if len(b.obj) == 0 {
		return nil, errors.New("fuse: no claims")
	}
	c := &Claims{Objects: b.objects, Sources: b.sources, Numeric: b.numeric}
	nObj := len(b.objects)
	// Sorted values, with the claims' value ids remapped.
	remap := make([]int32, len(b.values))
	if !b.numeric {
		c.Values = slices.Clone(b.values)
		slices.SortFunc(c.Values, compareValues)
		pos := make(map[string]int32, len(c.Values))
		for i, v := range c.Values {
			pos[v] = int32(i)
		}
		for i, v := range b.values {
			remap[i] = pos[v]
		}
	}
	ptr := make([]int64, nObj+1)
	for _, o := range b.obj {
		ptr[o+1]++
	}
	for o := 0; o < nObj; o++ {
		ptr[o+1] += ptr[o]
	}
	next := slices.Clone(ptr[:nObj])
	n := len(b.obj)
	src := make([]int32, n)
	var val []int32
	var num []float64
	if b.numeric {
		num = make([]float64, n)
	} else {
		val = make([]int32, n)
	}
	for i, o := range b.obj {
		j := next[o]
		next[o]++
		src[j] = b.src[i]
		if b.numeric {
			num[j] = b.num[i]
		} else {
			val[j] = remap[b.val[i]]
		}
	}
	// Drop repeated sources within an object, keeping the first claim.
	seen := make([]int32, len(b.sources)) // last object+1 that saw the source
	w := int64(0)
	newPtr := make([]int64, nObj+1)
	for o := 0; o < nObj; o++ {
		for j := ptr[o]; j < ptr[o+1]; j++ {
			s := src[j]
			if seen[s] == int32(o)+1 {
				c.Duplicates++
				continue
			}
			seen[s] = int32(o) + 1
			src[w] = s
			if b.numeric {
				num[w] = num[j]
			} else {
				val[w] = val[j]
			}
			w++
		}
		newPtr[o+1] = w
	}
	c.Ptr, c.Src = newPtr, src[:w]
	if b.numeric {
		c.Num = num[:w]
	} else {
		c.Val = val[:w]
	}
	return c, nil
}

// compareValues sorts values numerically when both are numbers, else as
// strings, so "2" < "10".
func compareValues(a, b string) int {
	fa, ea := strconv.ParseFloat(a, 64)
	fb, eb := strconv.ParseFloat(b, 64)
	switch {
	case ea == nil && eb == nil && fa != fb:
		if fa < fb {
			return -1
		}
		return 1
	case ea == nil && eb != nil:
		return -1
	case ea != nil && eb == nil:
		return 1
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ValueIndex returns the id of value v, or -1.
func (c *Claims) ValueIndex(v string) int {
	for i, x := range c.Values {
		if x == v {
			return i
		}
	}
	return -1
}
