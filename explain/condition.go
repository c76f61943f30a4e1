package explain

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Condition is a parsed row predicate: comparisons joined by AND, OR and
// NOT, such as
//
//	usage > 1000 AND (country == 'CAN' OR version == "v3")
//	label != Label
//
// A bare word is a column (`backquotes` for names with other characters);
// a text value is quoted ('CAN' or "CAN", a quote doubled inside); a
// number is a number. A comparison of two columns compares row by row:
// numbers numerically, text as text, and text with numbers by reading the
// text as a number. Operators: == != < <= > >= (= and <> accepted), AND
// OR NOT (&& || ! accepted, any case). Empty cells and NaN match nothing.
// Expressions are at most MaxConditionLen bytes and nest at most
// MaxConditionDepth deep.
type Condition struct {
	kind        condKind
	kids        []*Condition // and, or: two or more; not: one
	op          Op
	left, right operand
	src         string
}

// MaxConditionLen and MaxConditionDepth bound a Condition's text.
const (
	MaxConditionLen   = 4096
	MaxConditionDepth = 64
)

type condKind uint8

const (
	condCmp condKind = iota
	condAnd
	condOr
	condNot
)

type operandKind uint8

const (
	opColumn operandKind = iota
	opNumber
	opText
)

type operand struct {
	kind operandKind
	name string // column name, or the literal's text
	num  float64
}

// String renders the condition back as text.
func (c *Condition) String() string { return c.src }

// Columns lists the columns the condition reads, in order of appearance.
func (c *Condition) Columns() []string {
	var out []string
	seen := map[string]bool{}
	var walk func(c *Condition)
	walk = func(c *Condition) {
		for _, o := range []operand{c.left, c.right} {
			if c.kind == condCmp && o.kind == opColumn && !seen[o.name] {
				seen[o.name] = true
				out = append(out, o.name)
			}
		}
		for _, k := range c.kids {
			walk(k)
		}
	}
	walk(c)
	return out
}

// ParseCondition parses a condition; errors name the position.
func ParseCondition(s string) (*Condition, error) {
	if len(s) > MaxConditionLen {
		return nil, fmt.Errorf("explain: condition of %d bytes: at most %d", len(s), MaxConditionLen)
	}
	toks, err := lexCondition(s)
	if err != nil {
		return nil, fmt.Errorf("explain: condition %q: %w", s, err)
	}
	p := &condParser{toks: toks, src: s}
	c, err := p.or(0)
	if err == nil && p.pos < len(p.toks) {
		err = p.errorf("unexpected %s", p.toks[p.pos])
	}
	if err != nil {
		return nil, fmt.Errorf("explain: condition %q: %w", s, err)
	}
	c.src = strings.TrimSpace(s)
	return c, nil
}

type tokKind uint8

const (
	tIdent tokKind = iota
	tNumber
	tText
	tOp
	tAnd
	tOr
	tNot
	tLParen
	tRParen
)

type token struct {
	kind tokKind
	text string
	num  float64
	pos  int
}

func (t token) String() string {
	switch t.kind {
	case tText:
		return fmt.Sprintf("text %q at byte %d", t.text, t.pos+1)
	case tIdent:
		return fmt.Sprintf("column %s at byte %d", t.text, t.pos+1)
	}
	return fmt.Sprintf("%q at byte %d", t.text, t.pos+1)
}

func lexCondition(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case unicode.IsSpace(r):
			i += w
		case r == '(' || r == ')':
			k := tLParen
			if r == ')' {
				k = tRParen
			}
			toks = append(toks, token{kind: k, text: string(r), pos: i})
			i++
		case r == '\'' || r == '"' || r == '`':
			q := s[i]
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(s) {
					return nil, fmt.Errorf("unterminated %c at byte %d", q, i+1)
				}
				if s[j] == q {
					if j+1 < len(s) && s[j+1] == q {
						b.WriteByte(q)
						j += 2
						continue
					}
					break
				}
				b.WriteByte(s[j])
				j++
			}
			k := tText
			if q == '`' {
				k = tIdent
				if b.Len() == 0 {
					return nil, fmt.Errorf("empty column name at byte %d", i+1)
				}
			}
			toks = append(toks, token{kind: k, text: b.String(), pos: i})
			i = j + 1
		case strings.ContainsRune("=!<>&|", r):
			op := ""
			for _, o := range []string{"==", "!=", "<>", "<=", ">=", "&&", "||", "=", "<", ">", "!"} {
				if strings.HasPrefix(s[i:], o) {
					op = o
					break
				}
			}
			if op == "" {
				return nil, fmt.Errorf("unexpected %q at byte %d", r, i+1)
			}
			switch op {
			case "&&":
				toks = append(toks, token{kind: tAnd, text: op, pos: i})
			case "||":
				toks = append(toks, token{kind: tOr, text: op, pos: i})
			case "!":
				toks = append(toks, token{kind: tNot, text: op, pos: i})
			default:
				toks = append(toks, token{kind: tOp, text: op, pos: i})
			}
			i += len(op)
		case r == '-' || r == '+' || r == '.' || (r >= '0' && r <= '9'):
			j := i + 1
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.' || s[j] == 'e' || s[j] == 'E' ||
				((s[j] == '-' || s[j] == '+') && (s[j-1] == 'e' || s[j-1] == 'E'))) {
				j++
			}
			v, err := strconv.ParseFloat(s[i:j], 64)
			if err != nil {
				return nil, fmt.Errorf("bad number %q at byte %d", s[i:j], i+1)
			}
			toks = append(toks, token{kind: tNumber, text: s[i:j], num: v, pos: i})
			i = j
		case r == '_' || unicode.IsLetter(r):
			j := i + w
			for j < len(s) {
				r2, w2 := utf8.DecodeRuneInString(s[j:])
				if r2 != '_' && r2 != '.' && !unicode.IsLetter(r2) && !unicode.IsDigit(r2) {
					break
				}
				j += w2
			}
			word := s[i:j]
			switch strings.ToUpper(word) {
			case "AND":
				toks = append(toks, token{kind: tAnd, text: word, pos: i})
			case "OR":
				toks = append(toks, token{kind: tOr, text: word, pos: i})
			case "NOT":
				toks = append(toks, token{kind: tNot, text: word, pos: i})
			default:
				toks = append(toks, token{kind: tIdent, text: word, pos: i})
			}
			i = j
		default:
			return nil, fmt.Errorf("unexpected %q at byte %d", r, i+1)
		}
	}
	return toks, nil
}

type condParser struct {
	toks []token
	pos  int
	src  string
}

func (p *condParser) errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func (p *condParser) peek() (token, bool) {
	if p.pos < len(p.toks) {
		return p.toks[p.pos], true
	}
	return token{}, false
}

func (p *condParser) or(depth int) (*Condition, error) {
	return p.chain(depth, tOr, condOr, p.and)
}

func (p *condParser) and(depth int) (*Condition, error) {
	return p.chain(depth, tAnd, condAnd, p.not)
}

func (p *condParser) chain(depth int, sep tokKind, kind condKind, next func(int) (*Condition, error)) (*Condition, error) {
	first, err := next(depth)
	if err != nil {
		return nil, err
	}
	kids := []*Condition{first}
	for {
		t, ok := p.peek()
		if !ok || t.kind != sep {
			break
		}
		p.pos++
		k, err := next(depth)
		if err != nil {
			return nil, err
		}
		kids = append(kids, k)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return &Condition{kind: kind, kids: kids}, nil
}

func (p *condParser) not(depth int) (*Condition, error) {
	if depth > MaxConditionDepth {
		return nil, p.errorf("nested more than %d deep", MaxConditionDepth)
	}
	t, ok := p.peek()
	if !ok {
		return nil, p.errorf("ends early: want a comparison such as usage > 1000")
	}
	switch t.kind {
	case tNot:
		p.pos++
		k, err := p.not(depth + 1)
		if err != nil {
			return nil, err
		}
		return &Condition{kind: condNot, kids: []*Condition{k}}, nil
	case tLParen:
		p.pos++
		c, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if t, ok := p.peek(); !ok || t.kind != tRParen {
			return nil, p.errorf("missing ) for ( at byte %d", t.pos+1)
		}
		p.pos++
		return c, nil
	}
	return p.comparison()
}

func (p *condParser) operand() (operand, error) {
	t, ok := p.peek()
	if !ok {
		return operand{}, p.errorf("ends early: want a column, a number or a quoted text")
	}
	p.pos++
	switch t.kind {
	case tIdent:
		return operand{kind: opColumn, name: t.text}, nil
	case tNumber:
		return operand{kind: opNumber, name: t.text, num: t.num}, nil
	case tText:
		return operand{kind: opText, name: t.text}, nil
	}
	return operand{}, p.errorf("unexpected %s: want a column, a number or a quoted text", t)
}

func (p *condParser) comparison() (*Condition, error) {
	l, err := p.operand()
	if err != nil {
		return nil, err
	}
	t, ok := p.peek()
	if !ok || t.kind != tOp {
		if ok {
			return nil, p.errorf("unexpected %s: want an operator (== != < <= > >=)", t)
		}
		return nil, p.errorf("ends after %q: want an operator (== != < <= > >=) and a value", l.name)
	}
	p.pos++
	r, err := p.operand()
	if err != nil {
		return nil, err
	}
	if l.kind != opColumn && r.kind != opColumn {
		return nil, p.errorf("%s %s %s compares two constants; one side must be a column", l.name, t.text, r.name)
	}
	op := Op(t.text)
	switch t.text {
	case "=":
		op = OpEq
	case "<>":
		op = OpNe
	}
	if l.kind != opColumn { // keep the column on the left
		l, r = r, l
		op = flipOp(op)
	}
	return &Condition{kind: condCmp, op: op, left: l, right: r}, nil
}

func flipOp(op Op) Op {
	switch op {
	case OpLt:
		return OpGt
	case OpLe:
		return OpGe
	case OpGt:
		return OpLt
	case OpGe:
		return OpLe
	}
	return op
}

// Eval returns the condition's value for every row of f. numbers reads a
// numeric column (a classifier's low-metric transform applies there);
// nil reads f's columns as they are.
func (c *Condition) Eval(f *Frame, numbers func(name string) ([]float64, error)) ([]bool, error) {
	if numbers == nil {
		numbers = f.Numbers
	}
	switch c.kind {
	case condNot:
		v, err := c.kids[0].Eval(f, numbers)
		if err != nil {
			return nil, err
		}
		for i := range v {
			v[i] = !v[i]
		}
		return v, nil
	case condAnd, condOr:
		acc, err := c.kids[0].Eval(f, numbers)
		if err != nil {
			return nil, err
		}
		for _, k := range c.kids[1:] {
			v, err := k.Eval(f, numbers)
			if err != nil {
				return nil, err
			}
			for i := range acc {
				if c.kind == condAnd {
					acc[i] = acc[i] && v[i]
				} else {
					acc[i] = acc[i] || v[i]
				}
			}
		}
		return acc, nil
	}
	return c.compare(f, numbers)
}

func (c *Condition) compare(f *Frame, numbers func(string) ([]float64, error)) ([]bool, error) {
	lc, err := f.Col(c.left.name)
	if err != nil {
		return nil, c.columnError(err)
	}
	flags := make([]bool, f.Rows)
	switch c.right.kind {
	case opColumn:
		rc, err := f.Col(c.right.name)
		if err != nil {
			return nil, c.columnError(err)
		}
		if lc.Str != nil && rc.Str != nil {
			match, err := textCompare(c.op)
			if err != nil {
				return nil, err
			}
			lk, rk := lc.Str.Codes, rc.Str.Codes
			for i := range flags {
				if lk[i] != Null && rk[i] != Null {
					flags[i] = match(lc.Str.Dict[lk[i]], rc.Str.Dict[rk[i]])
				}
			}
			return flags, nil
		}
		// One text column and one numeric: compared as numbers. A text
		// column with no number at all (labels "SPAM"/"HAM" against 1/0)
		// is an error, not a silent "no row matches".
		for _, fc := range []*FrameColumn{lc, rc} {
			if w, ok := noNumbers(fc); ok {
				return nil, fmt.Errorf("explain: condition %s: column %s holds text (e.g. %q) and column %s numbers: compare columns of one kind (map the labels to one encoding first)",
					c.cmpText(), fc.Name, w, otherName(fc, lc, rc))
			}
		}
		lv, err := c.asNumbers(lc, numbers)
		if err != nil {
			return nil, err
		}
		rv, err := c.asNumbers(rc, numbers)
		if err != nil {
			return nil, err
		}
		cmp, err := compareFunc(c.op)
		if err != nil {
			return nil, err
		}
		for i := range flags {
			flags[i] = !math.IsNaN(lv[i]) && !math.IsNaN(rv[i]) && cmp(lv[i], rv[i])
		}
		return flags, nil
	case opText:
		if lc.Num != nil {
			v, err := strconv.ParseFloat(c.right.name, 64)
			if err != nil {
				return nil, fmt.Errorf("explain: condition %s: column %s is numeric and %q is not a number", c.cmpText(), lc.Name, c.right.name)
			}
			return c.numberLiteral(lc, v, numbers)
		}
		return Predicate{Column: lc.Name, Op: c.op, Value: c.right.name}.ClassifyStrings(lc.Str)
	default:
		if lc.Str != nil { // a number compared with a text column: as text
			return Predicate{Column: lc.Name, Op: c.op, Value: c.right.name}.ClassifyStrings(lc.Str)
		}
		return c.numberLiteral(lc, c.right.num, numbers)
	}
}

func (c *Condition) numberLiteral(lc *FrameColumn, v float64, numbers func(string) ([]float64, error)) ([]bool, error) {
	x, err := numbers(lc.Name)
	if err != nil {
		return nil, err
	}
	return Predicate{Column: lc.Name, Op: c.op, Value: strconv.FormatFloat(v, 'g', -1, 64)}.ClassifyNumbers(x)
}

// noNumbers returns a value of a text column none of whose values is a
// number (ok false for a numeric column, or a text one where some value
// parses: its other cells are then NaN and never match).
func noNumbers(fc *FrameColumn) (string, bool) {
	if fc.Str == nil {
		return "", false
	}
	first := Null
	for _, k := range fc.Str.Codes {
		if k != Null {
			first = k
			break
		}
	}
	if first == Null {
		return "", false
	}
	// Each distinct value once (the dictionary), not once a row.
	for _, v := range fc.Str.Dict {
		if _, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			return "", false
		}
	}
	return fc.Str.Dict[first], true
}

// otherName is the name of whichever of a and b is not fc.
func otherName(fc, a, b *FrameColumn) string {
	if fc == a {
		return b.Name
	}
	return a.Name
}

// asNumbers reads a column as numbers; text cells that are not numbers
// are NaN.
func (c *Condition) asNumbers(fc *FrameColumn, numbers func(string) ([]float64, error)) ([]float64, error) {
	if fc.Num != nil {
		return numbers(fc.Name)
	}
	byCode := make([]float64, len(fc.Str.Dict))
	for k, s := range fc.Str.Dict {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			v = math.NaN()
		}
		byCode[k] = v
	}
	out := make([]float64, len(fc.Str.Codes))
	for i, k := range fc.Str.Codes {
		out[i] = math.NaN()
		if k != Null {
			out[i] = byCode[k]
		}
	}
	return out, nil
}

func (c *Condition) cmpText() string {
	r := c.right.name
	if c.right.kind == opText {
		r = "'" + strings.ReplaceAll(r, "'", "''") + "'"
	}
	return c.left.name + " " + string(c.op) + " " + r
}

func (c *Condition) columnError(err error) error {
	return fmt.Errorf("explain: condition %s: %w (a bare word is a column: quote a text value, e.g. country == 'CAN')", c.cmpText(), err)
}

func textCompare(op Op) (func(a, b string) bool, error) {
	switch op {
	case OpEq:
		return func(a, b string) bool { return a == b }, nil
	case OpNe:
		return func(a, b string) bool { return a != b }, nil
	case OpLt:
		return func(a, b string) bool { return a < b }, nil
	case OpLe:
		return func(a, b string) bool { return a <= b }, nil
	case OpGt:
		return func(a, b string) bool { return a > b }, nil
	case OpGe:
		return func(a, b string) bool { return a >= b }, nil
	}
	return nil, fmt.Errorf("explain: operator %q", op)
}
