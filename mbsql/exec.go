package mbsql

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/dawn-ml/dawn/explain"
)

// Defaults of MacroBase SQL's DIFF when a clause is left out.
const (
	DefaultMinSupport = 0.2
	DefaultMinRatio   = 1.5
	DefaultMaxCombo   = 3
)

// Session holds the imported tables of a run of statements.
type Session struct {
	Tables  map[string]*explain.Frame
	Dir     string // base of relative file names; "" is the working directory
	Workers int    // explainer goroutines; 0: GOMAXPROCS
	// Load reads a data file into a frame with the declared kinds; nil
	// uses explain.ReadCSVFile.
	Load func(path string, kinds map[string]explain.Kind) (*explain.Frame, error)
}

// NewSession returns an empty session resolving files against dir.
func NewSession(dir string) *Session {
	return &Session{Tables: map[string]*explain.Frame{}, Dir: dir}
}

// Result is what a statement produced: a frame for a query (also written to
// Outfile when the query has INTO OUTFILE), or a message for an import.
type Result struct {
	Frame   *explain.Frame
	Outfile string
	Message string
}

// Exec parses and runs every statement of src, calling emit after each.
func (s *Session) Exec(src string, emit func(*Result) error) error {
	stmts, err := Parse(src)
	if err != nil {
		return err
	}
	for _, st := range stmts {
		r, err := s.Run(st)
		if err != nil {
			return err
		}
		if emit != nil {
			if err := emit(r); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Session) path(p string) string {
	if filepath.IsAbs(p) || s.Dir == "" {
		return p
	}
	return filepath.Join(s.Dir, p)
}

// Run executes one statement.
func (s *Session) Run(st Statement) (*Result, error) {
	switch st := st.(type) {
	case *Import:
		return s.importCSV(st)
	case *Query:
		f, err := s.query(st)
		if err != nil {
			return nil, err
		}
		r := &Result{Frame: f}
		if st.Outfile != "" {
			r.Outfile = s.path(st.Outfile)
			if err := WriteFile(r.Outfile, f, []rune(st.Delim)[0]); err != nil {
				return nil, err
			}
		}
		return r, nil
	}
	return nil, fmt.Errorf("mbsql: unknown statement %T", st)
}

func (s *Session) importCSV(st *Import) (*Result, error) {
	kinds := map[string]explain.Kind{}
	for _, c := range st.Cols {
		kinds[c.Name] = c.Kind
	}
	load := s.Load
	if load == nil {
		load = explain.ReadCSVFile
	}
	f, err := load(s.path(st.Path), kinds)
	if err != nil {
		return nil, &Error{st.Pos, fmt.Sprintf("IMPORT %s: %v", st.Path, err)}
	}
	out := &explain.Frame{Rows: f.Rows}
	for _, c := range st.Cols {
		fc, err := f.Col(c.Name)
		if err != nil {
			return nil, &Error{st.Pos, fmt.Sprintf("IMPORT %s: declared column %q not in the file (has %s)", st.Path, c.Name, strings.Join(colNames(f), ", "))}
		}
		nc := *fc
		nc.Name = c.Name
		if c.Kind == explain.String && nc.Str == nil {
			col, err := f.Strings(fc.Name)
			if err != nil {
				return nil, err
			}
			nc.Str, nc.Num = col, nil
		}
		if c.Kind == explain.Number && nc.Num == nil {
			return nil, &Error{st.Pos, fmt.Sprintf("IMPORT %s: column %q is declared %s but holds text", st.Path, c.Name, c.Type)}
		}
		out.Cols = append(out.Cols, nc)
	}
	s.Tables[strings.ToLower(st.Table)] = out
	return &Result{Message: fmt.Sprintf("imported %d rows into %s", f.Rows, st.Table)}, nil
}

func (s *Session) table(r *TableRef) (*explain.Frame, error) {
	t, ok := s.Tables[strings.ToLower(r.Name)]
	if !ok {
		var have []string
		for n := range s.Tables {
			have = append(have, n)
		}
		sort.Strings(have)
		return nil, &Error{r.Pos, fmt.Sprintf("unknown table %q (have %s)", r.Name, strings.Join(have, ", "))}
	}
	return t, nil
}

func (s *Session) relation(r Relation) (*explain.Frame, error) {
	switch r := r.(type) {
	case *TableRef:
		return s.table(r)
	case *Subquery:
		return s.query(r.Query)
	case *Join:
		return s.join(r)
	case *Diff:
		return s.diff(r)
	}
	return nil, fmt.Errorf("mbsql: unknown relation %T", r)
}

func relName(r Relation) string {
	switch r := r.(type) {
	case *TableRef:
		if r.Alias != "" {
			return r.Alias
		}
		return r.Name
	case *Subquery:
		return r.Alias
	}
	return ""
}

// joinKeys returns the join's column names on each side.
func joinKeys(j *Join, l, r *explain.Frame) ([]string, []string, error) {
	switch {
	case j.Natural:
		var ks []string
		for _, c := range l.Cols {
			if _, err := r.Col(c.Name); err == nil {
				ks = append(ks, c.Name)
			}
		}
		if len(ks) == 0 {
			return nil, nil, &Error{j.Pos, "NATURAL JOIN: the two sides share no column"}
		}
		return ks, ks, nil
	case j.Using != nil:
		return j.Using, j.Using, nil
	}
	var lk, rk []string
	var walk func(e Expr) error
	walk = func(e Expr) error {
		b, ok := e.(*Binary)
		if ok && b.Op == "AND" {
			if err := walk(b.L); err != nil {
				return err
			}
			return walk(b.R)
		}
		if ok && b.Op == "=" {
			a, aok := b.L.(*Ident)
			c, cok := b.R.(*Ident)
			if aok && cok {
				if _, err := lookup(l, a); err == nil {
					if _, err := lookup(r, c); err == nil {
						lk, rk = append(lk, a.Name()), append(rk, c.Name())
						return nil
					}
				}
				if _, err := lookup(l, c); err == nil {
					if _, err := lookup(r, a); err == nil {
						lk, rk = append(lk, c.Name()), append(rk, a.Name())
						return nil
					}
				}
			}
		}
		return &Error{e.exprPos(), "JOIN ... ON supports equalities of columns joined by AND"}
	}
	if err := walk(j.On); err != nil {
		return nil, nil, err
	}
	return lk, rk, nil
}

// keyOf renders row i's join key.
func keyOf(cols []*explain.FrameColumn, i int, buf *strings.Builder) (string, bool) {
	buf.Reset()
	for _, c := range cols {
		if isNull(c, i) {
			return "", false
		}
		if c.Num != nil {
			buf.WriteString(explain.FormatNumber(c.Num[i]))
		} else {
			buf.WriteString(c.Str.Dict[c.Str.Codes[i]])
		}
		buf.WriteByte(0)
	}
	return buf.String(), true
}

func keyCols(f *explain.Frame, names []string, pos Pos) ([]*explain.FrameColumn, error) {
	var out []*explain.FrameColumn
	for _, n := range names {
		c, err := lookup(f, &Ident{Pos: pos, Parts: []string{n}})
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// join is an inner hash join; the output has the left columns, then the
// right ones except the natural/USING keys, a clashing right name being
// prefixed with its table name.
func (s *Session) join(j *Join) (*explain.Frame, error) {
	l, err := s.relation(j.Left)
	if err != nil {
		return nil, err
	}
	r, err := s.relation(j.Right)
	if err != nil {
		return nil, err
	}
	lk, rk, err := joinKeys(j, l, r)
	if err != nil {
		return nil, err
	}
	lc, err := keyCols(l, lk, j.Pos)
	if err != nil {
		return nil, err
	}
	rc, err := keyCols(r, rk, j.Pos)
	if err != nil {
		return nil, err
	}
	index := map[string][]int{}
	var b strings.Builder
	for i := 0; i < r.Rows; i++ {
		if k, ok := keyOf(rc, i, &b); ok {
			index[k] = append(index[k], i)
		}
	}
	var li, ri []int
	for i := 0; i < l.Rows; i++ {
		k, ok := keyOf(lc, i, &b)
		if !ok {
			continue
		}
		for _, m := range index[k] {
			li, ri = append(li, i), append(ri, m)
		}
	}
	lt, rt := take(l, li), take(r, ri)
	out := &explain.Frame{Rows: len(li), Cols: lt.Cols}
	drop := map[string]bool{}
	if j.Natural || j.Using != nil {
		for _, k := range rk {
			drop[strings.ToLower(k)] = true
		}
	}
	for _, c := range rt.Cols {
		if drop[strings.ToLower(c.Name)] {
			continue
		}
		if _, err := l.Col(c.Name); err == nil {
			c.Name = relName(j.Right) + "." + c.Name
		}
		out.Cols = append(out.Cols, c)
	}
	return out, nil
}

// query runs FROM, then adds computed SELECT columns (so WHERE and ORDER BY
// may use their aliases, as MacroBase allows), WHERE, ORDER BY, LIMIT and
// the projection.
func (s *Session) query(q *Query) (*explain.Frame, error) {
	var f *explain.Frame
	if q.From == nil {
		f = &explain.Frame{Rows: 1}
	} else {
		var err error
		if f, err = s.relation(q.From); err != nil {
			return nil, err
		}
	}
	base := len(f.Cols)
	ext := &explain.Frame{Rows: f.Rows, Cols: slices.Clone(f.Cols)}
	proj := []int{}
	for _, it := range q.Select {
		if it.Star {
			for i := 0; i < base; i++ {
				proj = append(proj, i)
			}
			continue
		}
		if id, ok := it.Expr.(*Ident); ok {
			c, err := lookup(f, id)
			if err != nil {
				return nil, err
			}
			nc := *c
			nc.Name = it.Name()
			if it.Alias == "" {
				nc.Name = c.Name
			}
			ext.Cols = append(ext.Cols, nc)
			proj = append(proj, len(ext.Cols)-1)
			continue
		}
		v, err := eval(f, it.Expr)
		if err != nil {
			return nil, err
		}
		nc := explain.FrameColumn{Name: it.Name()}
		switch {
		case v.kind == vNum && !v.konst:
			nc.Num = v.num
		case v.kind == vNum:
			nc.Num = make([]float64, f.Rows)
			for i := range nc.Num {
				nc.Num[i] = v.cnum
			}
		case v.kind == vStr && !v.konst:
			nc.Str = v.str
		case v.kind == vStr:
			nc.Str = explain.EncodeStrings(nc.Name, slices.Repeat([]string{v.cstr}, f.Rows))
		case v.kind == vBool:
			nc.Num = make([]float64, f.Rows)
			for i := range nc.Num {
				if v.boolAt(i) {
					nc.Num[i] = 1
				}
			}
		default:
			nc.Num = slices.Repeat([]float64{math.NaN()}, f.Rows)
		}
		ext.Cols = append(ext.Cols, nc)
		proj = append(proj, len(ext.Cols)-1)
	}
	// Computed columns are looked up before the input's, so an alias wins.
	lookupFrame := &explain.Frame{Rows: ext.Rows, Cols: append(slices.Clone(ext.Cols[base:]), ext.Cols[:base]...)}
	if q.Where != nil {
		v, err := eval(lookupFrame, q.Where)
		if err != nil {
			return nil, err
		}
		if v.kind != vBool {
			return nil, &Error{q.Where.exprPos(), "WHERE needs a boolean expression"}
		}
		mask := make([]bool, ext.Rows)
		for i := range mask {
			mask[i] = v.boolAt(i)
		}
		ext = filter(ext, mask)
		lookupFrame = &explain.Frame{Rows: ext.Rows, Cols: append(slices.Clone(ext.Cols[base:]), ext.Cols[:base]...)}
	}
	if len(q.OrderBy) > 0 {
		rows, err := orderRows(lookupFrame, q.OrderBy)
		if err != nil {
			return nil, err
		}
		ext = take(ext, rows)
	}
	if q.Limit >= 0 && q.Limit < ext.Rows {
		rows := make([]int, q.Limit)
		for i := range rows {
			rows[i] = i
		}
		ext = take(ext, rows)
	}
	out := &explain.Frame{Rows: ext.Rows}
	for _, i := range proj {
		out.Cols = append(out.Cols, ext.Cols[i])
	}
	return out, nil
}

// orderRows sorts stably; nulls come last ascending and first descending
// unless NULLS FIRST/LAST says otherwise.
func orderRows(f *explain.Frame, items []SortItem) ([]int, error) {
	vs := make([]*vec, len(items))
	for i, it := range items {
		v, err := eval(f, it.Expr)
		if err != nil {
			return nil, err
		}
		if v.kind == vBool {
			return nil, &Error{it.Expr.exprPos(), "cannot ORDER BY a boolean"}
		}
		vs[i] = v
	}
	rows := make([]int, f.Rows)
	for i := range rows {
		rows[i] = i
	}
	sort.SliceStable(rows, func(a, b int) bool {
		ra, rb := rows[a], rows[b]
		for i, it := range items {
			v := vs[i]
			if v.konst {
				continue
			}
			var an, bn bool
			c := 0
			if v.kind == vNum {
				x, y := v.num[ra], v.num[rb]
				an, bn = math.IsNaN(x), math.IsNaN(y)
				if x < y {
					c = -1
				} else if x > y {
					c = 1
				}
			} else {
				x, xok := v.str.Value(ra)
				y, yok := v.str.Value(rb)
				an, bn = !xok, !yok
				c = strings.Compare(x, y)
			}
			nullsFirst := it.Desc
			if it.NullsFirst != nil {
				nullsFirst = *it.NullsFirst
			}
			if an || bn {
				if an && bn {
					continue
				}
				return an == nullsFirst
			}
			if c == 0 {
				continue
			}
			if it.Desc {
				return c > 0
			}
			return c < 0
		}
		return false
	})
	return rows, nil
}

// diff runs the DIFF operator and returns its explanation table.
func (s *Session) diff(d *Diff) (*explain.Frame, error) {
	opt := explain.Options{MinSupport: DefaultMinSupport, MinRatio: DefaultMinRatio, Metric: explain.GlobalRatio, MaxOrder: DefaultMaxCombo, Workers: s.Workers}
	if d.MinSupport != nil {
		opt.MinSupport = *d.MinSupport
	}
	if d.MinRatio != nil {
		opt.MinRatio = *d.MinRatio
	}
	if d.Metric != "" {
		m, err := explain.ParseMetric(d.Metric)
		if err != nil {
			return nil, &Error{d.Pos, err.Error()}
		}
		opt.Metric = m
	}
	if d.MaxCombo != 0 {
		opt.MaxOrder = d.MaxCombo
	}
	if fr, ok, err := s.diffJoin(d, opt); ok || err != nil {
		return fr, err
	}
	var f *explain.Frame
	var flags []bool
	if d.Split != nil {
		var err error
		if f, err = s.relation(d.Split); err != nil {
			return nil, err
		}
		v, err := eval(f, d.SplitWhere)
		if err != nil {
			return nil, err
		}
		if v.kind != vBool {
			return nil, &Error{d.SplitWhere.exprPos(), "SPLIT ... WHERE needs a boolean expression"}
		}
		flags = make([]bool, f.Rows)
		for i := range flags {
			flags[i] = v.boolAt(i)
		}
	} else {
		o, err := s.relation(d.First)
		if err != nil {
			return nil, err
		}
		in, err := s.relation(d.Second)
		if err != nil {
			return nil, err
		}
		if f, err = concat(o, in); err != nil {
			return nil, &Error{d.Pos, "DIFF: the outlier and inlier queries must return the same columns: " + err.Error()}
		}
		flags = make([]bool, f.Rows)
		for i := 0; i < o.Rows; i++ {
			flags[i] = true
		}
	}
	on := d.On
	if d.OnStar {
		on = explanationColumns(f)
	}
	var attrs []*explain.Column
	for _, name := range on {
		c, err := lookup(f, &Ident{Pos: d.Pos, Parts: []string{name}})
		if err != nil {
			return nil, &Error{d.Pos, fmt.Sprintf("DIFF ON %s: %s", name, err.(*Error).Msg)}
		}
		col, err := f.Strings(c.Name)
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, &explain.Column{Name: name, Codes: col.Codes, Dict: col.Dict})
	}
	if len(attrs) == 0 {
		return nil, &Error{d.Pos, "DIFF: no attribute columns to explain (ON * found no low-cardinality string column)"}
	}
	r, err := explain.APriori(attrs, explain.Labels{Outlier: flags}, opt)
	if err != nil {
		return nil, &Error{d.Pos, err.Error()}
	}
	return ResultFrame(r), nil
}

// ResultFrame turns explanations into MacroBase's DIFF output table: the
// attribute columns (null when not part of the combination), support, the
// ratio named for its metric, outlier_count and total_count.
func ResultFrame(r *explain.Result) *explain.Frame {
	n := len(r.Explanations)
	f := &explain.Frame{Rows: n}
	for i, a := range r.Attributes {
		e := explain.NewEncoder(a)
		for _, x := range r.Explanations {
			e.Append(x.Values[i])
		}
		f.Cols = append(f.Cols, explain.FrameColumn{Name: a, Str: e.Column()})
	}
	num := func(name string, get func(x explain.Explanation) float64) {
		v := make([]float64, n)
		for i, x := range r.Explanations {
			v[i] = get(x)
		}
		f.Cols = append(f.Cols, explain.FrameColumn{Name: name, Num: v})
	}
	num("support", func(x explain.Explanation) float64 { return x.Support })
	num(r.Metric.String(), func(x explain.Explanation) float64 { return x.Ratio })
	num("outlier_count", func(x explain.Explanation) float64 { return x.OutlierCount })
	num("total_count", func(x explain.Explanation) float64 { return x.TotalCount })
	return f
}

// explanationColumns is ON *: the string columns whose distinct count, in
// the rows or a sample of 1,000 of them, is under a quarter of the sample.
func explanationColumns(f *explain.Frame) []string {
	var out []string
	sample := f.Rows > 1000
	n := f.Rows
	if sample {
		n = 1000
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, c := range f.Cols {
		if c.Str == nil {
			continue
		}
		seen := map[int32]bool{}
		for i := 0; i < n; i++ {
			r := i
			if sample {
				r = rnd.IntN(f.Rows)
			}
			seen[c.Str.Codes[r]] = true
		}
		if len(seen) < n/4 {
			out = append(out, c.Name)
		}
	}
	return out
}

// diffJoin pushes a DIFF of (R NATURAL JOIN T) against (S NATURAL JOIN T)
// below the join: R and S are counted per join key, and each row of T is
// explained once, weighted by its key's outlier and inlier counts. The
// result equals the DIFF of the materialised joins. ok is false when the
// query does not have that shape (then the plain DIFF runs).
func (s *Session) diffJoin(d *Diff, opt explain.Options) (*explain.Frame, bool, error) {
	if d.Split != nil || d.OnStar {
		return nil, false, nil
	}
	jo, jok := naturalJoinOf(d.First)
	ji, iok := naturalJoinOf(d.Second)
	if !jok || !iok {
		return nil, false, nil
	}
	dim, ok1 := jo.Right.(*TableRef)
	dim2, ok2 := ji.Right.(*TableRef)
	if !ok1 || !ok2 || !strings.EqualFold(dim.Name, dim2.Name) {
		return nil, false, nil
	}
	R, err := s.relation(jo.Left)
	if err != nil {
		return nil, true, err
	}
	S, err := s.relation(ji.Left)
	if err != nil {
		return nil, true, err
	}
	T, err := s.table(dim)
	if err != nil {
		return nil, true, err
	}
	keys, _, err := joinKeys(&Join{Pos: jo.Pos, Natural: true}, R, T)
	if err != nil {
		return nil, true, err
	}
	if _, _, err := joinKeys(&Join{Pos: ji.Pos, Natural: true}, S, T); err != nil {
		return nil, true, err
	}
	// Every ON column must come from T alone for the pushdown.
	for _, on := range d.On {
		if _, err := T.Col(on); err != nil {
			return nil, false, nil
		}
		isKey := false
		for _, k := range keys {
			isKey = isKey || strings.EqualFold(k, on)
		}
		if _, err := R.Col(on); err == nil && !isKey {
			return nil, false, nil
		}
	}
	count := func(f *explain.Frame) (map[string]float64, error) {
		cols, err := keyCols(f, keys, d.Pos)
		if err != nil {
			return nil, err
		}
		m := map[string]float64{}
		var b strings.Builder
		for i := 0; i < f.Rows; i++ {
			if k, ok := keyOf(cols, i, &b); ok {
				m[k]++
			}
		}
		return m, nil
	}
	oc, err := count(R)
	if err != nil {
		return nil, true, err
	}
	ic, err := count(S)
	if err != nil {
		return nil, true, err
	}
	tk, err := keyCols(T, keys, d.Pos)
	if err != nil {
		return nil, true, err
	}
	var rows []int
	var cnt, out []float64
	var b strings.Builder
	for i := 0; i < T.Rows; i++ {
		k, ok := keyOf(tk, i, &b)
		if !ok {
			continue
		}
		o, in := oc[k], ic[k]
		if o+in == 0 {
			continue
		}
		rows = append(rows, i)
		cnt, out = append(cnt, o+in), append(out, o)
	}
	dimRows := take(T, rows)
	var attrs []*explain.Column
	for _, name := range d.On {
		col, err := dimRows.Strings(name)
		if err != nil {
			return nil, true, err
		}
		attrs = append(attrs, &explain.Column{Name: name, Codes: col.Codes, Dict: col.Dict})
	}
	r, err := explain.APriori(attrs, explain.Labels{Count: cnt, OutlierCount: out}, opt)
	if err != nil {
		return nil, true, &Error{d.Pos, err.Error()}
	}
	return ResultFrame(r), true, nil
}

func naturalJoinOf(r Relation) (*Join, bool) {
	sq, ok := r.(*Subquery)
	if !ok {
		return nil, false
	}
	q := sq.Query
	if q.Where != nil || len(q.OrderBy) > 0 || q.Limit >= 0 || len(q.Select) != 1 || !q.Select[0].Star {
		return nil, false
	}
	j, ok := q.From.(*Join)
	if !ok || !j.Natural {
		return nil, false
	}
	return j, true
}

// WriteCSVFile writes f as CSV (numbers as Java prints doubles, as
// MacroBase's output files do) through a temporary file renamed into place.
func WriteCSVFile(path string, f *explain.Frame, delim rune) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("mbsql: write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := WriteCSV(tmp, f, delim); err != nil {
		tmp.Close()
		return fmt.Errorf("mbsql: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("mbsql: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("mbsql: write %s: %w", path, err)
	}
	return nil
}
