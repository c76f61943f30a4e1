package mbsql

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/dawn-ml/dawn/explain"
)

type vkind int

const (
	vNum vkind = iota
	vStr
	vBool
	vNull
)

// vec is an evaluated expression: a column of numbers, strings or
// booleans over the frame's rows, or a constant.
type vec struct {
	kind  vkind
	konst bool
	num   []float64 // vNum; NaN is null
	str   *explain.Column
	bools []bool // vBool; null counts as false
	cnum  float64
	cstr  string
	cbool bool
}

func (v *vec) numAt(i int) float64 {
	if v.konst {
		return v.cnum
	}
	return v.num[i]
}

func (v *vec) boolAt(i int) bool {
	if v.konst {
		return v.cbool
	}
	return v.bools[i]
}

// eval evaluates e over every row of f.
func eval(f *explain.Frame, e Expr) (*vec, error) {
	switch e := e.(type) {
	case *NumLit:
		return &vec{kind: vNum, konst: true, cnum: e.V}, nil
	case *StrLit:
		return &vec{kind: vStr, konst: true, cstr: e.V}, nil
	case *BoolLit:
		return &vec{kind: vBool, konst: true, cbool: e.V}, nil
	case *NullLit:
		return &vec{kind: vNull, konst: true}, nil
	case *Ident:
		c, err := lookup(f, e)
		if err != nil {
			return nil, err
		}
		if c.Num != nil {
			return &vec{kind: vNum, num: c.Num}, nil
		}
		return &vec{kind: vStr, str: c.Str}, nil
	case *Call:
		return call(f, e)
	case *IsNull:
		x, err := eval(f, e.X)
		if err != nil {
			return nil, err
		}
		out := make([]bool, f.Rows)
		for i := range out {
			var null bool
			switch {
			case x.kind == vNull:
				null = true
			case x.konst:
				null = false
			case x.kind == vNum:
				null = math.IsNaN(x.num[i])
			case x.kind == vStr:
				null = x.str.Codes[i] < 0
			}
			out[i] = null != e.Not
		}
		return &vec{kind: vBool, bools: out}, nil
	case *Unary:
		x, err := eval(f, e.X)
		if err != nil {
			return nil, err
		}
		if e.Op == "-" {
			if x.kind != vNum {
				return nil, &Error{e.Pos, "unary minus needs a number"}
			}
			out := make([]float64, f.Rows)
			for i := range out {
				out[i] = -x.numAt(i)
			}
			return &vec{kind: vNum, num: out}, nil
		}
		if x.kind != vBool {
			return nil, &Error{e.Pos, "NOT needs a boolean expression"}
		}
		out := make([]bool, f.Rows)
		for i := range out {
			out[i] = !x.boolAt(i)
		}
		return &vec{kind: vBool, bools: out}, nil
	case *Binary:
		return binary(f, e)
	}
	return nil, &Error{e.exprPos(), "unsupported expression"}
}

func binary(f *explain.Frame, e *Binary) (*vec, error) {
	l, err := eval(f, e.L)
	if err != nil {
		return nil, err
	}
	r, err := eval(f, e.R)
	if err != nil {
		return nil, err
	}
	n := f.Rows
	switch e.Op {
	case "AND", "OR":
		if l.kind != vBool || r.kind != vBool {
			return nil, &Error{e.Pos, e.Op + " needs boolean operands"}
		}
		out := make([]bool, n)
		for i := range out {
			if e.Op == "AND" {
				out[i] = l.boolAt(i) && r.boolAt(i)
			} else {
				out[i] = l.boolAt(i) || r.boolAt(i)
			}
		}
		return &vec{kind: vBool, bools: out}, nil
	case "+", "-", "*", "/", "%":
		if l.kind != vNum || r.kind != vNum {
			return nil, &Error{e.Pos, fmt.Sprintf("'%s' needs numbers, got %s and %s", e.Op, format(e.L), format(e.R))}
		}
		out := make([]float64, n)
		for i := range out {
			a, b := l.numAt(i), r.numAt(i)
			switch e.Op {
			case "+":
				out[i] = a + b
			case "-":
				out[i] = a - b
			case "*":
				out[i] = a * b
			case "/":
				out[i] = a / b
			case "%":
				out[i] = math.Mod(a, b)
			}
		}
		return &vec{kind: vNum, num: out}, nil
	}
	// Comparisons. NULL compares false with everything.
	out := make([]bool, n)
	if l.kind == vNull || r.kind == vNull {
		return &vec{kind: vBool, bools: out}, nil
	}
	if l.kind == vNum && r.kind == vNum {
		cmp := numCmp(e.Op)
		for i := range out {
			out[i] = cmp(l.numAt(i), r.numAt(i))
		}
		return &vec{kind: vBool, bools: out}, nil
	}
	if l.kind == vStr && r.kind == vStr {
		cmp := strCmp(e.Op)
		switch {
		case l.konst && r.konst:
			v := cmp(l.cstr, r.cstr)
			for i := range out {
				out[i] = v
			}
		case r.konst || l.konst:
			col, k, flip := l.str, r.cstr, false
			if l.konst {
				col, k, flip = r.str, l.cstr, true
			}
			byCode := make([]bool, len(col.Dict))
			for c, s := range col.Dict {
				if flip {
					byCode[c] = cmp(k, s)
				} else {
					byCode[c] = cmp(s, k)
				}
			}
			for i, c := range col.Codes {
				out[i] = c >= 0 && byCode[c]
			}
		default:
			for i := range out {
				a, aok := l.str.Value(i)
				b, bok := r.str.Value(i)
				out[i] = aok && bok && cmp(a, b)
			}
		}
		return &vec{kind: vBool, bools: out}, nil
	}
	return nil, &Error{e.Pos, fmt.Sprintf("cannot compare %s with %s: types differ (number vs string)", format(e.L), format(e.R))}
}

func numCmp(op string) func(a, b float64) bool {
	switch op {
	case "=":
		return func(a, b float64) bool { return a == b }
	case "!=":
		return func(a, b float64) bool { return a != b && !math.IsNaN(a) && !math.IsNaN(b) }
	case "<":
		return func(a, b float64) bool { return a < b }
	case "<=":
		return func(a, b float64) bool { return a <= b }
	case ">":
		return func(a, b float64) bool { return a > b }
	}
	return func(a, b float64) bool { return a >= b }
}

func strCmp(op string) func(a, b string) bool {
	switch op {
	case "=":
		return func(a, b string) bool { return a == b }
	case "!=":
		return func(a, b string) bool { return a != b }
	case "<":
		return func(a, b string) bool { return a < b }
	case "<=":
		return func(a, b string) bool { return a <= b }
	case ">":
		return func(a, b string) bool { return a > b }
	}
	return func(a, b string) bool { return a >= b }
}

// call evaluates MacroBase's functions over a numeric column:
// percentile(x) = (1 + #values < x) / N and normalize(x) = (x + shift) / (max + shift),
// with shift = -min when the minimum is not positive.
func call(f *explain.Frame, c *Call) (*vec, error) {
	name := strings.ToLower(c.Name)
	if name != "percentile" && name != "normalize" {
		return nil, &Error{c.Pos, fmt.Sprintf("unknown function %q (have percentile, normalize)", c.Name)}
	}
	if len(c.Args) != 1 {
		return nil, &Error{c.Pos, fmt.Sprintf("%s takes one column, got %d arguments", c.Name, len(c.Args))}
	}
	x, err := eval(f, c.Args[0])
	if err != nil {
		return nil, err
	}
	if x.kind != vNum || x.konst {
		return nil, &Error{c.Pos, fmt.Sprintf("%s needs a numeric column, got %s", c.Name, format(c.Args[0]))}
	}
	in := x.num
	out := make([]float64, len(in))
	if len(in) == 0 {
		return &vec{kind: vNum, num: out}, nil
	}
	switch name {
	case "percentile":
		s := append([]float64(nil), in...)
		sort.Float64s(s)
		n := float64(len(s))
		for i, v := range in {
			if math.IsNaN(v) {
				out[i] = math.NaN()
				continue
			}
			below := sort.SearchFloat64s(s, v) // first index with s[k] >= v
			out[i] = float64(below+1) / n
		}
	case "normalize":
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range in {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		shift := 0.0
		if !(lo > 0) {
			shift = -lo
		}
		for i, v := range in {
			out[i] = (v + shift) / (hi + shift)
		}
	}
	return &vec{kind: vNum, num: out}, nil
}
