package video

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Query kinds.
const (
	Select    = "select"    // SELECT frame ... WHERE count(obj) OP k
	Aggregate = "aggregate" // SELECT AVG(count(obj)) ... ERROR WITHIN e AT CONFIDENCE c%
	Limit     = "limit"     // SELECT frame ... WHERE count(obj) OP k LIMIT n
)

// Query is a parsed FrameQL query.
type Query struct {
	Kind   string
	Object string // the detector's class name, e.g. person
	Source string // the table name, e.g. video
	// Predicate count(Object) Op Value (Select, Limit).
	Op    string
	Value int
	// Aggregate: the interval's half-width and confidence.
	ErrorWithin float64
	Confidence  float64
	// Accuracy is the target agreement with the reference (Select);
	// 0 means the caller's default.
	Accuracy float64
	N        int // Limit
}

// maxQueryLen bounds a query's text.
const maxQueryLen = 4096

type lexer struct {
	toks []string
	i    int
}

func lex(s string) ([]string, error) {
	var toks []string
	rs := []rune(s)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
		case strings.ContainsRune("(),*%;", r):
			toks = append(toks, string(r))
			i++
		case strings.ContainsRune("<>=!", r):
			j := i + 1
			if j < len(rs) && rs[j] == '=' {
				j++
			}
			toks = append(toks, string(rs[i:j]))
			i = j
		case unicode.IsLetter(r) || r == '_' || unicode.IsDigit(r) || r == '.':
			j := i
			for j < len(rs) && (unicode.IsLetter(rs[j]) || unicode.IsDigit(rs[j]) || rs[j] == '_' || rs[j] == '.') {
				j++
			}
			toks = append(toks, string(rs[i:j]))
			i = j
		default:
			return nil, fmt.Errorf("frameql: unexpected character %q at %d", r, i)
		}
	}
	return toks, nil
}

func (l *lexer) peek() string {
	if l.i < len(l.toks) {
		return l.toks[l.i]
	}
	return ""
}

func (l *lexer) next() string { t := l.peek(); l.i++; return t }

func (l *lexer) expect(words ...string) error {
	for _, w := range words {
		if t := l.next(); !strings.EqualFold(t, w) {
			if t == "" {
				return fmt.Errorf("frameql: expected %s, found the end of the query", w)
			}
			return fmt.Errorf("frameql: expected %s, found %q", w, t)
		}
	}
	return nil
}

func (l *lexer) ident(what string) (string, error) {
	t := l.next()
	if t == "" || !(unicode.IsLetter([]rune(t)[0]) || t[0] == '_') {
		return "", fmt.Errorf("frameql: expected %s, found %q", what, t)
	}
	return t, nil
}

func (l *lexer) number(what string) (float64, error) {
	t := l.next()
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v != v {
		return 0, fmt.Errorf("frameql: expected a number for %s, found %q", what, t)
	}
	return v, nil
}

// percent reads "95%", "95 %" or "0.95".
func (l *lexer) percent(what string) (float64, error) {
	v, err := l.number(what)
	if err != nil {
		return 0, err
	}
	if l.peek() == "%" {
		l.next()
		v /= 100
	} else if v > 1 {
		v /= 100
	}
	if v <= 0 || v >= 1 {
		return 0, fmt.Errorf("frameql: %s must be between 0%% and 100%%, got %v", what, v)
	}
	return v, nil
}

func (l *lexer) countOf() (string, error) {
	if err := l.expect("count", "("); err != nil {
		return "", err
	}
	obj, err := l.ident("an object class")
	if err != nil {
		return "", err
	}
	return obj, l.expect(")")
}

// ParseQuery parses a FrameQL query:
//
//	SELECT frame FROM video WHERE count(person) >= 6 [ACCURACY 95%] [LIMIT 10]
//	SELECT AVG(count(person)) FROM video ERROR WITHIN 0.1 [AT CONFIDENCE 95%]
//
// Comparison operators: >=, >, <=, <, =, !=. Keywords are case-insensitive.
func ParseQuery(s string) (*Query, error) {
	if len(s) > maxQueryLen {
		return nil, fmt.Errorf("frameql: query is over %d bytes", maxQueryLen)
	}
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	if n := len(toks); n > 0 && toks[n-1] == ";" {
		toks = toks[:n-1]
	}
	l := &lexer{toks: toks}
	q := &Query{}
	if err := l.expect("SELECT"); err != nil {
		return nil, err
	}
	switch t := l.peek(); {
	case strings.EqualFold(t, "frame"):
		l.next()
		q.Kind = Select
	case strings.EqualFold(t, "AVG"):
		l.next()
		if err := l.expect("("); err != nil {
			return nil, err
		}
		if q.Object, err = l.countOf(); err != nil {
			return nil, err
		}
		if err := l.expect(")"); err != nil {
			return nil, err
		}
		q.Kind = Aggregate
	default:
		return nil, fmt.Errorf("frameql: SELECT takes frame or AVG(count(OBJECT)), found %q", t)
	}
	if err := l.expect("FROM"); err != nil {
		return nil, err
	}
	if q.Source, err = l.ident("a table name"); err != nil {
		return nil, err
	}
	for l.peek() != "" {
		switch kw := strings.ToUpper(l.next()); kw {
		case "WHERE":
			if q.Kind == Aggregate {
				return nil, fmt.Errorf("frameql: AVG queries take no WHERE clause")
			}
			obj, err := l.countOf()
			if err != nil {
				return nil, err
			}
			q.Object = obj
			switch op := l.next(); op {
			case ">=", ">", "<=", "<", "=", "!=":
				q.Op = op
			default:
				return nil, fmt.Errorf("frameql: expected a comparison (>=, >, <=, <, =, !=), found %q", op)
			}
			v, err := l.number("the count")
			if err != nil {
				return nil, err
			}
			if v != float64(int(v)) || v < 0 || v > 1e6 {
				return nil, fmt.Errorf("frameql: the count must be a whole number from 0 to 1,000,000, got %v", v)
			}
			q.Value = int(v)
		case "ERROR":
			if err := l.expect("WITHIN"); err != nil {
				return nil, err
			}
			if q.ErrorWithin, err = l.number("ERROR WITHIN"); err != nil {
				return nil, err
			}
			if q.ErrorWithin <= 0 {
				return nil, fmt.Errorf("frameql: ERROR WITHIN must be positive")
			}
		case "AT":
			if err := l.expect("CONFIDENCE"); err != nil {
				return nil, err
			}
			if q.Confidence, err = l.percent("CONFIDENCE"); err != nil {
				return nil, err
			}
		case "ACCURACY":
			if q.Accuracy, err = l.percent("ACCURACY"); err != nil {
				return nil, err
			}
		case "LIMIT":
			v, err := l.number("LIMIT")
			if err != nil {
				return nil, err
			}
			if v != float64(int(v)) || v < 1 || v > 1e6 {
				return nil, fmt.Errorf("frameql: LIMIT must be a whole number from 1 to 1,000,000")
			}
			q.N = int(v)
			q.Kind = Limit
		default:
			return nil, fmt.Errorf("frameql: unexpected %q", kw)
		}
	}
	switch {
	case q.Kind == Aggregate && q.ErrorWithin == 0:
		return nil, fmt.Errorf("frameql: an AVG query needs ERROR WITHIN e")
	case q.Kind != Aggregate && q.Op == "":
		return nil, fmt.Errorf("frameql: a frame query needs WHERE count(OBJECT) OP N")
	case q.Kind != Aggregate && q.ErrorWithin != 0:
		return nil, fmt.Errorf("frameql: ERROR WITHIN applies to AVG queries")
	}
	if q.Kind == Aggregate && q.Confidence == 0 {
		q.Confidence = 0.95
	}
	return q, nil
}

// Holds reports whether a frame with count objects satisfies the predicate.
func (q *Query) Holds(count int) bool {
	switch q.Op {
	case ">=":
		return count >= q.Value
	case ">":
		return count > q.Value
	case "<=":
		return count <= q.Value
	case "<":
		return count < q.Value
	case "=":
		return count == q.Value
	}
	return count != q.Value
}
