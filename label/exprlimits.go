package label

import (
	"fmt"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
)

// Bounds of a `when` expression. expr's own memory budget counts the
// arrays and ranges an evaluation makes, not its strings: a `when` LF once
// grew strings past 6 GB and ran without end. So every string an
// expression builds (with +, repeat, replace, join) is counted here, and
// the time limit and cancellation are checked as it builds them; the loops
// it can run are bounded by the memory budget (a range of n items costs n).
const (
	// MaxExprBytes caps the source of one expression.
	MaxExprBytes = 4 << 10
	// MaxExprNodes caps the syntax-tree nodes of one expression.
	MaxExprNodes = 1000
	// ExprMemoryBudget is expr's memory budget per evaluation (items of
	// the ranges, arrays and maps it makes).
	ExprMemoryBudget = 100_000
	// MaxExprStringBytes caps the bytes of string one evaluation builds.
	MaxExprStringBytes = 1 << 20
	// ExprTimeLimit caps one evaluation of one expression on one row.
	ExprTimeLimit = time.Second
)

// disabledBuiltins can make output far larger than their input in one call
// and have no bounded replacement here.
var disabledBuiltins = []string{"sprintf", "toJSON", "string", "fromJSON"}

// evalBudget is the account of one evaluation: the strings it built, its
// deadline and the run's cancellation. One per worker, reset per row.
//
// The clock starts at the evaluation's first check, not at reset: reading
// the clock on every row cost a seventh of a simple expression's time, and
// what an expression does before its first check is straight-line work
// (every loop iteration and every string it builds checks), bounded by
// MaxExprNodes and the size of the row.
type evalBudget struct {
	limit    time.Duration
	strBytes int
	deadline time.Time // zero until the first check
	done     <-chan struct{}
	ticks    int
}

func (b *evalBudget) reset(done <-chan struct{}, limit time.Duration) {
	b.strBytes, b.ticks, b.done, b.limit = 0, 0, done, limit
	b.deadline = time.Time{}
}

// spend accounts for n bytes of new string and, every few calls, checks
// the deadline and cancellation.
func (b *evalBudget) spend(n int) error {
	if b.strBytes += n; b.strBytes > MaxExprStringBytes {
		return fmt.Errorf("the expression built more than %d bytes of strings for one row (the limit)", MaxExprStringBytes)
	}
	if b.ticks++; b.ticks&63 == 0 {
		return b.check()
	}
	return nil
}

var errCancelled = fmt.Errorf("cancelled")

// check tests the deadline and cancellation.
func (b *evalBudget) check() error {
	now := time.Now()
	if b.deadline.IsZero() {
		b.deadline = now.Add(b.limit)
	}
	if now.After(b.deadline) {
		return fmt.Errorf("the expression ran past its time limit of %v for one row", b.limit)
	}
	select {
	case <-b.done:
		return errCancelled
	default:
	}
	return nil
}

// boundPatch turns every a + b into _add(a, b), so that string
// concatenation is counted whatever the operands' static types, and makes
// the body of every predicate (all, any, map, filter, reduce, ...) first
// call _tick(), which checks the deadline and cancellation on every
// iteration of a loop.
type boundPatch struct{}

func (boundPatch) Visit(n *ast.Node) {
	switch x := (*n).(type) {
	case *ast.BinaryNode:
		if x.Operator == "+" {
			ast.Patch(n, &ast.CallNode{Callee: &ast.IdentifierNode{Value: "_add"}, Arguments: []ast.Node{x.Left, x.Right}})
		}
	case *ast.PredicateNode:
		if c, ok := x.Node.(*ast.ConditionalNode); ok {
			if call, ok := c.Cond.(*ast.CallNode); ok {
				if id, ok := call.Callee.(*ast.IdentifierNode); ok && id.Value == "_tick" {
					return // already patched
				}
			}
		}
		body := x.Node
		x.Node = &ast.ConditionalNode{Cond: &ast.CallNode{Callee: &ast.IdentifierNode{Value: "_tick"}}, Exp1: body, Exp2: body}
		x.Node.SetLocation(body.Location())
	}
}

// boundedOptions are the expr options that bind an expression's string
// building to b.
func boundedOptions(b *evalBudget) []expr.Option {
	opts := []expr.Option{
		expr.MaxNodes(MaxExprNodes),
		expr.Patch(boundPatch{}),
		expr.Function("_tick", func(...any) (any, error) {
			if err := b.check(); err != nil {
				return nil, err
			}
			return true, nil
		}, new(func() bool)),
		expr.Function("words", func(p ...any) (any, error) {
			if err := b.check(); err != nil {
				return nil, err
			}
			return strings.Fields(p[0].(string)), nil
		}, new(func(string) []string)),
		expr.Function("_add", func(p ...any) (any, error) {
			x, y := p[0], p[1]
			if xs, ok := x.(string); ok {
				if ys, ok := y.(string); ok {
					if err := b.spend(len(xs) + len(ys)); err != nil {
						return nil, err
					}
					return xs + ys, nil
				}
			}
			if err := b.spend(0); err != nil {
				return nil, err
			}
			return addValues(x, y)
		}),
		expr.Function("repeat", func(p ...any) (any, error) {
			s, n := p[0].(string), p[1].(int)
			if n < 0 {
				return nil, fmt.Errorf("repeat: negative count %d", n)
			}
			if len(s) > 0 && n > MaxExprStringBytes/len(s) {
				return nil, b.spend(MaxExprStringBytes + 1)
			}
			if err := b.spend(len(s) * n); err != nil {
				return nil, err
			}
			return strings.Repeat(s, n), nil
		}, new(func(string, int) string)),
		expr.Function("replace", func(p ...any) (any, error) {
			s, old, nw := p[0].(string), p[1].(string), p[2].(string)
			n := len(s) + 1
			if old != "" {
				n = strings.Count(s, old)
			}
			if len(nw) > 0 && n > MaxExprStringBytes/len(nw) {
				return nil, b.spend(MaxExprStringBytes + 1)
			}
			if err := b.spend(len(s) + n*len(nw)); err != nil {
				return nil, err
			}
			return strings.ReplaceAll(s, old, nw), nil
		}, new(func(string, string, string) string)),
		expr.Function("join", func(p ...any) (any, error) {
			sep := ""
			if len(p) > 1 {
				sep = p[1].(string)
			}
			var parts []string
			switch v := p[0].(type) {
			case []string:
				parts = v
			case []any:
				parts = make([]string, len(v))
				for i, x := range v {
					s, ok := x.(string)
					if !ok {
						return nil, fmt.Errorf("join: item %d is %T, not a string", i, x)
					}
					parts[i] = s
				}
			default:
				return nil, fmt.Errorf("join: %T is not an array of strings", p[0])
			}
			n := len(sep) * max(len(parts)-1, 0)
			for _, s := range parts {
				if n += len(s); n > MaxExprStringBytes {
					return nil, b.spend(n)
				}
			}
			if err := b.spend(n); err != nil {
				return nil, err
			}
			return strings.Join(parts, sep), nil
		}, new(func([]any, string) string), new(func([]any) string), new(func([]string, string) string), new(func([]string) string)),
	}
	for _, name := range append([]string{"repeat", "replace", "join"}, disabledBuiltins...) {
		opts = append(opts, expr.DisableBuiltin(name))
	}
	return opts
}

// addValues is expr's + for what is not two strings: numbers (int + int
// stays int), and otherwise an error naming the types.
func addValues(x, y any) (any, error) {
	xi, xInt := x.(int)
	yi, yInt := y.(int)
	if xInt && yInt {
		return xi + yi, nil
	}
	xf, xok := toFloat(x)
	yf, yok := toFloat(y)
	if xok && yok {
		return xf + yf, nil
	}
	return nil, fmt.Errorf("invalid operation: %T + %T", x, y)
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, true
	case float32:
		return float64(n), true
	}
	return 0, false
}

// evaluator holds one worker's copies of a Set's expression programs,
// compiled with functions bound to its own budget.
type evaluator struct {
	budget evalBudget
	progs  []*vm.Program
	vm     vm.VM
}

// newEvaluator compiles s's expressions for one worker. They compiled in
// Compile, so an error here is a bug.
func (s *Set) newEvaluator() *evaluator {
	ev := &evaluator{progs: make([]*vm.Program, len(s.when))}
	ev.vm.MemoryBudget = ExprMemoryBudget
	env := exprEnv(s.schema)
	for i, e := range s.when {
		prog, err := expr.Compile(e.src, append([]expr.Option{expr.Env(env), expr.AsBool()}, boundedOptions(&ev.budget)...)...)
		if err != nil {
			panic(fmt.Sprintf("label: recompiling %q: %v", e.src, err))
		}
		ev.progs[i] = prog
	}
	return ev
}
