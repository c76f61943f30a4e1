package mbsql

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dawn-ml/dawn/explain"
)

// Parse parses one or more statements separated by semicolons.
func Parse(src string) ([]Statement, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	var out []Statement
	for {
		for p.op(";") {
		}
		if p.peek().kind == tEOF {
			return out, nil
		}
		s, err := p.statement()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
		if !p.op(";") && p.peek().kind != tEOF {
			return nil, p.errf("expected ';' or end of input, found %s", p.peek())
		}
	}
}

type parser struct {
	toks []token
	i    int
}

// reserved words cannot be implicit aliases.
var reserved = map[string]bool{
	"SELECT": true, "FROM": true, "WHERE": true, "ORDER": true, "BY": true, "LIMIT": true,
	"INTO": true, "ON": true, "WITH": true, "COMPARE": true, "MAX": true, "JOIN": true,
	"NATURAL": true, "INNER": true, "USING": true, "AND": true, "OR": true, "NOT": true,
	"AS": true, "DIFF": true, "SPLIT": true, "IS": true, "NULL": true, "ASC": true,
	"DESC": true, "NULLS": true, "IMPORT": true, "UNION": true, "GROUP": true, "HAVING": true,
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) errf(format string, args ...any) error {
	return &Error{p.peek().pos, fmt.Sprintf(format, args...)}
}

// kw consumes the keyword if it is next.
func (p *parser) kw(word string) bool {
	t := p.peek()
	if t.kind == tIdent && strings.EqualFold(t.text, word) {
		p.i++
		return true
	}
	return false
}

func (p *parser) isKw(word string) bool {
	t := p.peek()
	return t.kind == tIdent && strings.EqualFold(t.text, word)
}

func (p *parser) expectKw(words ...string) error {
	for _, w := range words {
		if !p.kw(w) {
			return p.errf("expected %s, found %s", w, p.peek())
		}
	}
	return nil
}

func (p *parser) op(o string) bool {
	t := p.peek()
	if t.kind == tOp && t.text == o {
		p.i++
		return true
	}
	return false
}

func (p *parser) expectOp(o string) error {
	if !p.op(o) {
		return p.errf("expected '%s', found %s", o, p.peek())
	}
	return nil
}

func (p *parser) ident(what string) (string, error) {
	t := p.peek()
	if t.kind == tQuoted || t.kind == tIdent && !reserved[strings.ToUpper(t.text)] {
		p.i++
		return t.text, nil
	}
	return "", p.errf("expected %s, found %s", what, t)
}

func (p *parser) str(what string) (string, error) {
	t := p.peek()
	if t.kind != tString {
		return "", p.errf("expected %s as a quoted string, found %s", what, t)
	}
	p.i++
	return t.text, nil
}

func (p *parser) number(what string) (float64, error) {
	t := p.peek()
	neg := false
	if t.kind == tOp && t.text == "-" {
		neg = true
		p.i++
		t = p.peek()
	}
	if t.kind != tNumber {
		return 0, p.errf("expected %s, found %s", what, t)
	}
	p.i++
	v, err := strconv.ParseFloat(t.text, 64)
	if err != nil {
		return 0, &Error{t.pos, fmt.Sprintf("bad number %q", t.text)}
	}
	if neg {
		v = -v
	}
	return v, nil
}

func (p *parser) statement() (Statement, error) {
	switch {
	case p.isKw("IMPORT"):
		return p.importStmt()
	case p.isKw("SELECT"):
		return p.query()
	case p.peek().kind == tOp && p.peek().text == "(":
		return p.query()
	}
	return nil, p.errf("expected IMPORT or SELECT, found %s", p.peek())
}

func (p *parser) importStmt() (*Import, error) {
	s := &Import{Pos: p.next().pos}
	if err := p.expectKw("FROM", "CSV", "FILE"); err != nil {
		return nil, err
	}
	var err error
	if s.Path, err = p.str("file name"); err != nil {
		return nil, err
	}
	if err := p.expectKw("INTO"); err != nil {
		return nil, err
	}
	if s.Table, err = p.ident("table name"); err != nil {
		return nil, err
	}
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	for {
		var c ColDef
		if c.Name, err = p.ident("column name"); err != nil {
			return nil, err
		}
		tp := p.peek()
		if c.Type, err = p.ident("column type"); err != nil {
			return nil, err
		}
		switch strings.ToLower(c.Type) {
		case "double", "float", "real", "int", "integer", "bigint", "smallint", "decimal", "numeric", "number":
			c.Kind = explain.Number
		case "string", "varchar", "text", "char":
			c.Kind = explain.String
		default:
			return nil, &Error{tp.pos, fmt.Sprintf("unknown column type %q (want double or string)", c.Type)}
		}
		if p.op("(") { // varchar(20)
			if _, err := p.number("type length"); err != nil {
				return nil, err
			}
			if err := p.expectOp(")"); err != nil {
				return nil, err
			}
		}
		s.Cols = append(s.Cols, c)
		if p.op(")") {
			return s, nil
		}
		if err := p.expectOp(","); err != nil {
			return nil, err
		}
	}
}

// query parses SELECT ... or a parenthesised query.
func (p *parser) query() (*Query, error) {
	if p.op("(") {
		q, err := p.query()
		if err != nil {
			return nil, err
		}
		return q, p.expectOp(")")
	}
	q := &Query{Pos: p.peek().pos, Limit: -1}
	if err := p.expectKw("SELECT"); err != nil {
		return nil, err
	}
	if p.isKw("DISTINCT") {
		return nil, p.errf("SELECT DISTINCT is not supported")
	}
	p.kw("ALL")
	for {
		it, err := p.selectItem()
		if err != nil {
			return nil, err
		}
		q.Select = append(q.Select, it)
		if !p.op(",") {
			break
		}
	}
	if err := p.export(q); err != nil {
		return nil, err
	}
	if p.kw("FROM") {
		r, err := p.relation()
		if err != nil {
			return nil, err
		}
		if p.peek().kind == tOp && p.peek().text == "," {
			return nil, p.errf("comma joins are not supported; use JOIN")
		}
		q.From = r
		if d, ok := r.(*Diff); ok {
			if err := p.diffClauses(d); err != nil {
				return nil, err
			}
		}
	}
	if p.kw("WHERE") {
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		q.Where = e
	}
	if p.kw("ORDER") {
		if err := p.expectKw("BY"); err != nil {
			return nil, err
		}
		for {
			e, err := p.expr()
			if err != nil {
				return nil, err
			}
			s := SortItem{Expr: e}
			if p.kw("DESC") {
				s.Desc = true
			} else {
				p.kw("ASC")
			}
			if p.kw("NULLS") {
				first := p.kw("FIRST")
				if !first {
					if err := p.expectKw("LAST"); err != nil {
						return nil, err
					}
				}
				s.NullsFirst = &first
			}
			q.OrderBy = append(q.OrderBy, s)
			if !p.op(",") {
				break
			}
		}
	}
	if p.kw("LIMIT") {
		if !p.kw("ALL") {
			t := p.peek()
			v, err := p.number("LIMIT count")
			if err != nil {
				return nil, err
			}
			if v < 0 || v != float64(int(v)) {
				return nil, &Error{t.pos, fmt.Sprintf("LIMIT %v: want a non-negative integer", v)}
			}
			q.Limit = int(v)
		}
	}
	if q.Outfile == "" {
		if err := p.export(q); err != nil {
			return nil, err
		}
	}
	return q, nil
}

func (p *parser) export(q *Query) error {
	if !p.isKw("INTO") {
		return nil
	}
	p.next()
	if err := p.expectKw("OUTFILE"); err != nil {
		return err
	}
	f, err := p.str("output file name")
	if err != nil {
		return err
	}
	q.Outfile, q.Delim = f, ","
	if p.kw("FIELDS") || p.kw("COLUMNS") {
		if err := p.expectKw("TERMINATED", "BY"); err != nil {
			return err
		}
		t := p.peek()
		if q.Delim, err = p.str("field delimiter"); err != nil {
			return err
		}
		if len([]rune(q.Delim)) != 1 {
			return &Error{t.pos, fmt.Sprintf("field delimiter %q: want one character", q.Delim)}
		}
	}
	if p.kw("LINES") {
		if err := p.expectKw("TERMINATED", "BY"); err != nil {
			return err
		}
		if _, err := p.str("line delimiter"); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) selectItem() (SelectItem, error) {
	if p.op("*") {
		return SelectItem{Star: true}, nil
	}
	e, err := p.expr()
	if err != nil {
		return SelectItem{}, err
	}
	it := SelectItem{Expr: e}
	if p.kw("AS") {
		if it.Alias, err = p.ident("alias"); err != nil {
			return it, err
		}
	} else if t := p.peek(); t.kind == tQuoted || t.kind == tIdent && !reserved[strings.ToUpper(t.text)] {
		it.Alias = p.next().text
	}
	return it, nil
}

func (p *parser) relation() (Relation, error) {
	left, err := p.primaryRelation()
	if err != nil {
		return nil, err
	}
	for {
		pos := p.peek().pos
		natural := p.kw("NATURAL")
		p.kw("INNER")
		if !p.kw("JOIN") {
			if natural {
				return nil, p.errf("expected JOIN after NATURAL, found %s", p.peek())
			}
			return left, nil
		}
		right, err := p.primaryRelation()
		if err != nil {
			return nil, err
		}
		j := &Join{Pos: pos, Left: left, Right: right, Natural: natural}
		if !natural {
			switch {
			case p.kw("ON"):
				if j.On, err = p.expr(); err != nil {
					return nil, err
				}
			case p.kw("USING"):
				if err := p.expectOp("("); err != nil {
					return nil, err
				}
				for {
					c, err := p.ident("column name")
					if err != nil {
						return nil, err
					}
					j.Using = append(j.Using, c)
					if p.op(")") {
						break
					}
					if err := p.expectOp(","); err != nil {
						return nil, err
					}
				}
			default:
				return nil, p.errf("expected ON or USING after JOIN, found %s", p.peek())
			}
		}
		left = j
	}
}

func (p *parser) alias() string {
	p.kw("AS")
	if t := p.peek(); t.kind == tQuoted || t.kind == tIdent && !reserved[strings.ToUpper(t.text)] {
		return p.next().text
	}
	return ""
}

func (p *parser) primaryRelation() (Relation, error) {
	pos := p.peek().pos
	if p.kw("DIFF") {
		return p.diff(pos)
	}
	if p.op("(") {
		q, err := p.query()
		if err != nil {
			return nil, err
		}
		if err := p.expectOp(")"); err != nil {
			return nil, err
		}
		return &Subquery{Pos: pos, Query: q, Alias: p.alias()}, nil
	}
	name, err := p.ident("table name")
	if err != nil {
		return nil, err
	}
	return &TableRef{Pos: pos, Name: name, Alias: p.alias()}, nil
}

func (p *parser) diff(pos Pos) (*Diff, error) {
	d := &Diff{Pos: pos}
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	if p.kw("SPLIT") {
		var err error
		if p.peek().kind == tOp && p.peek().text == "(" {
			sp := p.peek().pos
			p.next()
			q, err := p.query()
			if err != nil {
				return nil, err
			}
			if err := p.expectOp(")"); err != nil {
				return nil, err
			}
			d.Split = &Subquery{Pos: sp, Query: q}
		} else if d.Split, err = p.relation(); err != nil {
			return nil, err
		}
		if err := p.expectKw("WHERE"); err != nil {
			return nil, err
		}
		if d.SplitWhere, err = p.expr(); err != nil {
			return nil, err
		}
		if err := p.expectOp(")"); err != nil {
			return nil, err
		}
	} else {
		sp := p.peek().pos
		q, err := p.query()
		if err != nil {
			return nil, err
		}
		if err := p.expectOp(")"); err != nil {
			return nil, err
		}
		d.First = &Subquery{Pos: sp, Query: q, Alias: p.alias()}
		if err := p.expectOp(","); err != nil {
			return nil, err
		}
		second, err := p.primaryRelation()
		if err != nil {
			return nil, err
		}
		d.Second = second
	}
	return d, nil
}

// diffClauses parses ON ... [WITH ...] [COMPARE BY ...] [MAX COMBO n].
func (p *parser) diffClauses(d *Diff) error {
	if err := p.expectKw("ON"); err != nil {
		return err
	}
	if p.op("*") {
		d.OnStar = true
	} else {
		for {
			c, err := p.ident("column name")
			if err != nil {
				return err
			}
			d.On = append(d.On, c)
			if !p.op(",") {
				break
			}
		}
	}
	if p.kw("WITH") {
		seen := 0
		for p.isKw("MIN") || p.isKw("MIN_SUPPORT") {
			t := p.next()
			var which string
			if strings.EqualFold(t.text, "MIN_SUPPORT") {
				which = "SUPPORT"
			} else if p.kw("SUPPORT") {
				which = "SUPPORT"
			} else if p.kw("RATIO") {
				which = "RATIO"
			} else {
				return p.errf("expected SUPPORT or RATIO after MIN, found %s", p.peek())
			}
			np := p.peek().pos
			v, err := p.number("MIN " + which + " value")
			if err != nil {
				return err
			}
			if which == "SUPPORT" {
				if d.MinSupport != nil {
					return &Error{t.pos, "MIN SUPPORT given twice"}
				}
				if v < 0 || v > 1 {
					return &Error{np, fmt.Sprintf("MIN SUPPORT %v: want a fraction in [0, 1]", v)}
				}
				d.MinSupport = &v
			} else {
				if d.MinRatio != nil {
					return &Error{t.pos, "MIN RATIO given twice"}
				}
				d.MinRatio = &v
			}
			seen++
		}
		if seen == 0 {
			return p.errf("expected MIN SUPPORT or MIN RATIO after WITH, found %s", p.peek())
		}
	}
	if p.kw("COMPARE") {
		if err := p.expectKw("BY"); err != nil {
			return err
		}
		t := p.peek()
		name, err := p.ident("ratio metric")
		if err != nil {
			return err
		}
		m, err := explain.ParseMetric(name)
		if err != nil || !strings.Contains(strings.ToLower(name), "_ratio") {
			return &Error{t.pos, fmt.Sprintf("unknown ratio metric %q (want global_ratio, risk_ratio or prevalence_ratio)", name)}
		}
		d.Metric = m.String()
		if err := p.expectOp("("); err != nil {
			return err
		}
		if err := p.expectKw("COUNT"); err != nil {
			return err
		}
		if err := p.expectOp("("); err != nil {
			return err
		}
		if err := p.expectOp("*"); err != nil {
			return err
		}
		if err := p.expectOp(")"); err != nil {
			return err
		}
		if err := p.expectOp(")"); err != nil {
			return err
		}
	}
	if p.kw("MAX") {
		if err := p.expectKw("COMBO"); err != nil {
			return err
		}
		t := p.peek()
		v, err := p.number("MAX COMBO value")
		if err != nil {
			return err
		}
		if v < 1 || v > 3 || v != float64(int(v)) {
			return &Error{t.pos, fmt.Sprintf("MAX COMBO %v: want 1, 2 or 3", v)}
		}
		d.MaxCombo = int(v)
	}
	return nil
}

// Expressions, lowest precedence first.

func (p *parser) expr() (Expr, error) { return p.or() }

func (p *parser) or() (Expr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for {
		pos := p.peek().pos
		if !p.kw("OR") {
			return l, nil
		}
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = &Binary{Pos: pos, Op: "OR", L: l, R: r}
	}
}

func (p *parser) and() (Expr, error) {
	l, err := p.not()
	if err != nil {
		return nil, err
	}
	for {
		pos := p.peek().pos
		if !p.kw("AND") {
			return l, nil
		}
		r, err := p.not()
		if err != nil {
			return nil, err
		}
		l = &Binary{Pos: pos, Op: "AND", L: l, R: r}
	}
}

func (p *parser) not() (Expr, error) {
	pos := p.peek().pos
	if p.kw("NOT") {
		x, err := p.not()
		if err != nil {
			return nil, err
		}
		return &Unary{Pos: pos, Op: "NOT", X: x}, nil
	}
	return p.comparison()
}

func (p *parser) comparison() (Expr, error) {
	l, err := p.additive()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	if t.kind == tOp {
		switch t.text {
		case "=", "==", "!=", "<>", "<", "<=", ">", ">=":
			p.next()
			r, err := p.additive()
			if err != nil {
				return nil, err
			}
			op := t.text
			switch op {
			case "==":
				op = "="
			case "<>":
				op = "!="
			}
			return &Binary{Pos: t.pos, Op: op, L: l, R: r}, nil
		}
	}
	if p.kw("IS") {
		not := p.kw("NOT")
		if err := p.expectKw("NULL"); err != nil {
			return nil, err
		}
		return &IsNull{Pos: t.pos, X: l, Not: not}, nil
	}
	return l, nil
}

func (p *parser) additive() (Expr, error) {
	l, err := p.multiplicative()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t.kind != tOp || (t.text != "+" && t.text != "-") {
			return l, nil
		}
		p.next()
		r, err := p.multiplicative()
		if err != nil {
			return nil, err
		}
		l = &Binary{Pos: t.pos, Op: t.text, L: l, R: r}
	}
}

func (p *parser) multiplicative() (Expr, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t.kind != tOp || (t.text != "*" && t.text != "/" && t.text != "%") {
			return l, nil
		}
		p.next()
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = &Binary{Pos: t.pos, Op: t.text, L: l, R: r}
	}
}

func (p *parser) unary() (Expr, error) {
	t := p.peek()
	if t.kind == tOp && t.text == "-" {
		p.next()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		if n, ok := x.(*NumLit); ok {
			return &NumLit{Pos: t.pos, V: -n.V, Text: "-" + n.Text}, nil
		}
		return &Unary{Pos: t.pos, Op: "-", X: x}, nil
	}
	if t.kind == tOp && t.text == "+" {
		p.next()
		return p.unary()
	}
	return p.primary()
}

func (p *parser) primary() (Expr, error) {
	t := p.peek()
	switch t.kind {
	case tNumber:
		p.next()
		v, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return nil, &Error{t.pos, fmt.Sprintf("bad number %q", t.text)}
		}
		return &NumLit{Pos: t.pos, V: v, Text: t.text}, nil
	case tString:
		p.next()
		return &StrLit{Pos: t.pos, V: t.text}, nil
	case tOp:
		if t.text == "(" {
			p.next()
			e, err := p.expr()
			if err != nil {
				return nil, err
			}
			return e, p.expectOp(")")
		}
	case tQuoted:
		return p.identExpr()
	case tIdent:
		switch strings.ToUpper(t.text) {
		case "NULL":
			p.next()
			return &NullLit{Pos: t.pos}, nil
		case "TRUE", "FALSE":
			p.next()
			return &BoolLit{Pos: t.pos, V: strings.EqualFold(t.text, "TRUE")}, nil
		}
		if reserved[strings.ToUpper(t.text)] {
			return nil, p.errf("expected an expression, found keyword %s", t)
		}
		if nt := p.toks[p.i+1]; nt.kind == tOp && nt.text == "(" {
			p.i += 2
			c := &Call{Pos: t.pos, Name: t.text}
			if !p.op(")") {
				for {
					a, err := p.expr()
					if err != nil {
						return nil, err
					}
					c.Args = append(c.Args, a)
					if p.op(")") {
						break
					}
					if err := p.expectOp(","); err != nil {
						return nil, err
					}
				}
			}
			return c, nil
		}
		return p.identExpr()
	}
	return nil, p.errf("expected an expression, found %s", t)
}

func (p *parser) identExpr() (Expr, error) {
	t := p.next()
	id := &Ident{Pos: t.pos, Parts: []string{t.text}}
	for p.op(".") {
		n := p.peek()
		if n.kind != tIdent && n.kind != tQuoted {
			return nil, p.errf("expected a column name after '.', found %s", n)
		}
		p.next()
		id.Parts = append(id.Parts, n.text)
	}
	return id, nil
}
