package mbsql

import (
	"strconv"
	"strings"

	"github.com/dawn-ml/dawn/explain"
)

// Statement is one parsed statement: *Import or *Query.
type Statement interface{ stmtPos() Pos }

// Import is IMPORT FROM CSV FILE 'path' INTO table(col type, ...).
type Import struct {
	Pos   Pos
	Path  string
	Table string
	Cols  []ColDef
}

// ColDef is one declared column of an import.
type ColDef struct {
	Name string
	Type string
	Kind explain.Kind
}

// Query is a SELECT, possibly over a DIFF.
type Query struct {
	Pos     Pos
	Select  []SelectItem
	From    Relation
	Where   Expr
	OrderBy []SortItem
	Limit   int // -1: none
	Outfile string
	Delim   string
}

// SelectItem is `*` or an expression with an optional alias.
type SelectItem struct {
	Star  bool
	Expr  Expr
	Alias string
}

// Name is the output column name: the alias, a column's name, or the
// expression's text (MacroBase names percentile(usage) so).
func (s SelectItem) Name() string {
	if s.Alias != "" {
		return s.Alias
	}
	if id, ok := s.Expr.(*Ident); ok {
		return id.Name()
	}
	return format(s.Expr)
}

// SortItem is one ORDER BY key.
type SortItem struct {
	Expr       Expr
	Desc       bool
	NullsFirst *bool
}

// Relation is what FROM reads: *TableRef, *Subquery, *Join or *Diff.
type Relation interface{ relPos() Pos }

// TableRef names an imported table.
type TableRef struct {
	Pos   Pos
	Name  string
	Alias string
}

// Subquery is a parenthesised query used as a relation.
type Subquery struct {
	Pos   Pos
	Query *Query
	Alias string
}

// Join is Left [NATURAL] JOIN Right [ON expr | USING (cols)].
type Join struct {
	Pos         Pos
	Left, Right Relation
	Natural     bool
	On          Expr
	Using       []string
}

// Diff is MacroBase's DIFF operator.
type Diff struct {
	Pos Pos
	// Two relations (outliers, inliers), or Split with SplitWhere.
	First, Second Relation
	Split         Relation
	SplitWhere    Expr
	On            []string // nil with OnStar
	OnStar        bool
	MinSupport    *float64
	MinRatio      *float64
	Metric        string // global_ratio (default), risk_ratio, prevalence_ratio
	MaxCombo      int    // 0: default 3
}

func (s *Import) stmtPos() Pos  { return s.Pos }
func (q *Query) stmtPos() Pos   { return q.Pos }
func (r *TableRef) relPos() Pos { return r.Pos }
func (r *Subquery) relPos() Pos { return r.Pos }
func (r *Join) relPos() Pos     { return r.Pos }
func (r *Diff) relPos() Pos     { return r.Pos }

// Expr is an expression node.
type Expr interface{ exprPos() Pos }

// Ident is a column reference, possibly qualified (t.col).
type Ident struct {
	Pos   Pos
	Parts []string
}

// Name is the last part, the column name.
func (i *Ident) Name() string { return i.Parts[len(i.Parts)-1] }

// NumLit is a numeric literal.
type NumLit struct {
	Pos  Pos
	V    float64
	Text string
}

// StrLit is a string literal.
type StrLit struct {
	Pos Pos
	V   string
}

// NullLit is NULL.
type NullLit struct{ Pos Pos }

// BoolLit is TRUE or FALSE.
type BoolLit struct {
	Pos Pos
	V   bool
}

// Binary is L op R: AND OR = != < <= > >= + - * / %.
type Binary struct {
	Pos  Pos
	Op   string
	L, R Expr
}

// Unary is NOT x or -x.
type Unary struct {
	Pos Pos
	Op  string
	X   Expr
}

// IsNull is x IS [NOT] NULL.
type IsNull struct {
	Pos Pos
	X   Expr
	Not bool
}

// Call is a function call such as percentile(usage).
type Call struct {
	Pos  Pos
	Name string
	Args []Expr
}

func (e *Ident) exprPos() Pos   { return e.Pos }
func (e *NumLit) exprPos() Pos  { return e.Pos }
func (e *StrLit) exprPos() Pos  { return e.Pos }
func (e *NullLit) exprPos() Pos { return e.Pos }
func (e *BoolLit) exprPos() Pos { return e.Pos }
func (e *Binary) exprPos() Pos  { return e.Pos }
func (e *Unary) exprPos() Pos   { return e.Pos }
func (e *IsNull) exprPos() Pos  { return e.Pos }
func (e *Call) exprPos() Pos    { return e.Pos }

// format writes an expression back as text.
func format(e Expr) string {
	switch e := e.(type) {
	case *Ident:
		return strings.Join(e.Parts, ".")
	case *NumLit:
		return e.Text
	case *StrLit:
		return "'" + strings.ReplaceAll(e.V, "'", "''") + "'"
	case *NullLit:
		return "NULL"
	case *BoolLit:
		return strings.ToUpper(strconv.FormatBool(e.V))
	case *Binary:
		return "(" + format(e.L) + " " + e.Op + " " + format(e.R) + ")"
	case *Unary:
		if e.Op == "-" {
			return "-" + format(e.X)
		}
		return "(NOT " + format(e.X) + ")"
	case *IsNull:
		if e.Not {
			return "(" + format(e.X) + " IS NOT NULL)"
		}
		return "(" + format(e.X) + " IS NULL)"
	case *Call:
		args := make([]string, len(e.Args))
		for i, a := range e.Args {
			args[i] = format(a)
		}
		return e.Name + "(" + strings.Join(args, ", ") + ")"
	}
	return "?"
}
