package label

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	re2 "github.com/wasilibs/go-re2"
)

// Func is a labeling function written in Go. It returns a class id
// (0..k-1) or Abstain. It must be safe to call from several goroutines.
type Func struct {
	Name string
	Fn   func(r Row) int
}

// Set is a compiled, validated set of labeling functions bound to a data
// schema, ready to apply. Its LFs are the file's in order, then the Go
// functions in the order given.
type Set struct {
	Classes []string
	Names   []string
	schema  *arrow.Schema

	// scans hold, per field, one automaton for every keyword and regex
	// literal on that field; see scan.go.
	scans   []*fieldScan
	rx      []*regexLF
	when    []*exprLF
	lookups []*lookupLF
	funcs   []*funcLF
	// ExprTimeLimit caps one evaluation of a when LF on one row
	// (the package's ExprTimeLimit when 0).
	ExprTimeLimit time.Duration

	// evals pools per-worker evaluators of the when LFs (see exprlimits.go).
	evals sync.Pool
}

// M is the number of LFs.
func (s *Set) M() int { return len(s.Names) }

type regexLF struct {
	lf, vote int32
	field    int
	re       *re2.Regexp // RE2 via WebAssembly: far faster than regexp here
	syntax   string      // the pattern as compiled, for the prefilter
}

type exprLF struct {
	lf, vote int32
	src      string
	cols     []int // columns the expression reads
}

type lookupLF struct {
	lf, vote int32
	field    int
	fold     bool
	set      map[string]struct{}
}

type funcLF struct {
	lf  int32
	k   int
	fn  func(Row) int
	nam string
}

// Compile checks f against the data's schema and builds the matchers. Every
// problem (a field the data lacks, a bad regex, an expression that does not
// compile, a missing lookup file) is reported with the LF's name before any
// row is read.
func Compile(f *File, schema *arrow.Schema, funcs ...Func) (*Set, error) {
	s := &Set{Classes: append([]string(nil), f.Labels...), schema: schema}
	colNames := make([]string, schema.NumFields())
	for i, fl := range schema.Fields() {
		colNames[i] = fl.Name
	}
	colIndex := func(name string) int {
		for i, n := range colNames {
			if n == name {
				return i
			}
		}
		return -1
	}
	sc := newScanBuilder()
	env := exprEnv(schema)

	for i := range f.LFs {
		sp := &f.LFs[i]
		lf := int32(len(s.Names))
		vote := int32(f.classID(sp.Label))
		fail := func(err error) error { return &LFError{Line: sp.line, LF: sp.Name, Err: err} }
		s.Names = append(s.Names, sp.Name)
		kind, _ := sp.kind()
		field := -1
		if kind != "when" {
			name := sp.Field
			if name == "" {
				name = f.Text
			}
			field = colIndex(name)
			if field < 0 {
				return nil, fail(fmt.Errorf("field %q is not a column of the data (columns: %s)", name, strings.Join(colNames, ", ")))
			}
		}
		switch kind {
		case "keywords":
			cs := sp.CaseSensitive != nil && *sp.CaseSensitive
			for _, k := range sp.Keywords {
				sc.addKeyword(field, k, cs, sp.Match == "substring", lf, vote)
			}
		case "regex":
			pat := sp.Regex
			if sp.IgnoreCase {
				pat = "(?i)" + pat
			}
			// Go's parser gives the clearer message; both speak RE2 syntax.
			if _, err := regexp.Compile(pat); err != nil {
				return nil, fail(fmt.Errorf("bad regex %q: %v", sp.Regex, unwrapRegexErr(err)))
			}
			re, err := re2.Compile(pat)
			if err != nil {
				return nil, fail(fmt.Errorf("bad regex %q: %v", sp.Regex, err))
			}
			s.rx = append(s.rx, &regexLF{lf: lf, vote: vote, field: field, re: re, syntax: pat})
		case "when":
			cols, err := compileExpr(sp.When, env, colIndex)
			if err != nil {
				return nil, fail(err)
			}
			s.when = append(s.when, &exprLF{lf: lf, vote: vote, src: sp.When, cols: cols})
		case "lookup":
			fold := sp.CaseSensitive != nil && !*sp.CaseSensitive
			set, err := readLookup(filepath.Join(f.dir, sp.Lookup), fold)
			if err != nil {
				return nil, fail(err)
			}
			s.lookups = append(s.lookups, &lookupLF{lf: lf, vote: vote, field: field, fold: fold, set: set})
		}
	}
	for i, r := range s.rx {
		sc.addRegex(r.field, i, r.syntax)
	}
	s.scans = sc.build()
	s.evals.New = func() any { return s.newEvaluator() }
	for _, fn := range funcs {
		if fn.Name == "" || fn.Fn == nil {
			return nil, errors.New("label: a Go labeling function needs a Name and an Fn")
		}
		for _, n := range s.Names {
			if n == fn.Name {
				return nil, &LFError{LF: fn.Name, Err: errors.New("the name is used by another LF; names must be unique")}
			}
		}
		s.funcs = append(s.funcs, &funcLF{lf: int32(len(s.Names)), k: len(s.Classes), fn: fn.Fn, nam: fn.Name})
		s.Names = append(s.Names, fn.Name)
	}
	return s, nil
}

func isWordRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

func hasNonASCIILetter(s string) bool {
	for _, r := range s {
		if r >= utf8.RuneSelf && unicode.IsLetter(r) {
			return true
		}
	}
	return false
}

func unwrapRegexErr(err error) error {
	var se *syntax.Error
	if errors.As(err, &se) {
		return fmt.Errorf("%s in %q (RE2 syntax)", se.Code, se.Expr)
	}
	return err
}

func readLookup(path string, fold bool) (map[string]struct{}, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("lookup file: %w", err)
	}
	defer f.Close()
	set := map[string]struct{}{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		v := strings.TrimRight(sc.Text(), "\r")
		if v == "" {
			continue
		}
		if fold {
			v = strings.ToLower(v)
		}
		set[v] = struct{}{}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("lookup file %s: %w", path, err)
	}
	return set, nil
}

// exprEnv gives each column a zero value of the Go type expressions see, so
// expr can type-check names and operators at compile time.
func exprEnv(schema *arrow.Schema) map[string]any {
	env := map[string]any{}
	for _, f := range schema.Fields() {
		env[f.Name] = zeroFor(f.Type)
	}
	return env
}

func zeroFor(t arrow.DataType) any {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return 0
	case arrow.FLOAT32, arrow.FLOAT64:
		return 0.0
	case arrow.BOOL:
		return false
	}
	return ""
}

// compileExpr checks an expression (its size, its syntax and its types,
// with the bounded functions of exprlimits.go) and returns the columns it
// reads.
func compileExpr(src string, env map[string]any, colIndex func(string) int) ([]int, error) {
	if len(src) > MaxExprBytes {
		return nil, fmt.Errorf("expression of %d bytes is longer than the limit of %d", len(src), MaxExprBytes)
	}
	_, err := expr.Compile(src, append([]expr.Option{expr.Env(env), expr.AsBool()}, boundedOptions(&evalBudget{})...)...)
	if err != nil {
		return nil, fmt.Errorf("expression %q does not compile: %v", src, firstLine(err.Error()))
	}
	tree, err := parser.Parse(src)
	if err != nil {
		return nil, fmt.Errorf("expression %q does not parse: %v", src, firstLine(err.Error()))
	}
	seen := map[int]bool{}
	v := &identVisitor{fn: func(name string) {
		if i := colIndex(name); i >= 0 {
			seen[i] = true
		}
	}}
	ast.Walk(&tree.Node, v)
	cols := make([]int, 0, len(seen))
	for c := range seen {
		cols = append(cols, c)
	}
	sort.Ints(cols)
	return cols, nil
}

type identVisitor struct{ fn func(string) }

func (v *identVisitor) Visit(n *ast.Node) {
	if id, ok := (*n).(*ast.IdentifierNode); ok {
		v.fn(id.Value)
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
