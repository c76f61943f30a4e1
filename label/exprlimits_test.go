package label

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// textBatch is a one-column (CONTENT) batch of n copies of text.
func textBatch(t *testing.T, text string, n int) arrow.RecordBatch {
	t.Helper()
	sch := arrow.NewSchema([]arrow.Field{{Name: "CONTENT", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	b := array.NewStringBuilder(memory.DefaultAllocator)
	defer b.Release()
	for range n {
		b.Append(text)
	}
	col := b.NewArray()
	defer col.Release()
	rec := array.NewRecordBatch(sch, []arrow.Array{col}, int64(n))
	t.Cleanup(rec.Release)
	return rec
}

func whenSet(t *testing.T, sch *arrow.Schema, when string) (*Set, error) {
	t.Helper()
	f := &File{Labels: []string{"ham", "spam"}, Text: "CONTENT", LFs: []Spec{{Name: "lf_x", Label: "spam", When: when}}}
	return Compile(f, sch)
}

// TestExprCompileBounds: too long, too many nodes and unbounded builtins
// are refused at compile time, naming the LF.
func TestExprCompileBounds(t *testing.T) {
	sch := textBatch(t, "", 1).Schema()
	terms := make([]string, 600)
	for i := range terms {
		terms[i] = "1"
	}
	for _, tc := range []struct{ when, want string }{
		{"CONTENT == '" + strings.Repeat("x", MaxExprBytes) + "'", "longer than the limit"},
		{strings.Join(terms, "+") + " > 0", "compile"},
		{`sprintf("%0999999999d", 1) != ""`, "compile"},
		{`len(toJSON(1..10)) > 0`, "compile"},
	} {
		_, err := whenSet(t, sch, tc.when)
		var le *LFError
		if !errors.As(err, &le) || le.LF != "lf_x" || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.60s: %v, want an LFError on lf_x mentioning %q", tc.when, err, tc.want)
		}
	}
	// What LFs write keeps working, + on numbers and strings included.
	for _, when := range []string{`len(words(CONTENT)) + 1 < 5`, `CONTENT + "x" == "hix"`, `1.5 + 1 > 2`,
		`repeat(CONTENT, 2) == "hihi"`, `join(words(CONTENT), "-") == "hi"`, `replace(CONTENT, "h", "H") == "Hi"`,
		`all(words(CONTENT), {len(#) > 1})`, `reduce(1..3, #acc + CONTENT, "") == "hihihi"`} {
		s, err := whenSet(t, sch, when)
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		x := &Matrix{LFs: s.Names, Classes: s.Classes, RowPtr: []int64{0}}
		if err := s.ApplyBatch(context.Background(), textBatch(t, "hi", 1), 0, x, 1); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if got := x.Dense(); got[0][0] != 1 {
			t.Errorf("%s: vote %d, want 1 (spam)", when, got[0][0])
		}
	}
}

// TestExprRunBounds is the repro of a when LF that grew strings past 6 GB
// and ran without end: string growth, huge repeats and long loops end with
// an error naming the LF and the row.
func TestExprRunBounds(t *testing.T) {
	for _, tc := range []struct{ when, want string }{
		{`len(reduce(1..40, #acc + #acc, CONTENT)) > 0`, "bytes of strings"},
		{`len(repeat(CONTENT, 1000000000)) > 0`, "bytes of strings"},
		{`len(join(map(1..40000, CONTENT), "")) > 0`, "bytes of strings"},
		{`len(replace(CONTENT, "", repeat("y", 1000))) > 0`, "bytes of strings"},
		{`let a = (len(CONTENT) > 0 ? CONTENT : 1); let b = a + a; let c = b + b; let d = c + c; len(d + d + d + d + d + d + d + d) > 0`, "bytes of strings"},
		{`len(map(1..1000000, #)) > 0`, "memory budget"},
	} {
		rec := textBatch(t, strings.Repeat("ab", 5000), 3)
		s, err := whenSet(t, rec.Schema(), tc.when)
		if err != nil {
			t.Fatalf("%s: %v", tc.when, err)
		}
		x := &Matrix{LFs: s.Names, Classes: s.Classes, RowPtr: []int64{0}}
		err = s.ApplyBatch(context.Background(), rec, 10, x, 1)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `row 11: LF "lf_x"`) {
			t.Errorf("%.50s: %v, want an error on row 11, LF lf_x, about %q", tc.when, err, tc.want)
		}
	}
}

// slowWhen loops 99,999 times per row over a 10 KB text, well within the
// memory budget: milliseconds per row.
const slowWhen = `all(1..99999, {CONTENT contains "zz" or # > 0})`

func TestExprTimeLimit(t *testing.T) {
	rec := textBatch(t, strings.Repeat("ab", 5000), 2)
	s, err := whenSet(t, rec.Schema(), slowWhen)
	if err != nil {
		t.Fatal(err)
	}
	s.ExprTimeLimit = time.Millisecond
	x := &Matrix{LFs: s.Names, Classes: s.Classes, RowPtr: []int64{0}}
	err = s.ApplyBatch(context.Background(), rec, 0, x, 1)
	if err == nil || !strings.Contains(err.Error(), "time limit of 1ms") || !strings.Contains(err.Error(), `LF "lf_x"`) {
		t.Fatalf("%v, want the time-limit error", err)
	}
}

// TestExprCancelWithinRow: cancelling stops an evaluation in the middle of
// a row (it was checked only between 64k-row batches, and an evaluation
// was never interrupted). Each row here scans a 10 KB text 99,999 times
// (a gigabyte), so stopping only between rows would take far longer.
func TestExprCancelWithinRow(t *testing.T) {
	rec := textBatch(t, strings.Repeat("ab", 5000), 200)
	s, err := whenSet(t, rec.Schema(), slowWhen)
	if err != nil {
		t.Fatal(err)
	}
	s.ExprTimeLimit = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	x := &Matrix{LFs: s.Names, Classes: s.Classes, RowPtr: []int64{0}}
	errc := make(chan error, 1)
	go func() { errc <- s.ApplyBatch(ctx, rec, 0, x, 1) }()
	time.Sleep(100 * time.Millisecond)
	cancel()
	start := time.Now()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("%v, want context.Canceled", err)
		}
		// Checked only between rows it would take 64 rows, seconds.
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("stopped %v after cancel", d)
		}
	case <-time.After(30 * time.Second): // the batch takes minutes
		t.Fatal("ApplyBatch did not stop after cancel")
	}
}
