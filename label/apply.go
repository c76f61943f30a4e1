package label

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/dawn-ml/dawn/data"
)

// Row is one row of a batch as a Go labeling function sees it.
type Row struct {
	rec arrow.RecordBatch
	i   int
	idx map[string]int
}

// Index is the row's position in the batch.
func (r Row) Index() int { return r.i }

// String returns the named column's value as text ("" when null or absent).
func (r Row) String(col string) string {
	c, ok := r.idx[col]
	if !ok {
		return ""
	}
	return data.FormatValue(r.rec.Column(c), r.i)
}

// Float returns the named column's value as a number, false when null,
// absent or not numeric.
func (r Row) Float(col string) (float64, bool) {
	c, ok := r.idx[col]
	if !ok || r.rec.Column(c).IsNull(r.i) {
		return 0, false
	}
	switch a := r.rec.Column(c).(type) {
	case *array.Float64:
		return a.Value(r.i), true
	case *array.Int64:
		return float64(a.Value(r.i)), true
	case *array.Int32:
		return float64(a.Value(r.i)), true
	case *array.Float32:
		return float64(a.Value(r.i)), true
	}
	return 0, false
}

// IsNull reports whether the named column is null (or absent) on this row.
func (r Row) IsNull(col string) bool {
	c, ok := r.idx[col]
	return !ok || r.rec.Column(c).IsNull(r.i)
}

// cellReader returns the function that gives a column's cell as the Go
// value expressions see (nil when null), with the array's type switched on
// once per batch rather than once per row.
func cellReader(col arrow.Array) func(i int) any {
	switch a := col.(type) {
	case *array.String:
		return func(i int) any {
			if a.IsNull(i) {
				return nil
			}
			return a.Value(i)
		}
	case *array.LargeString:
		return func(i int) any {
			if a.IsNull(i) {
				return nil
			}
			return a.Value(i)
		}
	case *array.Int64:
		return func(i int) any {
			if a.IsNull(i) {
				return nil
			}
			return int(a.Value(i))
		}
	case *array.Int32:
		return func(i int) any {
			if a.IsNull(i) {
				return nil
			}
			return int(a.Value(i))
		}
	case *array.Float64:
		return func(i int) any {
			if a.IsNull(i) {
				return nil
			}
			return a.Value(i)
		}
	case *array.Float32:
		return func(i int) any {
			if a.IsNull(i) {
				return nil
			}
			return float64(a.Value(i))
		}
	case *array.Boolean:
		return func(i int) any {
			if a.IsNull(i) {
				return nil
			}
			return a.Value(i)
		}
	}
	return func(i int) any {
		if col.IsNull(i) {
			return nil
		}
		return data.FormatValue(col, i)
	}
}

// ApplyOptions tunes Apply.
type ApplyOptions struct {
	// Workers is the number of goroutines labeling rows (GOMAXPROCS when 0).
	Workers int
	// Progress, when set, is called with the rows done so far.
	Progress func(rows int64)
}

// Apply runs every LF of s over every row r yields, in one pass, and returns
// the label matrix. Reading the next batch overlaps with labeling this one.
func Apply(ctx context.Context, s *Set, r *data.Reader, opt ApplyOptions) (*Matrix, error) {
	if !r.Schema().Equal(s.schema) {
		return nil, fmt.Errorf("label: %s: schema differs from the one the LFs were compiled for", r.Path())
	}
	x := &Matrix{LFs: s.Names, Classes: s.Classes, RowPtr: []int64{0}}
	type item struct {
		rec arrow.RecordBatch
		err error
	}
	ch := make(chan item, 2)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(ch)
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			select {
			case ch <- item{rec, err}:
			case <-ctx.Done():
				if rec != nil {
					rec.Release()
				}
				return
			}
			if err != nil {
				return
			}
		}
	}()
	var failed error
	for it := range ch {
		if failed != nil {
			if it.rec != nil {
				it.rec.Release()
			}
			continue
		}
		if it.err != nil {
			failed = it.err
			cancel()
			continue
		}
		err := s.ApplyBatch(ctx, it.rec, int64(x.N), x, opt.Workers)
		it.rec.Release()
		if err != nil {
			failed = fmt.Errorf("label: %s: %w", r.Path(), err)
			cancel()
			continue
		}
		if opt.Progress != nil {
			opt.Progress(int64(x.N))
		}
		if err := ctx.Err(); err != nil {
			failed = err
		}
	}
	if failed != nil {
		return nil, failed
	}
	return x, nil
}

// chunkVotes is one worker's output for a contiguous range of rows.
type chunkVotes struct {
	counts   []int32
	lf, vote []int32
	err      error
}

// ApplyBatch labels every row of rec and appends the rows to x. firstRow is
// the 0-based index of rec's first row in the whole input, for messages.
func (s *Set) ApplyBatch(ctx context.Context, rec arrow.RecordBatch, firstRow int64, x *Matrix, workers int) error {
	n := int(rec.NumRows())
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if n < 4096 {
		workers = 1
	}
	chunks := make([]chunkVotes, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := n*w/workers, n*(w+1)/workers
		wg.Add(1)
		go func(c *chunkVotes, lo, hi int) {
			defer wg.Done()
			c.err = s.evalRange(ctx, rec, lo, hi, firstRow, c)
		}(&chunks[w], lo, hi)
	}
	wg.Wait()
	for i := range chunks {
		if chunks[i].err != nil {
			return chunks[i].err
		}
	}
	for _, c := range chunks {
		base := x.RowPtr[len(x.RowPtr)-1]
		for _, cnt := range c.counts {
			base += int64(cnt)
			x.RowPtr = append(x.RowPtr, base)
		}
		x.LF = append(x.LF, c.lf...)
		x.Vote = append(x.Vote, c.vote...)
		x.N += len(c.counts)
	}
	return nil
}

// RowError is an LF that failed on one row (1-based in the input).
type RowError struct {
	Row int64
	LF  string
	Err error
}

func (e *RowError) Error() string { return fmt.Sprintf("row %d: LF %q: %v", e.Row, e.LF, e.Err) }

func (e *RowError) Unwrap() error { return e.Err }

// evalRange labels rows [lo, hi) of rec.
func (s *Set) evalRange(ctx context.Context, rec arrow.RecordBatch, lo, hi int, firstRow int64, out *chunkVotes) error {
	m := s.M()
	vote := make([]int32, m) // vote+1 per LF for the current row; 0 = abstain
	var touched []int32
	set := func(lf, v int32) {
		if vote[lf] == 0 {
			vote[lf] = v + 1
			touched = append(touched, lf)
		}
	}
	out.counts = make([]int32, 0, hi-lo)
	cols := rec.Columns()
	strCol := func(c int) func(i int) string {
		switch a := cols[c].(type) {
		case *array.String:
			return func(i int) string {
				if a.IsNull(i) {
					return ""
				}
				return a.Value(i)
			}
		}
		col := cols[c]
		return func(i int) string { return data.FormatValue(col, i) }
	}
	scanners := make([]*scanner, len(s.scans))
	scanText := make([]func(int) string, len(s.scans))
	for g, fs := range s.scans {
		scanners[g] = fs.newScanner(len(s.rx), set)
		scanText[g] = strCol(fs.field)
	}
	voted := func(lf int32) bool { return vote[lf] != 0 }
	lkText := make([]func(int) string, len(s.lookups))
	for j, l := range s.lookups {
		lkText[j] = strCol(l.field)
	}
	// The columns the when LFs read, each set once per row (not once per
	// LF), by index, through a reader chosen once per batch.
	var env map[string]any
	var whenNames []string
	var whenCells []func(int) any
	if len(s.when) > 0 {
		env = exprEnv(s.schema)
		seen := map[int]bool{}
		for _, e := range s.when {
			for _, c := range e.cols {
				if !seen[c] {
					seen[c] = true
					whenNames = append(whenNames, s.schema.Field(c).Name)
					whenCells = append(whenCells, cellReader(cols[c]))
				}
			}
		}
	}
	var idx map[string]int
	if len(s.funcs) > 0 {
		idx = make(map[string]int, len(cols))
		for c, f := range s.schema.Fields() {
			idx[f.Name] = c
		}
	}
	var ev *evaluator
	if len(s.when) > 0 {
		ev = s.evals.Get().(*evaluator)
		defer s.evals.Put(ev)
	}
	done := ctx.Done()
	limit := s.ExprTimeLimit
	if limit <= 0 {
		limit = ExprTimeLimit
	}
	for i := lo; i < hi; i++ {
		if (i-lo)&63 == 63 {
			select {
			case <-done:
				return ctx.Err()
			default:
			}
		}
		touched = touched[:0]
		for g, sc := range scanners {
			if text := scanText[g](i); text != "" {
				sc.run(text, s.rx, voted, set)
			}
		}
		for j, l := range s.lookups {
			v := lkText[j](i)
			if l.fold {
				v = strings.ToLower(v)
			}
			if _, ok := l.set[v]; ok {
				set(l.lf, l.vote)
			}
		}
		for j, name := range whenNames {
			env[name] = whenCells[j](i)
		}
		for k, e := range s.when {
			ev.budget.reset(done, limit)
			res, err := ev.vm.Run(ev.progs[k], env)
			if err != nil {
				if errors.Is(err, errCancelled) {
					return ctx.Err()
				}
				msg := firstLine(err.Error())
				if !strings.Contains(msg, "limit") && !strings.Contains(msg, "budget") {
					msg += " (guard against empty cells, e.g. `COL != nil and ...`)"
				}
				return &RowError{Row: firstRow + int64(i) + 1, LF: s.Names[e.lf], Err: errors.New(msg)}
			}
			if b, _ := res.(bool); b {
				set(e.lf, e.vote)
			}
		}
		for _, f := range s.funcs {
			v := f.fn(Row{rec: rec, i: i, idx: idx})
			if v == Abstain {
				continue
			}
			if v < 0 || v >= f.k {
				return &RowError{Row: firstRow + int64(i) + 1, LF: f.nam, Err: fmt.Errorf("returned %d, which is neither a class id in 0..%d nor Abstain", v, f.k-1)}
			}
			set(f.lf, int32(v))
		}
		sortInt32(touched)
		for _, lf := range touched {
			out.lf = append(out.lf, lf)
			out.vote = append(out.vote, vote[lf]-1)
			vote[lf] = 0
		}
		out.counts = append(out.counts, int32(len(touched)))
	}
	return nil
}

// sortInt32 is an insertion sort: a row has few votes.
func sortInt32(a []int32) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}
